"""A lesson's setup: connect, catch up on what earlier lessons made, and record checkpoints."""

from __future__ import annotations

import configparser
import csv
import html
import io
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit import checkpoints, checks, iam, incident, notebook
from labkit.answers import LAST, install_masking, install_tagging, plain
from labkit.files import write_private_text
from labkit.keys import AccessKey, mask_secret, validate_key_id, validate_secret
from labkit.profiles import configure_profile, read_profile, remove_profile
from labkit.session import Lab, LabError, connect

# What each lesson needs made (or cleared) before its first step, in order: the names are the
# catch-up steps in CATCH_UP below. A lesson's setup runs exactly these, whichever ran before.
NEEDS: dict[str, tuple[str, ...]] = {
    "00_start_here": (),
    "01_root_and_iam_users": (),
    "02_create_an_iam_user": ("no_user",),
    "03_create_access_keys": ("user_with_room",),
    "04_configure_the_cli": ("key",),
    "05_rotate_access_keys": ("profile_with_room",),
    "06_monitor_key_age_and_usage": ("report_libraries", "profile_key_only"),
    "07_prefer_iam_roles": ("profile_with_room", "no_role"),
    "08_keep_secrets_out_of_code": ("profile_with_room",),
    "09_clean_up": ("profile_with_room",),
    "10_respond_to_a_leaked_key": ("incident",),
}
LESSONS = tuple(NEEDS)
PROFILE = iam.USER_NAME  # the named profile lesson 04 configures, as `aws configure --profile`
CSV_HEADER = ["Access key ID", "Secret access key"]
# The learner's console clients, one set per connection (labkit's own calls use Lab.client).
_learner_clients: weakref.WeakKeyDictionary[Lab, dict[str, Any]] = weakref.WeakKeyDictionary()


def _as_key(value: Any) -> AccessKey:
    """An AccessKey from what AWS answered (CreateAccessKey, AssumeRole) or an AccessKey."""
    if isinstance(value, AccessKey):
        return value
    if isinstance(value, dict):
        inner = value.get("AccessKey") or value.get("Credentials") or value
        if "AccessKeyId" in inner:
            return AccessKey(inner["AccessKeyId"], plain(inner.get("SecretAccessKey", "")),
                             inner.get("UserName"), inner.get("Status", "Active"),
                             inner.get("CreateDate"), plain(inner.get("SessionToken")),
                             inner.get("Expiration"))
    raise LabError("Pass what AWS answered: the result of iam.create_access_key(...) (or of "
                   "sts.assume_role(...)), or an AccessKey.")


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
    notes: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, *, profile: str | None = None,
               credentials: Any = None) -> Any:
        """A boto3 client for the learner's calls: the console identity by default, a named
        profile (as `--profile`), or credentials (an AccessKey, or AssumeRole's Credentials).
        What it returns has every secret masked on display."""
        if profile is not None:
            made = self.lab.client_for(self.lab.session_for_profile(profile), service)
        elif credentials is not None:
            made = self.lab.client_for(_as_key(credentials), service)
        else:
            cache = _learner_clients.setdefault(self.lab, {})
            if service not in cache:
                cache[service] = self.lab.client_for(self.lab.session, service)
            made = cache[service]
        if self.lab.guarded and service == "iam":
            install_tagging(made)
        return install_masking(made)

    def advance_clock(self, duration: str) -> None:
        """Move the sandbox's clock forward (`"20m"`, `"91d"`) and say so; simulated time only."""
        try:
            now = self.lab.advance_clock(duration)
        except LabError as exc:
            print(f"The clock stays as it is: {exc}")
            return
        print(f"Simulated: the sandbox's clock moved forward {duration}; it is now "
              f"{now:%Y-%m-%d %H:%M:%S} UTC there (terminal: python -m labkit sandbox advance "
              f"{duration}).")

    def last_answer(self, operation: str) -> Any:
        """What AWS last answered to `operation` (e.g. "CreateAccessKey") through the lesson."""
        return LAST.get(operation)

    def verify(self, name: str) -> checks.Verdict:
        """A checkpoint of this lesson, by name: its rule and hint live in labkit.checkpoints."""
        return checkpoints.verify(self, name)

    def exercise(self, name: str) -> None:
        """Check a "Your turn" exercise against the sandbox: prints ✅ or a hint, never raises."""
        print(checkpoints.exercise(self, name))

    def quiz(self, name: str = "quiz") -> Any:
        """The lesson's quiz (its questions live in labkit.checkpoints, not in the cell)."""
        from labkit import widgets

        questions = [widgets.Question(*q) for q in checkpoints.QUIZZES[self.name][name]]
        return widgets.Quiz(questions, lesson=self.name, name=name)

    def reveal(self, answer: Any) -> Any:
        """The console's one-time "Retrieve access keys" page for a CreateAccessKey answer."""
        from labkit import widgets

        return widgets.SecretReveal(_as_key(answer), lesson=self.name)

    def save_key_csv(self, answer: Any) -> Path:
        """Keep a new key pair as the console's "Download .csv file" does (readable by you only)."""
        key = _as_key(answer)
        self.key = key
        return save_key_csv(self.lab, key)

    def configure_profile(self, profile: str = PROFILE, answer: Any = None) -> Any:
        """What `aws configure --profile NAME` does with the lesson's key (or a key answer)."""
        key = _as_key(answer) if answer is not None else self.key
        if key is None:
            raise LabError("This lesson has no key pair to configure: run the Setup cells again.")
        return configure(self.lab, key, profile)

    def switch_profiles(self, answer: Any, profile: str = PROFILE) -> None:
        """Point `profile`, and every other profile that used its key, at a new key pair."""
        for line in switch_profiles(self.lab, _as_key(answer), profile):
            print(line)

    def profile_key(self, profile: str = PROFILE) -> AccessKey | None:
        """The key pair a profile of the lab's CLI files holds (secret masked on display)."""
        return read_profile(profile, **self.lab.cli_files)

    def show_aws_file(self, which: str = "credentials") -> None:
        """Print the lab's CLI `credentials` or `config` file, secrets masked."""
        print(show_aws_file(self.lab.config_file if which == "config" else self.lab.credentials_file))

    def remove_profiles(self, user_name: str = PROFILE) -> None:
        """After deleting a user: remove the profiles that held its keys, restore [default]."""
        for line in remove_profiles_of(self.lab, user_name):
            print(line)
        print(forget_downloads(self.lab, user_name))

    def plant_leak(self, name: str = "drill") -> Any:
        """Lesson 08's drill: a fresh key hard-coded into sample files (kept in notes[name])."""
        from labkit import leaks

        self.notes[name] = leaks.plant(self.lab)
        return self.notes[name]

    def make_leftover_user(self, user_name: str = "former-intern") -> None:
        """A user as a colleague left it: a key and a policy (lesson 09's exercise). Idempotent."""
        client = self.lab.client("iam")
        made = iam.create_user(client, user_name)
        iam.attach_user_policy(client, user_name, iam.READ_ONLY)
        if not iam.list_access_keys(client, user_name):
            iam.create_access_key(client, user_name)
        self.notes["leftover"] = user_name
        print(f"{'Made' if made.new else 'Found'} {user_name} with an access key and "
              f"{iam.READ_ONLY}, as a colleague left it.")

    @property
    def incident(self) -> incident.Incident | None:
        """Lesson 10's incident in this sandbox (None on real AWS, or before its setup)."""
        return incident.load(self.lab) if incident.runs_in(self.lab) else None

    def start_over(self) -> None:
        """Lesson 10: make the incident afresh, undoing everything done to it so far."""
        if not incident.runs_in(self.lab):
            print("The incident runs only in the labkit sandbox.")
            return
        incident.seed(self.lab)
        self.notes.pop("incident_done_at_start", None)
        print("Started the incident over: the leak, and what was done with it, as at first.")

    def end_incident(self) -> list[str]:
        """Lesson 10's clean-up: the incident's users, the pipeline's profile, its scratch folder."""
        return incident.remove(self.lab) if incident.runs_in(self.lab) else []

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
    if keys:
        out.append(f"Caught up: made a new access key {key.masked_id} for {iam.USER_NAME} (the "
                   "secret of its earlier key is shown only once, and this lab did not keep it).")
    else:
        out.append(f"Caught up: made an access key {key.masked_id} for {iam.USER_NAME} "
                   "(lesson 03 had not run in this sandbox).")
    return out, key


def _need_profile(lab: Lab) -> tuple[list[str], AccessKey]:
    current = read_profile(PROFILE, **lab.cli_files)
    if _works(lab, current):
        assert current is not None
        return _need_user(lab), current
    out, key = _need_key(lab)
    configure(lab, key)
    out.append(f"Caught up: configured the profile {PROFILE} (lesson 04's `aws configure`).")
    return out, key


def configure(lab: Lab, key: AccessKey, profile: str = PROFILE) -> Any:
    """What `aws configure --profile NAME` does, into the lab's files (backed up on real AWS)."""
    return configure_profile(profile, key, region=lab.region, backup=lab.guarded, **lab.cli_files)


def show_aws_file(path: Path) -> str:
    """An AWS CLI file's text with every secret masked, for looking at it in a lesson."""
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


def _profile_names(lab: Lab) -> list[str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read(lab.credentials_file)
    except configparser.Error:
        return []
    return parser.sections()


def switch_profiles(lab: Lab, key: AccessKey, profile: str = PROFILE) -> list[str]:
    """Rotation's switch: `profile`, and every profile holding the same old key (a terminal's
    `aws configure` writes [default]), now hold `key`. Nothing else changes."""
    old = read_profile(profile, **lab.cli_files)
    names = [profile] + [n for n in _profile_names(lab) if n != profile and old is not None
                         and (read_profile(n, **lab.cli_files) or key).access_key_id
                         == old.access_key_id]
    out = []
    for name in names:
        configure(lab, key, name)
        out.append(f"The profile [{name}] now uses {key.masked_id}"
                   + (f" (it used {old.masked_id})." if old else "."))
    return out


def profiles_with_deleted_keys(lab: Lab, user_name: str = iam.USER_NAME) -> list[str]:
    """Profiles of the lab's CLI files whose key is neither the console's nor a live key of
    `user_name` (the lab's user): they would answer InvalidClientTokenId."""
    console = lab.console_key.access_key_id if lab.console_key else None
    client = lab.client("iam")
    live = {k.access_key_id for k in iam.list_access_keys(client, user_name)} \
        if iam.get_user(client, user_name) is not None else set()
    stale = []
    # On real AWS the files are the learner's own ~/.aws: only the lab's profile is ours.
    for name in _profile_names(lab) if lab.simulated else [PROFILE]:
        key = read_profile(name, **lab.cli_files)
        if key is not None and not key.temporary and key.access_key_id not in live | {console}:
            stale.append(name)
    return stale


def repair_default(lab: Lab) -> list[str]:
    """[default] back to the console identity when its key was deleted (sandbox only)."""
    if not lab.simulated or lab.console_key is None:
        return []
    current = read_profile("default", **lab.cli_files)
    if current is not None and (current.access_key_id == lab.console_key.access_key_id
                                or _works(lab, current)):
        return []  # the console's key, or a working key the learner chose: theirs to keep
    configure(lab, lab.console_key, "default")
    return [] if current is None else [
        "Restored the CLI's [default] profile to console-admin: the key it held "
        f"({current.masked_id}) no longer exists."]


def remove_profiles_of(lab: Lab, user_name: str = iam.USER_NAME) -> list[str]:
    """Clean-up: remove the lab's profile and every profile holding a deleted key of the user;
    [default] goes back to the console identity (in the sandbox), so the CLI keeps working."""
    out = []
    for name in [PROFILE, *profiles_with_deleted_keys(lab, user_name)]:
        if name == "default" and lab.simulated and lab.console_key is not None:
            configure(lab, lab.console_key, "default")
            out.append("The profile [default] is console-admin again (it held a deleted key).")
        elif name != "default" and read_profile(name, **lab.cli_files) is not None:
            remove_profile(name, backup=lab.guarded, **lab.cli_files)
            out.append(f"Removed the profile [{name}].")
    return out or ["No profile held a key of " + user_name + "."]


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
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    out = [checks.Verdict(True, f"Connected: {lab.identity.arn}")]
    aws = shutil.which("aws")
    if aws:
        try:
            found = f"aws-cli/{version('awscli')}"
        except PackageNotFoundError:
            found = aws
        out.append(checks.Verdict(True, f"AWS CLI found: {found}"))
    else:
        out.append(checks.Verdict(False, "The AWS CLI (aws) was not found.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    # Installed is enough to know: importing ipywidgets here would cost a lesson with no
    # widgets (lesson 00) a few MB for as long as its kernel lives.
    try:
        if find_spec("anywidget") is None or find_spec("ipywidgets") is None:
            raise ImportError("ipywidgets or anywidget")
        out.append(checks.Verdict(True, f"ipywidgets {version('ipywidgets')} ready"))
    except (ImportError, PackageNotFoundError):
        out.append(checks.Verdict(False, "ipywidgets or anywidget is missing.",
                                  "Install the course's requirements: pip install -r requirements.txt"))
    return out


def _start_over_user(lab: Lab) -> list[str]:
    """Lesson 02 creates the user: a user left from an earlier run goes first (keys and all)."""
    client = lab.client("iam")
    if iam.get_user(client, iam.USER_NAME) is None:
        return []
    iam.delete_user(client, iam.USER_NAME, guarded=lab.guarded)
    forget_downloads(lab)
    return [f"Started over: deleted {iam.USER_NAME} (and its keys) from an earlier run, so that "
            "Step 1 can create it again. Later lessons catch up on what they need."]


def _keep_only(lab: Lab, keep: AccessKey | None, why: str,
               keys: list[AccessKey] | None = None) -> list[str]:
    """Delete the user's keys (`keys` if listed already) other than `keep`, so the lesson's
    create_access_key has room."""
    client = lab.client("iam")
    out = []
    for key in iam.list_access_keys(client) if keys is None else keys:
        if keep is None or key.access_key_id != keep.access_key_id:
            iam.delete_access_key(client, key.access_key_id, guarded=lab.guarded)
            out.append(f"Deleted the access key {key.masked_id} ({why}).")
    return out


def _start_keys(lab: Lab) -> tuple[list[str], AccessKey | None]:
    """Lesson 03: the user, and room for its keys; a key you saved in an earlier run is kept."""
    out = _need_user(lab)
    saved = load_key_csv(download_path(lab))
    keep = saved if _works(lab, saved) else None
    out += _keep_only(lab, keep, "left by an earlier run; its secret was not saved")
    if keep is not None:
        out.append(f"Kept your saved key {keep.masked_id} from an earlier run: it still works. "
                   "Step 1 makes a second one.")
    return out, keep


def _start_rooms(lab: Lab) -> tuple[list[str], AccessKey]:
    """Lessons 05 and 07-09: a working profile, and its key the user's only key (room for one
    more)."""
    out, key = _need_profile(lab)
    out += _keep_only(lab, key, f"not the key of your profile {PROFILE}; a user may have two "
                                "keys and this lesson makes one")
    return out, key


def _start_profile_key(lab: Lab) -> tuple[list[str], AccessKey]:
    """Lesson 06: the profile's key the user's only key. Nothing there signs with it, so an active
    key the user lists is enough; anything else gets lesson 05's catch-up."""
    current = read_profile(PROFILE, **lab.cli_files)
    client = lab.client("iam")
    try:
        keys = iam.list_access_keys(client) if current is not None else []
    except client.exceptions.NoSuchEntityException:
        keys = []
    if current is None or not any(k.access_key_id == current.access_key_id
                                  and k.status == "Active" for k in keys):
        return _start_rooms(lab)
    return _keep_only(lab, current, f"not the key of your profile {PROFILE}; lesson 06 audits "
                                    "a user with one key", keys), current


def _start_roles(lab: Lab) -> list[str]:
    """Lesson 07 creates the role: one left from an earlier run goes first."""
    client = lab.client("iam")
    try:
        client.get_role(RoleName=iam.ROLE_NAME)
    except Exception:  # noqa: BLE001 - no role: nothing to start over
        return []
    iam.disallow_assume_role(client, iam.USER_NAME)
    iam.delete_role(client, iam.ROLE_NAME, guarded=lab.guarded)
    return [f"Started over: deleted {iam.ROLE_NAME} from an earlier run, so that Step 1 can "
            "create it again."]


def _import_reports() -> None:
    """Lesson 06 shows tables: import pandas and its Styler while its setup and first cells
    wait for the sandbox (or the learner reads), not when the first table is due."""
    import pandas.io.formats.style  # noqa: F401


# Needs met in a thread before connecting, so that they overlap the sandbox's start. A cell
# that needs them first waits for the import under way (Python's import lock).
WARM_UP: dict[str, Callable[[], None]] = {"report_libraries": _import_reports}
CatchUp = Callable[[Lab], tuple[list[str], AccessKey | None]]
# Each need of NEEDS: what it does, and the key pair it leaves the lesson (or None).
CATCH_UP: dict[str, CatchUp] = {
    "no_user": lambda lab: (_start_over_user(lab), None),
    "user_with_room": _start_keys,
    "key": _need_key,
    "profile_with_room": _start_rooms,
    "profile_key_only": _start_profile_key,
    "no_role": lambda lab: (_start_roles(lab), None),
    "incident": lambda lab: (incident.start(lab)[0], None),
}


def start(lesson: str) -> Lesson:
    """Connect for a lesson, catch up on what earlier lessons made, and start it over if it
    ran before, so that Run All works again; AWS errors then show in plain words."""
    if lesson not in LESSONS:
        raise LabError(f"There is no lesson {lesson!r}; the lessons are {', '.join(LESSONS)}.")
    for need in NEEDS[lesson]:
        if need in WARM_UP:
            threading.Thread(target=WARM_UP[need], daemon=True).start()
    notebook.install()
    lab = connect()
    # A restart message is news once: show it in this lesson, not in every later one.
    lines: list[str] = [lab.message] if lab.message else []
    lab.message = None
    key: AccessKey | None = None
    for need in (n for n in NEEDS[lesson] if n in CATCH_UP):
        more, found = CATCH_UP[need](lab)
        lines += more
        key = found or key
    lines += repair_default(lab)
    made = Lesson(lesson, lab, lines, key)
    checkpoints.started(made)
    return made
