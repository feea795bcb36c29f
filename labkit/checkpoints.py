"""The machinery of checkpoints, exercise checks and quizzes; their content lives beside each lesson.

Each lesson's rules, hints and quiz text are in `checks/<lesson>.py` next to its notebook (as
otter-grader keeps a test beside its question): whoever edits lesson 03 edits
`notebooks/03_create_access_keys.ipynb` and `notebooks/checks/03_create_access_keys.py`. That file
makes `CHECKS = Checks()` and registers with its decorators; `start()` loads it. A checkpoint cell
is one line, `lesson.verify("key_created")`; an exercise check, `lesson.exercise("tag_user")`,
prints a line starting with ✅, or a hint, and never raises, so Run All passes before the learner
has typed anything.

A check sees exactly what was asked: `@CHECKS.at_start` hooks note what was already there when
the lesson started (in `lesson.notes`; `lesson.notes["started"]` is the start on the trail's
clock), so an exercise check can return `earlier(...)` for work done before this run ("☑️ Done
before this run of the lesson", recorded with `"earlier": true`) instead of a plain ✅;
`lesson.remember(...)` keeps key IDs across kernel restarts.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from labkit import checks
from labkit.checks import Verdict
from labkit.keys import AccessKey
from labkit.session import Lab, LabError

USER = "temporary-iam-user"
ROLE = "temporary-iam-role"
FOLDER = "checks"  # beside the notebooks: notebooks/checks/<lesson>.py


class LessonView(Protocol):
    """What a check may use of the lesson it checks (labkit.course.Lesson is one)."""

    name: str
    lab: Lab
    key: AccessKey | None
    notes: dict[str, Any]

    def client(self, service: str, *, profile: str | None = None,
               credentials: Any = None) -> Any:
        """A client as the learner's cells get it."""

    def last_answer(self, operation: str) -> Any:
        """What AWS last answered to `operation` through the lesson."""

    def profile_key(self, profile: str = USER) -> AccessKey | None:
        """The key pair a CLI profile holds."""

    def remember(self, **values: Any) -> None:
        """Keep key IDs for this lesson across kernel restarts."""

    def recall(self) -> dict[str, Any]:
        """What this lesson remembered."""


class Earlier(NamedTuple):
    """An exercise check's answer when the work was found done before this run of the lesson."""

    done: bool
    said: str


def earlier(said: str) -> Earlier:
    """What an exercise check returns for work done in an earlier run (not by this run's cells)."""
    return Earlier(True, said)


def done(said: str, before: bool = False) -> tuple[bool, str] | Earlier:
    """A passing exercise check's answer (`said` starts in lower case): `earlier(said)` when the
    work was found done before this run, else ✅ and `said`."""
    return earlier(said) if before else (True, said[0].upper() + said[1:])


Rule = Callable[[Any], Verdict]
Exercise = Callable[[Any], "tuple[bool, str] | Earlier"]
Hook = Callable[[Any], None]
Question = tuple[str, list[str], int, str]  # question, choices, index of the answer, why


@dataclass
class Checks:
    """One lesson's checkpoint rules, exercise checks and quizzes, by name."""

    rules: dict[str, Rule] = field(default_factory=dict)
    exercises: dict[str, Exercise] = field(default_factory=dict)
    quizzes: dict[str, list[Question]] = field(default_factory=dict)
    starts: list[Hook] = field(default_factory=list)
    source: Path | None = None  # the file they came from (None: no file was found)

    def rule(self, name: str) -> Callable[[Rule], Rule]:
        """Register a checkpoint rule: `lesson.verify(name)` runs it."""
        def register(check: Rule) -> Rule:
            self.rules[name] = check
            return check
        return register

    def exercise(self, name: str) -> Callable[[Exercise], Exercise]:
        """Register an exercise check: `lesson.exercise(name)` runs it."""
        def register(check: Exercise) -> Exercise:
            self.exercises[name] = check
            return check
        return register

    def quiz(self, name: str, questions: list[Question]) -> None:
        """Register a quiz: `lesson.quiz(name)` shows it."""
        self.quizzes[name] = questions

    def at_start(self, hook: Hook) -> Hook:
        """Register what to note when the lesson starts (after its catch-up), in lesson.notes:
        for example what was already done then, so a check can tell this run's work."""
        self.starts.append(hook)
        return hook

    def started(self, lesson: Any) -> None:
        """Note when the lesson started (on the sandbox's clock, as its trail), then run the start
        hooks; one that fails leaves its note unset (its check says so)."""
        if has_trail(lesson):
            try:  # the trail's times are this machine's clock plus the sandbox's offset
                offset = float(lesson.lab.sandbox.admin("GET", "clock")["offset_s"])
                lesson.notes["started"] = time.time() + offset
            except Exception:  # noqa: BLE001 - without it, checks read the whole trail
                lesson.notes.pop("started", None)
        for hook in self.starts:
            try:
                hook(lesson)
            except Exception:  # noqa: BLE001 - a lesson starts even when a note cannot be taken
                continue


def _trusted(path: Path) -> bool:
    """A file (and its folder) owned by you or root and writable by no one else: code from a
    folder another user can write to is never run."""
    try:
        for item in (path, path.parent):
            info = item.stat()
            if info.st_uid not in (os.geteuid(), 0) or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def find(lesson: str, folder: Path | None = None) -> Path | None:
    """The lesson's checks file: in `folder`, else beside the notebooks (the kernel's working
    folder is the notebook's), else in a checkout's notebooks/ folder (its root as working folder)."""
    here = Path.cwd()
    places = [folder] if folder is not None else [here / FOLDER, here / "notebooks" / FOLDER]
    for place in places:
        path = place / f"{lesson}.py"
        if path.is_file():
            return path
    return None


def load(lesson: str, folder: Path | None = None) -> Checks:
    """The lesson's Checks from its file (empty, with source None, when there is none)."""
    path = find(lesson, folder)
    if path is None:
        return Checks()
    if not _trusted(path):
        raise LabError(f"{path} is writable by another user (or owned by one): "
                                   "labkit runs no code from it. Fix its permissions "
                                   "(chmod go-w) or use your own copy of the lessons.")
    spec = importlib.util.spec_from_file_location(f"labkit_lesson_checks_{lesson}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, "CHECKS", None)
    if not isinstance(found, Checks):
        raise LabError(f"{path} defines no CHECKS = Checks(): see labkit/checkpoints.py.")
    found.source = path
    return found


def _missing(lesson: LessonView, kind: str, name: str, known: dict[str, Any],
             source: Path | None) -> str:
    if source is None:
        return (f"This lesson's checks file ({FOLDER}/{lesson.name}.py) was not found beside the "
                "notebook: open the lesson from the course's notebooks folder.")
    return f"This lesson has no {kind} {name!r}. Its {kind}s: {', '.join(known) or 'none'}."


def verify(lesson: LessonView, found: Checks, name: str) -> Verdict:
    """Run the lesson's checkpoint `name`, record it, and say in one line how it went."""
    rule = found.rules.get(name)
    if rule is None:
        return Verdict(False, f"There is no checkpoint {name!r} to run.",
                       _missing(lesson, "checkpoint", name, found.rules, found.source))
    try:
        verdict = rule(lesson)
    except Exception as exc:  # noqa: BLE001 - a checkpoint explains, it never raises
        verdict = checks.failure(exc, "Checking")
    checks.record(lesson.name, name, verdict.ok,
                  hint=" ".join(filter(None, (verdict.title, verdict.detail))))
    return verdict


def exercise(lesson: LessonView, found: Checks, name: str) -> str:
    """The line an exercise check prints: ✅ and what is right, or 💡 and a hint."""
    check = found.exercises.get(name)
    if check is None:
        return "💡 " + _missing(lesson, "exercise", name, found.exercises, found.source)
    try:
        outcome = check(lesson)
    except Exception as exc:  # noqa: BLE001 - never raise: Run All passes before the learner types
        outcome = (False, f"Not yet: {checks.explain(exc)}")
    done, said = outcome
    before = isinstance(outcome, Earlier)
    if done:  # progress shows what a learner did; an exercise not yet typed is not a failure
        checks.record(lesson.name, f"exercise_{name}", done, earlier=before)
    if before:
        return ("☑️ Done before this run of the lesson (in an earlier run, or before a kernel "
                f"restart): {said}")
    return ("✅ " if done else "💡 Not done yet. ") + said


# ---------------------------------------------------------------- helpers for the checks files

def ok(passed_if: bool, passed: str, failed: str, todo: str = "") -> Verdict:
    """A green verdict saying `passed`, or a red one saying `failed` and what to do."""
    return Verdict(True, passed) if passed_if else Verdict(False, failed, todo)


def unless_missing(call: Callable[..., Any], **kwargs: Any) -> Any:
    """AWS's answer to `call`, or None when what it asks about does not exist (NoSuchEntity)."""
    try:
        return call(**kwargs)
    except Exception as exc:  # noqa: BLE001 - only NoSuchEntity is an answer here
        if checks.error_code(exc) == "NoSuchEntity":
            return None
        raise


def keys(lesson: LessonView, user: str = USER) -> list[dict[str, Any]]:
    """The user's access keys as ListAccessKeys answers (none when the user does not exist)."""
    got = unless_missing(lesson.client("iam").list_access_keys, UserName=user)
    return [] if got is None else got["AccessKeyMetadata"]


def user_exists(lesson: LessonView, user: str = USER) -> bool:
    """Whether the IAM user exists."""
    return unless_missing(lesson.client("iam").get_user, UserName=user) is not None


def skip_without(lesson: LessonView, fix: str, code: str) -> Verdict | None:
    """A green "skipped" verdict on a stock moto server that lacks `fix`, else None."""
    if lesson.lab.missing_fix(fix):
        return Verdict(True, f"Skipped: this stock moto server does not refuse here as AWS "
                             f"would ({code}); the labkit sandbox does.")
    return None


def profile_arn(lesson: LessonView, profile: str = USER) -> str | None:
    """Whom a CLI profile signs as (None when AWS refuses its key)."""
    try:
        return lesson.client("sts", profile=profile).get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - any refusal means: the profile does not work
        return None


def has_trail(lesson: LessonView) -> bool:
    """Whether the lab keeps an activity trail a check can read (labkit's sandbox does)."""
    box = lesson.lab.sandbox
    return bool(lesson.lab.simulated and box is not None and box.has_fidelity_fixes)


def called_since(lesson: LessonView, event: str, since: float) -> bool | None:
    """Whether AWS answered `event` (e.g. "UpdateAccountPasswordPolicy") without an error since
    `since` (the sandbox's clock); None when there is no trail to tell."""
    if not has_trail(lesson):
        return None
    found = lesson.lab.sandbox.admin("GET", f"trail?since={since}")["events"]
    return any(e["event"] == event and not e["error"] for e in found)


def profile_key_id(lesson: LessonView, profile: str = USER) -> str | None:
    """The access key ID a CLI profile holds (None when it holds none)."""
    key = lesson.profile_key(profile)
    return key.access_key_id if key else None
