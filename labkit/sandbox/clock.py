"""The sandbox's one clock: real time plus an offset that only grows (`sandbox advance 91d`).

Everything time-based inside the sandbox process reads it: moto's timestamps (key creation and
last use, the credential report), credential expiry, the activity trail. `install()` points
moto's `utcnow` at it; `parse_duration` is shared with the command line and `Lab.advance_clock`.

What clients see (the choice, and why): every client reads the sandbox's dates against its own
host's clock, and outside tools (Prowler, the aws CLI, a learner's script) cannot be told about an
offset. So the sandbox *presents* every time shifted back by the offset (`presented`): its "now"
is always the host's now, and advancing the clock makes everything that already happened that
much older - a key made before `advance 91d` was made 91 days ago, credentials that were valid
for an hour expired long ago. No client ever sees a date in the future, and ages, last-use and
expiry agree whichever way a client computes them (against the host's clock, the Date header or
`Lab.now()`). Inside the process the clock runs ahead (`now`), so moto's own comparisons hold.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_PART = re.compile(r"(\d+)\s*([dhms])")
# Python's datetime stops at year 9999: a bigger jump would crash every timestamp.
MAX_ADVANCE = timedelta(days=365 * 100)


class DurationError(ValueError):
    """A duration the clock cannot move by; the message says what to type instead."""


def parse_duration(text: str | timedelta) -> timedelta:
    """`20m`, `2h`, `91d`, `1d2h30m` (or a timedelta) as a positive timedelta."""
    if isinstance(text, timedelta):
        delta = text
    else:
        spec = str(text).strip().lower().replace(" ", "")
        parts = _PART.findall(spec.removeprefix("-"))
        if not parts or "".join(n + u for n, u in parts) != spec.removeprefix("-"):
            raise DurationError(
                f"{text!r} is not a duration. Write a number and a unit: 20m (minutes), 2h "
                "(hours), 91d (days), 30s (seconds), or combined like 1d2h.")
        try:
            delta = sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())
        except OverflowError:
            delta = MAX_ADVANCE * 2
        if spec.startswith("-"):
            delta = -delta
    if delta <= timedelta(0):
        raise DurationError("The sandbox's clock only moves forward (as time does on AWS): give "
                            "a positive duration such as 20m, 2h or 91d. `python -m labkit "
                            "sandbox reset` sets it back to real time.")
    if delta > MAX_ADVANCE:
        raise DurationError("That is more than a century; give a shorter duration, such as 91d.")
    return delta


class Clock:
    """Real UTC time plus a forward-only offset, shared by every thread of the sandbox."""

    def __init__(self) -> None:
        self.offset = timedelta(0)  # changed only under the lock, by advance and reset
        self._lock = threading.Lock()

    @property
    def simulated(self) -> bool:
        """True once the clock was advanced: its time is not the real time any more."""
        return self.offset > timedelta(0)

    def now(self) -> datetime:
        """The sandbox's time, aware UTC, whole seconds (as AWS reports times)."""
        return (datetime.now(UTC) + self.offset).replace(microsecond=0)

    def advance(self, by: str | timedelta) -> datetime:
        """Move forward by `by`; returns the new time."""
        delta = parse_duration(by)
        with self._lock:
            if self.offset + delta > MAX_ADVANCE:
                raise DurationError("The sandbox's clock is already far ahead; reset the "
                                    "sandbox (python -m labkit sandbox reset) to start again.")
            self.offset += delta
        return self.now()

    def reset(self) -> None:
        """Back to real time (a reset sandbox is a fresh account)."""
        with self._lock:
            self.offset = timedelta(0)

    def presented(self, moment: datetime) -> datetime:
        """`moment` (on this clock) as clients see it: shifted back by the offset, so that the
        sandbox's now is the host's now and everything before an advance is older."""
        return moment - self.offset

    def internal(self, moment: datetime) -> datetime:
        """A time a client gave (on the host's calendar) on this clock: the inverse of presented."""
        return moment + self.offset

    def describe(self) -> dict[str, object]:
        """What the admin API reports: the time clients see, the offset, whether it is simulated."""
        return {"now": self.presented(self.now()).isoformat(),
                "offset_s": self.offset.total_seconds(), "simulated": self.simulated}


CLOCK = Clock()


def _moto_utcnow() -> datetime:
    # Replaces the body of moto.core.utils.utcnow (see install): naive UTC, as moto expects.
    return _labkit_clock.now().replace(tzinfo=None)  # type: ignore[name-defined]  # noqa: F821


def install() -> None:
    """Make moto's `utcnow` (imported by name into dozens of modules) read CLOCK."""
    from moto.core import utils

    # Swap the function's code in place, so every `from moto.core.utils import utcnow` already
    # made (or made later) follows the clock; the name it reads lives in moto's module globals.
    utils._labkit_clock = CLOCK  # type: ignore[attr-defined]
    utils.utcnow.__code__ = _moto_utcnow.__code__
