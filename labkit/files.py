"""Private files: written atomically, readable by the owner only (0600) from the first byte."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


class HomeError(RuntimeError):
    """LABKIT_HOME cannot be used; the message says what to do."""


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_full(path: Path) -> str:
    """The plain message for a write that failed because the disk (or quota) is full."""
    return (f"The disk holding {path.parent} is full, so the lab could not save {path.name}; "
            "nothing was changed. Free some space (delete files you no longer need, or ask "
            "your instructor), then run the cell again.")


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically (readers see the old or the new content, never half), readable by
    the owner only (0600) from its first byte; a full disk is a HomeError in plain words."""
    tmp = None
    try:
        # Hidden and marked, beside its target (the same file system, so the rename is atomic).
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            raise HomeError(disk_full(path)) from None
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder is synced (after a power cut, say).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private_text(path: Path, text: str) -> None:
    """Write text atomically, readable by the owner only (0600) from its first byte."""
    write_private_bytes(path, text.encode("utf-8"))


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, readable by the owner only (0600)."""
    write_private_text(path, json.dumps(data))


def read_json(path: Path, limit: int = 1 << 20) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when it is missing, unreadable, damaged or huge."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            raw = fh.read(limit + 1)
        if len(raw) > limit:
            return None
        data = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
