"""Lesson 00, Start here: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

CHECKS = cp.Checks()


@CHECKS.rule("ready")
def _ready(lesson: Lesson) -> Verdict:
    from labkit.readiness import readiness

    found = readiness(lesson.lab)
    missing = [v for v in found if not v.ok]
    if missing:
        return Verdict(False, "Something is missing: " + "; ".join(v.title for v in missing),
                       " ".join(v.detail for v in missing))
    return Verdict(True, "Everything is in place: " + "; ".join(v.title for v in found) + ".")


@CHECKS.rule("sandbox_mode")
def _sandbox_mode(lesson: Lesson) -> Verdict:
    return cp.ok(lesson.lab.simulated,
                 "You are in the sandbox: nothing here touches a real AWS account.",
                 "You are in REAL AWS mode.",
                 "That is fine if you meant it: the guardrails described above are on.")
