"""The lab's clock: the sandbox's, which a lesson may move forward, or the world's on real AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from labkit.sandbox.clock import DurationError, parse_duration
from labkit.settings import LabError


def has_clock(sandbox: Any) -> bool:
    """True when `sandbox` (a labkit.sandbox.Sandbox, or None) keeps a clock of its own."""
    return sandbox is not None and "clock" in sandbox.fixes


def now(simulated: bool, sandbox: Any) -> datetime:
    """The time as the lab's AWS sees it: the sandbox's clock, or real time (UTC)."""
    if simulated and has_clock(sandbox):
        return datetime.fromisoformat(sandbox.admin("GET", "clock")["now"])
    return datetime.now(UTC).replace(microsecond=0)


def advance(simulated: bool, sandbox: Any, duration: str | timedelta) -> datetime:
    """Move the sandbox's clock forward (`"20m"`, `"2h"`, `"91d"`); returns the new time."""
    if not simulated:
        raise LabError("This lab uses a real AWS account, whose clock is the world's: there "
                       "is no clock to move. Wait, or use the sandbox to try it.")
    if not has_clock(sandbox):
        raise LabError("This sandbox is a stock moto server: it has no clock to move. Unset "
                       "LABKIT_SANDBOX_URL to use labkit's own sandbox, which has one.")
    try:
        delta = parse_duration(duration)
    except DurationError as exc:
        raise LabError(str(exc)) from None
    got = sandbox.admin("POST", "clock", {"advance": f"{int(delta.total_seconds())}s"})
    return datetime.fromisoformat(got["now"])
