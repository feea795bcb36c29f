"""A lesson's connection to the lab: its clients, checkpoints, widgets and CLI steps; `start()`."""

from __future__ import annotations

import html
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit import checkpoints, iam, incident, memory, notebook
from labkit.answers import LAST, install_masking, install_tagging, plain
from labkit.catchup import CATCH_UP, LESSONS, NEEDS, WARM_UP
from labkit.downloads import forget_downloads, save_key_csv
from labkit.keys import AccessKey
from labkit.lab import Lab
from labkit.lab_profiles import (
    PROFILE,
    configure,
    remove_profiles_of,
    repair_default,
    show_aws_file,
    switch_profiles,
)
from labkit.profiles import read_profile
from labkit.session import connect
from labkit.settings import LabError
from labkit.verdicts import Verdict

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


@dataclass(repr=False)
class Lesson:
    """One lesson's connection to the lab, with what it had to catch up on."""

    name: str
    lab: Lab
    caught_up: list[str] = field(default_factory=list)
    key: AccessKey | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    checks: checkpoints.Checks = field(default_factory=checkpoints.Checks)

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

    def remember(self, **values: Any) -> None:
        """Keep key IDs (never a secret) for this lesson across kernel restarts."""
        memory.remember(self.lab.settings.home, self.name, **values)

    def recall(self) -> dict[str, Any]:
        """What this lesson remembered, in this kernel or an earlier one."""
        return memory.recall(self.lab.settings.home, self.name)

    def advance_clock(self, duration: str) -> None:
        """Move the sandbox's clock forward (`"20m"`, `"91d"`) and say so; simulated time only."""
        try:
            now = self.lab.advance_clock(duration)
        except LabError as exc:
            print(f"The clock stays as it is: {exc}")
            return
        # The sandbox presents its dates on your computer's calendar: what happened before the
        # move is now that much older (labkit/sandbox/clock.py says why).
        print(f"Simulated: {duration} passed in the sandbox; everything in it is {duration} "
              f"older as of {now:%Y-%m-%d %H:%M:%S} UTC (terminal: python -m labkit sandbox "
              f"advance {duration}).")

    def last_answer(self, operation: str) -> Any:
        """What AWS last answered to `operation` (e.g. "CreateAccessKey") through the lesson."""
        return LAST.get(operation)

    def verify(self, name: str) -> Verdict:
        """A checkpoint of this lesson, by name: its rule and hint live in checks/<lesson>.py."""
        return checkpoints.verify(self, self.checks, name)

    def exercise(self, name: str) -> None:
        """Check a "Your turn" exercise against the sandbox: prints ✅ or a hint, never raises."""
        print(checkpoints.exercise(self, self.checks, name))

    def quiz(self, name: str = "quiz") -> Any:
        """The lesson's quiz (its questions live in checks/<lesson>.py, not in the cell)."""
        from labkit import quiz as quizzes

        if name not in self.checks.quizzes:
            raise LabError(f"This lesson has no quiz {name!r} (its checks file: "
                           f"{self.checks.source or 'not found beside the notebook'}).")
        questions = [quizzes.Question(*q) for q in self.checks.quizzes[name]]
        return quizzes.Quiz(questions, lesson=self.name, name=name)

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

    def show_key_csv(self) -> None:
        """Where the key pair saved in lesson 03 is, the secret masked, and how to see it."""
        from labkit import cli_steps

        print(cli_steps.show_key_csv(self))

    def terminal(self) -> Any:
        """A button that opens a JupyterLab terminal, for typing `aws configure` (lesson 04)."""
        from labkit import cli_steps

        return cli_steps.terminal(self)

    def configure_cli(self) -> None:
        """Keep the lesson's key as the named profile later lessons give; when nobody ran
        `aws configure`, do it for the learner and say so."""
        from labkit import cli_steps

        for line in cli_steps.configure_cli(self):
            print(line)

    def switch_profiles(self, answer: Any, profile: str = PROFILE) -> None:
        """Point `profile`, and every other profile that used its key, at a new key pair."""
        old, new = self.profile_key(profile), _as_key(answer)
        for line in switch_profiles(self.lab, new, profile):
            print(line)
        if old is not None and old.access_key_id != new.access_key_id:
            self.remember(switched=[old.access_key_id, new.access_key_id])

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
        self.checks.started(self)  # nothing of the fresh incident was done in an earlier run
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
    made = Lesson(lesson, lab, lines, key, checks=checkpoints.load(lesson))
    made.checks.started(made)
    return made
