"""Lesson 09, Clean up: its checkpoints, exercise checks and quiz.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
LEFTOVER_USER = "former-intern"
CHECKS = cp.Checks()


@CHECKS.rule("delete_conflict")
def _delete_conflict(lesson: Lesson) -> Verdict:
    skipped = cp.skip_without(lesson, "delete-user-conflicts", "DeleteConflict")
    if skipped:
        return skipped
    return checks.refusal("DeleteConflict", lesson.client("iam").delete_user, UserName=USER)


@CHECKS.rule("nothing_left")
def _nothing_left(lesson: Lesson) -> Verdict:
    return cp.ok(not cp.user_exists(lesson), f"{USER} and all its keys are gone.",
                 f"{USER} still exists.", "Run Step 3 again.")


@CHECKS.rule("profiles_clean")
def _profiles_clean(lesson: Lesson) -> Verdict:
    from labkit.lab_profiles import profiles_with_deleted_keys

    stale = profiles_with_deleted_keys(lesson.lab)
    return cp.ok(not stale, "No CLI profile holds a deleted key; [default] is the console identity.",
                 f"These profiles hold deleted keys: {', '.join(stale)}.",
                 "Run lesson.remove_profiles() again.")


@CHECKS.exercise("delete_leftover_user")
def _leftover_removed(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.notes.get("leftover"):
        return False, f"Run the cell that makes {LEFTOVER_USER} first."
    if cp.user_exists(lesson, LEFTOVER_USER):
        keys = len(cp.keys(lesson, LEFTOVER_USER))
        return False, (f"{LEFTOVER_USER} still exists ({keys} key(s)). Delete its keys, detach its "
                       "policies, then delete the user, as Step 3 did.")
    return True, f"{LEFTOVER_USER} is gone, with its key and its policy."


# Questions people ask: (question, choices, index of the answer, why), out of the cells.
CHECKS.quiz("faq", [
    ("Are access keys free?",
     ["No, each key costs money", "Yes; the requests made with them are billed as usual"], 1,
     "Creating keys is free; what you do with them is billed by each service."),
    ("Do access keys expire?",
     ["Yes, after 90 days", "No, they last until deactivated or deleted"], 1,
     "They are long-term credentials: that is why you rotate them and prefer roles."),
    ("Where do you find a key's access key ID?",
     ["In the IAM console: the user's page, Access keys, 'Access key ID' column",
      "Only in the .csv downloaded at creation"], 0,
     "The ID is always listed; only the secret is shown once."),
])
