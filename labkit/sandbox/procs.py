"""What Linux's /proc says about a process: its state, start time, user and command line."""

from __future__ import annotations

import os


def stat_fields(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/PID/stat (after the command name), None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot), None when there is no such process."""
    fields = stat_fields(pid)
    # Field 22 of /proc/PID/stat; fields[0] here is field 3 (the state).
    return int(fields[19]) if fields and len(fields) > 19 and fields[0] != "Z" else None


def is_zombie(pid: int) -> bool:
    """True for a process that has exited but not been reaped (it cannot be signalled)."""
    fields = stat_fields(pid)
    return bool(fields) and fields[0] == "Z"


def uid(pid: int) -> int | None:
    """The user ID a process runs as (its /proc folder's owner), or None when it cannot be seen."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def cmdline(pid: int) -> list[bytes] | None:
    """The process's command line, word by word, None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().rstrip(b"\0").split(b"\0")
    except OSError:
        return None
