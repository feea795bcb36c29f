"""Checkpoints: a green line when right, what to do when not, recorded for the class view."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.errors import EXPLANATIONS, Explanation, error_code, explain  # noqa: F401
from labkit.files import write_private
from labkit.verdicts import Verdict, failure  # noqa: F401 (lessons and widgets use checks.Verdict)

PROGRESS = "progress.json"


def record(lesson: str, name: str, ok: bool, *, home: Path | None = None,
           now: datetime | None = None, earlier: bool = False, hint: str = "") -> None:
    """Keep a checkpoint's result in LABKIT_HOME/progress.json for the class progress view: a
    completion also says when it was first seen and whether it was found done in an earlier
    run (`earlier`) rather than by this run's cells; a failure keeps its hint for the class view."""
    from labkit import class_report
    from labkit.settings import settings

    home = home or settings().home
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = read(home)[0] or {}
        data.setdefault("learner", settings().learner)
        lessons = data.setdefault("lessons", {})
        mine = lessons.setdefault(lesson, {})
        entry: dict[str, Any] = {"ok": bool(ok), "time": when}
        if ok:
            before = mine.get(name)
            first = before.get("first") if isinstance(before, dict) and before.get("ok") is True \
                else None
            entry.update(first=first if isinstance(first, str) else when, earlier=bool(earlier))
        elif hint:
            entry["hint"] = hint[:300]
        mine[name] = entry
        data["updated"] = when
        write_private(home / PROGRESS, data)
    except OSError:
        return  # progress is a convenience for instructors; a lesson never fails over it
    class_report.send(data)


def labkit_home(folder: Path) -> Path:
    """The LABKIT_HOME inside `folder`: `folder/.labkit` for a user's home, else `folder`."""
    if folder.name == PROGRESS:
        return folder.parent
    try:
        if (folder / ".labkit").is_dir():
            return folder / ".labkit"
    except OSError:
        pass  # cannot look inside: reading progress.json says why
    return folder


# A progress file is a few KB; anything much larger is not one (or is hostile).
MAX_BYTES = 256 * 1024


def _read_small(path: Path) -> str:
    """The text of a small regular file, read without following a symlink or waiting on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Skip(f"{PROGRESS} is a symbolic link, not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _Skip(f"{PROGRESS} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise _Skip(f"{PROGRESS} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _Skip(f"{PROGRESS} is too large ({info.st_size:,} bytes) to be a progress file")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _Skip(f"{PROGRESS} is too large to be a progress file")
    return data.decode("utf-8", errors="replace")


class _Skip(Exception):
    """A learner's file that is not read, and why."""


def read(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A learner's progress.json, or None and why it cannot be read."""
    try:
        if not folder.exists():
            return None, "no such folder"
    except OSError as exc:
        return None, _why(exc)
    path = labkit_home(folder) / PROGRESS
    try:
        text = _read_small(path)
    except FileNotFoundError:
        return None, "no progress recorded yet"
    except _Skip as skip:
        return None, str(skip)
    except OSError as exc:
        return None, _why(exc)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None, f"{path.name} is damaged (not valid JSON)"
    if not isinstance(data, dict) or not isinstance(data.get("lessons", {}), dict):
        return None, f"{path.name} is not a labkit progress file"
    return data, None


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied (run as the learner, or with sudo)"
    if isinstance(exc, NotADirectoryError):
        return "not a folder"
    return exc.strerror or type(exc).__name__


def refusal(code: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Verdict:
    """Run `call`, expecting AWS to refuse it with `code`: a passing verdict that explains why."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every outcome is reported as a verdict
        if error_code(exc) != code:
            return failure(exc, f"Expected {code}, but the call")
        why = explain(exc)
        return Verdict(True, f"AWS refused, as expected: {why.meaning}",
                       f"{why.message} — {why.what_to_do}" if why.message else why.what_to_do,
                       code=code)
    return Verdict(False, f"Expected AWS to refuse with {code}, but the call succeeded.",
                   "Check the setup cells above ran, then run this cell again.")

