"""Lesson 05, Rotate access keys: its checkpoints and exercise checks.

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
CHECKS = cp.Checks()


@CHECKS.rule("new_key_works")
def _new_key_works(lesson: Lesson) -> Verdict:
    old = lesson.key.access_key_id if lesson.key else None
    now = cp.profile_key_id(lesson)
    arn = cp.profile_arn(lesson)
    ok = bool(now) and now != old and bool(arn) and str(arn).endswith(f":user/{USER}")
    return cp.ok(ok, f"The new key works: your profile signs as {USER} with it.",
                 "Your profile does not sign with a new key yet.",
                 "Run Steps 2 and 3 again: create the key, then switch the profiles to it.")


@CHECKS.rule("old_key_refused")
def _old_key_refused(lesson: Lesson) -> Verdict:
    skipped = cp.skip_without(lesson, "inactive-keys-rejected", "InvalidClientTokenId")
    if skipped or lesson.key is None:
        return skipped or Verdict(False, "No old key to try.", "Run the Setup cells again.")
    sts = lesson.client("sts", credentials=lesson.key)
    return checks.refusal("InvalidClientTokenId", sts.get_caller_identity)


@CHECKS.rule("rotated")
def _rotated(lesson: Lesson) -> Verdict:
    ids = [k["AccessKeyId"] for k in cp.keys(lesson)]
    now = cp.profile_key_id(lesson)
    ok = len(ids) == 1 and ids[0] == now and (lesson.key is None or now != lesson.key.access_key_id)
    if ok:
        lesson.notes["rotated_to"] = now
    return cp.ok(ok, "Rotation done: one active key, and your profile uses it.",
                 f"The user has {len(ids)} key(s), and the profile uses {'one of them' if now in ids else 'none'}.",
                 "Run the steps above again, in order.")


@CHECKS.exercise("rotate_again")
def _rotate_again(lesson: Lesson) -> tuple[bool, str]:
    before = lesson.notes.get("rotated_to")
    if not before:
        return False, "Finish Step 6 first (its checkpoint must be green), then rotate once more."
    keys = cp.keys(lesson)
    now = cp.profile_key_id(lesson)
    if [k["AccessKeyId"] for k in keys] == [before]:
        return False, ("The user still has only the key from Step 2. Create a new key, switch the "
                       "profiles to it, then delete the key from Step 2.")
    if len(keys) != 1:
        return False, f"The user has {len(keys)} keys: delete the one from Step 2 when the new one works."
    if keys[0]["AccessKeyId"] != now:
        return False, "Your profile does not use the new key: call lesson.switch_profiles(...)."
    if cp.profile_arn(lesson) is None:
        return False, "The profile's key is refused: is it active?"
    return True, "Rotated again: a new key, the profile switched to it, the old one deleted."
