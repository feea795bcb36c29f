"""Lesson 08, Keep secrets out of code: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labkit import checkpoints as cp, scan
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

CHECKS = cp.Checks()


def _with_drill(check: Callable[[Lesson, Any], Verdict]) -> cp.Rule:
    """A rule that needs the leak drill Step 2 plants; without one, it says so."""
    def run(lesson: Lesson) -> Verdict:
        drill = lesson.notes.get("drill")
        if drill is None:
            return Verdict(False, "No leak was planted yet.", "Run Step 2 first.")
        return check(lesson, drill)
    return run


@CHECKS.rule("leak_found")
@_with_drill
def _leak_found(lesson: Lesson, drill: Any) -> Verdict:
    found = scan.scan_paths([drill.folder])
    return cp.ok({f.path for f in found} >= {str(drill.script), str(drill.notebook)},
                 "The scanner found the key in both the script and the notebook.",
                 "The scanner missed a file.", "Run Step 2 again.")


@CHECKS.rule("leak_revoked")
@_with_drill
def _leak_revoked(lesson: Lesson, drill: Any) -> Verdict:
    left = {k["AccessKeyId"] for k in cp.keys(lesson)}
    return cp.ok(drill.key.access_key_id not in left, "The leaked key is deleted: it can do no harm.",
                 "The leaked key still exists.", "Run the delete_access_key cell above.")


@CHECKS.rule("code_clean")
@_with_drill
def _code_clean(lesson: Lesson, drill: Any) -> Verdict:
    return cp.ok(not scan.scan_paths([drill.folder]), "The rewritten samples hold no secrets.",
                 "A secret is still there.", "Run Step 5 again.")


@CHECKS.exercise("second_leak")
def _second_leak(lesson: Lesson) -> tuple[bool, str]:
    drill = lesson.notes.get("second_drill")
    if drill is None:
        return False, "Run the cell that plants the second leak first."
    left = {k["AccessKeyId"]: k["Status"] for k in cp.keys(lesson)}
    if drill.key.access_key_id in left:
        return False, (f"The leaked key {drill.key.masked_id} is still {left[drill.key.access_key_id]}. "
                       "Deactivate it, then delete it.")
    return True, f"The second leaked key {drill.key.masked_id} is gone: it can do no harm."
