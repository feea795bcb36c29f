"""Which Jupyter server a sandbox belongs to, and whether that server is still running.

A sandbox started under labkit's Jupyter server extension records its server as an owner
(`{"pid": ..., "start": ...}`) in the state file; the sandbox exits by itself once that process
is gone, even when it died without stopping it (kill -9, out of memory). A sandbox with no owner
(started by a plain `python` or a test) lives until it is stopped, as before.
"""

from __future__ import annotations

import os
from typing import Any

Owner = dict[str, int]

# How often a sandbox with an owner checks that its server still runs (seconds).
WATCH_INTERVAL = 5.0


def this_process() -> Owner:
    """This process as an owner: its PID and start time (so a reused PID is not mistaken for it)."""
    pid = os.getpid()
    return {"pid": pid, "start": start_time(pid) or 0}


def parse(text: str | None) -> Owner | None:
    """An owner from its `PID:START` form (LABKIT_SERVER_PROCESS); None when absent or malformed."""
    try:
        pid, start = (text or "").split(":")
        return {"pid": int(pid), "start": int(start)}
    except ValueError:
        return None


def format_owner(owner: Owner) -> str:
    """The `PID:START` form that kernels and terminals inherit."""
    return f"{owner['pid']}:{owner['start']}"


def valid(data: Any) -> Owner | None:
    """The owner recorded in a state file, or None."""
    if isinstance(data, dict) and isinstance(data.get("pid"), int) \
            and isinstance(data.get("start"), int):
        return {"pid": data["pid"], "start": data["start"]}
    return None


def alive(owner: Owner) -> bool:
    """True while the owner's process runs (same PID and the same start time)."""
    return start_time(owner["pid"]) == owner["start"]


def start_time(pid: int) -> int | None:
    """When the process started (hundredths of a second since the epoch, as psutil tells it),
    None when there is no such process or it has exited (a zombie)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return round(proc.create_time() * 100)
    except psutil.Error:
        return None


def running(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie cannot be signalled)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
