"""A lesson's setup: connect, catch up on what earlier lessons made, and record checkpoints."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit import checks, iam
from labkit.keys import AccessKey, validate_key_id, validate_secret
from labkit.sandbox.state import write_private_text
from labkit.session import Lab, connect

LESSONS = (
    "00_start_here",
    "01_root_and_iam_users",
    "02_create_an_iam_user",
    "03_create_access_keys",
    "04_configure_the_cli",
    "05_rotate_access_keys",
    "06_monitor_key_age_and_usage",
    "07_prefer_iam_roles",
    "08_keep_secrets_out_of_code",
    "09_clean_up",
)
PROFILE = iam.USER_NAME  # the named profile lesson 04 configures, as `aws configure --profile`
CSV_HEADER = ["Access key ID", "Secret access key"]


def download_path(lab: Lab, user_name: str = iam.USER_NAME) -> Path:
    """Where the lab keeps a key's .csv, like the console's "Download .csv file" button."""
    return lab.settings.home / "downloads" / f"{user_name}_accessKeys.csv"


def save_key_csv(lab: Lab, key: AccessKey) -> Path:
    """Save a new key pair as the console's .csv download (readable by you only)."""
    path = download_path(lab, key.user_name or iam.USER_NAME)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [CSV_HEADER, [key.access_key_id, key.reveal_secret()]])
    write_private_text(path, buf.getvalue())
    return path


def load_key_csv(path: Path, user_name: str | None = iam.USER_NAME) -> AccessKey | None:
    """Read a key pair back from a console-style .csv download (None if there is none)."""
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
        key_id, secret = validate_key_id(rows[1][0]), validate_secret(rows[1][1])
    except (OSError, IndexError, ValueError):
        return None
    return AccessKey(key_id, secret, user_name)


def _works(lab: Lab, key: AccessKey | None) -> bool:
    if key is None:
        return False
    try:
        lab.whoami(lab.session_for(key))
    except Exception:  # noqa: BLE001 - any refusal means: not usable
        return False
    return True


@dataclass(repr=False)
class Lesson:
    """One lesson's connection to the lab, with what it had to catch up on."""

    name: str
    lab: Lab
    caught_up: list[str] = field(default_factory=list)
    key: AccessKey | None = None

    @property
    def iam(self) -> Any:
        return self.lab.client("iam")

    def check(self, name: str, ok: bool, passed: str, failed: str, todo: str = "") -> checks.Verdict:
        """A checkpoint of this lesson."""
        return checks.check(self.name, name, ok, passed, failed, todo)

    def expect_error(self, name: str, code: str, call: Callable[..., Any], *args: Any,
                     **kwargs: Any) -> checks.Verdict:
        """A checkpoint that passes when AWS refuses `call` with `code`, explained."""
        return checks.expect_error(self.name, name, code, call, *args, **kwargs)

    def access_key(self, name: str = "key") -> AccessKey:
        """An access key this lesson makes; running the cell again gives the same key back."""
        made: dict[str, AccessKey] = self.__dict__.setdefault("_made", {})
        keys = iam.list_access_keys(self.iam)
        if name in made and made[name] in keys:
            return made[name]
        if len(keys) >= 2:  # make room: drop the oldest key this lesson does not use
            spare = next(k for k in keys if k != self.key and k not in made.values())
            print(iam.delete_access_key(self.iam, spare.access_key_id, guarded=self.lab.guarded),
                  "(it was not in use, and a user may have only two keys)")
        made[name] = iam.create_access_key(self.iam)
        return made[name]

    def expect_refusal(self, name: str, code: str, needs: str, call: Callable[..., Any],
                       *args: Any, **kwargs: Any) -> checks.Verdict:
        """Like expect_error, for a behaviour only the sandbox's fidelity fix `needs` provides."""
        if self.lab.missing_fix(needs):
            return checks.Verdict(True, f"Skipped: this stock moto server does not refuse here "
                                        f"as AWS would ({code}); the labkit sandbox does.")
        return self.expect_error(name, code, call, *args, **kwargs)

    def profile_session(self, profile: str = PROFILE) -> Any:
        """A boto3 session from the lab's named profile, as `--profile` would give the CLI."""
        return self.lab.session_for_profile(profile)

    def lines(self) -> list[str]:
        out = [self.lab.banner(), *self.caught_up]
        if self.lab.missing_fix("inactive-keys-rejected"):
            out.append("Note: this is a stock moto server: some AWS behaviours the lessons show "
                       "(deactivated keys refused, DeleteConflict) are missing here.")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        first, *rest = self.lines()
        colour = "#1b5e20" if self.lab.simulated else "#b71c1c"
        body = "".join(f"<div>{html.escape(line)}</div>" for line in rest)
        return f"<div class='labkit-banner'><b style='color:{colour}'>{html.escape(first)}</b>{body}</div>"


def _need_user(lab: Lab) -> list[str]:
    client = lab.client("iam")
    out = []
    user = iam.create_user(client, iam.USER_NAME)
    if user.new:
        out.append(f"Caught up: created {iam.USER_NAME} (lesson 02 had not run in this sandbox).")
    said = iam.attach_user_policy(client, iam.USER_NAME, iam.READ_ONLY)
    if not said.endswith("already attached to " + iam.USER_NAME + "."):
        out.append(f"Caught up: {said}")
    return out


def _need_key(lab: Lab) -> tuple[list[str], AccessKey]:
    """A working key pair of the user whose secret the lab knows (its .csv), made if needed."""
    out = _need_user(lab)
    saved = load_key_csv(download_path(lab))
    if _works(lab, saved):
        assert saved is not None
        return out, saved
    client = lab.client("iam")
    keys = iam.list_access_keys(client)
    if len(keys) >= 2:
        iam.delete_access_key(client, keys[0].access_key_id, guarded=lab.guarded)
    key = iam.create_access_key(client)
    save_key_csv(lab, key)
    out.append(f"Caught up: made a new access key {key.masked_id} for {iam.USER_NAME} (the "
               "secret of an earlier one is shown only once, and this lab did not have it).")
    return out, key


def _need_profile(lab: Lab) -> tuple[list[str], AccessKey]:
    from labkit.profiles import configure_profile, read_profile

    files = {"credentials_file": lab.credentials_file, "config_file": lab.config_file}
    current = read_profile(PROFILE, **files)
    if _works(lab, current):
        assert current is not None
        return _need_user(lab), current
    out, key = _need_key(lab)
    configure_profile(PROFILE, key, region=lab.region, backup=lab.guarded, **files)
    out.append(f"Caught up: configured the profile {PROFILE} (lesson 04's `aws configure`).")
    return out, key


def configure(lab: Lab, key: AccessKey, profile: str = PROFILE) -> Any:
    """What `aws configure --profile NAME` does, into the lab's files (backed up on real AWS)."""
    from labkit.profiles import configure_profile

    return configure_profile(profile, key, region=lab.region, credentials_file=lab.credentials_file,
                             config_file=lab.config_file, backup=lab.guarded)


def remove_profile(lab: Lab, profile: str = PROFILE) -> Any:
    """Remove exactly the lab's profile from the lab's files (backed up on real AWS)."""
    from labkit.profiles import remove_profile as remove

    return remove(profile, credentials_file=lab.credentials_file, config_file=lab.config_file,
                  backup=lab.guarded)


def show_aws_file(path: Path) -> str:
    """An AWS CLI file's text with every secret masked, for looking at it in a lesson."""
    from labkit.keys import mask_secret

    try:
        text = path.read_text()
    except OSError:
        return f"({path} does not exist yet)"
    out = []
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in ("aws_secret_access_key", "aws_session_token"):
            line = f"{name}= {mask_secret(value.strip())}"
        out.append(line)
    return f"# {path}\n" + "\n".join(out)


def forget_downloads(lab: Lab, user_name: str = iam.USER_NAME) -> str:
    """Delete the lab's saved .csv of the user's keys (the keys themselves are gone)."""
    path = download_path(lab, user_name)
    if not path.exists():
        return "No saved key file to delete."
    path.unlink()
    return f"Deleted {path}."


def readiness(lab: Lab) -> list[checks.Verdict]:
    """Everything the course needs, checked: the sandbox (or AWS), the AWS CLI, the widgets."""
    import shutil

    out = [checks.Verdict(True, f"Connected: {lab.identity.arn}")]
    aws = shutil.which("aws")
    if aws:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = f"aws-cli/{version('awscli')}"
        except PackageNotFoundError:
            found = aws
        out.append(checks.Verdict(True, f"AWS CLI found: {found}"))
    else:
        out.append(checks.Verdict(False, "The AWS CLI (aws) was not found.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    try:
        import anywidget  # noqa: F401
        import ipywidgets

        out.append(checks.Verdict(True, f"ipywidgets {ipywidgets.__version__} ready"))
    except ImportError:
        out.append(checks.Verdict(False, "ipywidgets or anywidget is missing.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    return out


def start(lesson: str) -> Lesson:
    """Connect for a lesson and make sure what the earlier lessons created exists."""
    if lesson not in LESSONS:
        raise ValueError(f"There is no lesson {lesson!r}; the lessons are {', '.join(LESSONS)}.")
    lab = connect()
    number = LESSONS.index(lesson)
    # A restart message is news once: show it in this lesson, not in every later one.
    lines: list[str] = [lab.message] if lab.message else []
    lab.message = None
    key: AccessKey | None = None
    if number == 3:
        lines += _need_user(lab)
    elif number == 4:
        more, key = _need_key(lab)
        lines += more
    elif number >= 5:
        more, key = _need_profile(lab)
        lines += more
    return Lesson(lesson, lab, lines, key)
