"""Checkpoints: a green line when right, what to do when not, recorded for the class view."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.errors import EXPLANATIONS, Explanation, error_code, explain  # noqa: F401
from labkit.files import read_json, write_private
from labkit.verdicts import Verdict, failure  # noqa: F401 (lessons and widgets use checks.Verdict)

PROGRESS = "progress.json"


def record(lesson: str, name: str, ok: bool, *, home: Path | None = None,
           now: datetime | None = None) -> None:
    """Keep a checkpoint's result in LABKIT_HOME/progress.json for the class progress view."""
    from labkit.session import settings

    home = home or settings().home
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = read_json(home / PROGRESS) or {}
        data.setdefault("learner", settings().learner)
        lessons = data.setdefault("lessons", {})
        lessons.setdefault(lesson, {})[name] = {"ok": bool(ok), "time": when}
        data["updated"] = when
        write_private(home / PROGRESS, data)
    except OSError:
        pass  # progress is a convenience for instructors; a lesson never fails over it


def read_progress(home: Path) -> dict[str, Any] | None:
    """A learner's recorded checkpoints, or None when there are none (or they cannot be read)."""
    if not os.access(home / PROGRESS, os.R_OK):
        return None
    return read_json(home / PROGRESS)


def check(lesson: str, name: str, ok: bool, passed: str, failed: str, todo: str = "") -> Verdict:
    """A checkpoint: record it and say, in one line, what is right or what is wrong."""
    record(lesson, name, ok)
    return Verdict(True, passed) if ok else Verdict(False, failed, todo)


def expect_error(lesson: str, name: str, code: str, call: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> Verdict:
    """Run `call`, expecting AWS to refuse it with `code`: a passing check that explains why."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every outcome is reported as a verdict
        got = error_code(exc)
        if got == code:
            record(lesson, name, True)
            why = explain(exc)
            return Verdict(True, f"AWS refused, as expected: {why.meaning}",
                           f"{why.message} — {why.what_to_do}" if why.message else why.what_to_do,
                           code=code)
        record(lesson, name, False)
        return failure(exc, f"Expected {code}, but the call")
    record(lesson, name, False)
    return Verdict(False, f"Expected AWS to refuse with {code}, but the call succeeded.",
                   "Check the setup cells above ran, then run this cell again.")
