"""The sandbox's files in LABKIT_HOME: state, console identity, lock; private to the learner."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE = "sandbox.json"
CONSOLE = "console.json"
LOCK = "sandbox.lock"
LOG = "sandbox.log"


class HomeError(RuntimeError):
    """LABKIT_HOME cannot be used; the message says what to do."""


def prepare_home(home: Path) -> Path:
    """Create LABKIT_HOME as a private folder (0700) and check it is writable."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(_not_writable(home, exc)) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise HomeError(_not_writable(home, None))
    try:
        if home.stat().st_uid == os.getuid() and home.stat().st_mode & 0o077:
            home.chmod(0o700)
    except OSError:
        pass
    return home


def _not_writable(home: Path, exc: OSError | None) -> str:
    why = f" ({exc.strerror})" if exc and exc.strerror else ""
    return (
        f"The lab cannot write its files to {home}{why}. "
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit"
    )


def write_private_text(path: Path, text: str) -> None:
    """Write a file atomically, readable by the owner only (0600) from its first byte."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, readable by the owner only (0600)."""
    write_private_text(path, json.dumps(data))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when it is missing or unreadable."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """Hold the learner's sandbox lock, so two kernels starting at once get one sandbox."""
    fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
