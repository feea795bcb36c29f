"""Lesson 05, Rotate access keys: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks
from labkit.checks import Verdict
from labkit.keys import mask_key_id

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
CHECKS = cp.Checks()


def _before_this_kernel(lesson: Lesson) -> tuple[str, str] | None:
    """(old key ID, new key ID) of a rotation finished before this kernel started (an earlier
    run, or before a kernel restart), or None."""
    got = lesson.notes.get("rotated_before")
    return tuple(got) if got else None  # type: ignore[return-value]


@CHECKS.at_start
def _remember_the_old_key(lesson: Lesson) -> None:
    """Remember, across kernel restarts, the key this run rotates away from; after a restart the
    Setup sees the new key, so the old one is known only from what was remembered."""
    now = cp.profile_key_id(lesson)
    # What was remembered is about this user: a user made again (lesson 02, a sandbox reset) is
    # another user, whose keys were never rotated.
    made = lesson.lab.client("iam").get_user(UserName=USER)["User"]["CreateDate"].isoformat()
    if lesson.recall().get("user") != made:
        lesson.remember(user=made, old=None, rotated_to=None)
    old = lesson.recall().get("old")
    live = {k["AccessKeyId"] for k in cp.keys(lesson)}
    if old and now and old != now and old not in live:
        lesson.notes["rotated_before"] = (old, now)
    elif now:
        lesson.remember(old=now)


def _signs_as_user(lesson: Lesson) -> bool:
    arn = cp.profile_arn(lesson)
    return bool(arn) and str(arn).endswith(f":user/{USER}")


@CHECKS.rule("new_key_works")
def _new_key_works(lesson: Lesson) -> Verdict:
    old = lesson.key.access_key_id if lesson.key else None
    now = cp.profile_key_id(lesson)
    before = _before_this_kernel(lesson)
    if now and now == old and before and before[1] == now and _signs_as_user(lesson):
        return Verdict(True, f"The new key works: your profile signs as {USER} with it (it "
                             f"replaced {mask_key_id(before[0])} before this kernel started).")
    return cp.ok(bool(now) and now != old and _signs_as_user(lesson),
                 f"The new key works: your profile signs as {USER} with it.",
                 "Your profile does not sign with a new key yet.",
                 "Run Steps 2 and 3 again: create the key, then switch the profiles to it.")


@CHECKS.rule("old_key_refused")
def _old_key_refused(lesson: Lesson) -> Verdict:
    skipped = cp.skip_without(lesson, "inactive-keys-rejected", "InvalidClientTokenId")
    if skipped or lesson.key is None:
        return skipped or Verdict(False, "No old key to try.", "Run the Setup cells again.")
    before = _before_this_kernel(lesson)
    if before and lesson.key.access_key_id == cp.profile_key_id(lesson):
        # After a restart the lab knows the old key's ID, not its secret: the key is gone.
        return Verdict(True, f"The old key {mask_key_id(before[0])} no longer exists: AWS refuses "
                             "it (InvalidClientTokenId). It was retired before this kernel "
                             "started.", code="InvalidClientTokenId")
    sts = lesson.client("sts", credentials=lesson.key)
    return checks.refusal("InvalidClientTokenId", sts.get_caller_identity)


@CHECKS.rule("rotated")
def _rotated(lesson: Lesson) -> Verdict:
    ids = [k["AccessKeyId"] for k in cp.keys(lesson)]
    now = cp.profile_key_id(lesson)
    started = lesson.key.access_key_id if lesson.key else None
    before = _before_this_kernel(lesson)
    if ids == [now] and now != started:
        lesson.remember(old=started, rotated_to=now)
        return Verdict(True, "Rotation done: one active key, and your profile uses it.")
    if ids == [now] and before and before[1] == now:
        if not lesson.recall().get("rotated_to"):
            lesson.remember(rotated_to=now)
        return Verdict(True, f"Rotation done before this kernel started: {mask_key_id(before[0])} "
                             f"was replaced by {mask_key_id(now)}, which your profile uses.")
    if now not in ids:
        return Verdict(False, "Your profile uses a key the user does not have.",
                       "Switch the profiles to the new key (Step 3).")
    if now == started:
        return Verdict(False, "Your profile still uses the key this lesson started with.",
                       "Create a second key (Step 2), switch the profiles to it (Step 3), then "
                       "retire the old one (Steps 5 and 6).")
    return Verdict(False, f"The user still has {len(ids)} keys.",
                   "Delete the old key once the new one works (Step 6).")


@CHECKS.exercise("rotate_again")
def _rotate_again(lesson: Lesson) -> tuple[bool, str] | cp.Earlier:
    before = lesson.recall().get("rotated_to")
    if not before:
        return False, "Finish Step 6 first (its checkpoint must be green), then rotate once more."
    ids = [k["AccessKeyId"] for k in cp.keys(lesson)]
    now = cp.profile_key_id(lesson)
    step2 = mask_key_id(before)
    if ids == [before]:
        return False, (f"The user still has only the key from Step 2 ({step2}). Create a new key, "
                       "switch the profiles to it, then delete the key from Step 2 (new_key_id; "
                       "after a kernel restart, the ID iam.list_access_keys(...) lists).")
    if before in ids:
        return False, f"The user still has the key from Step 2 ({step2}): delete it when the new one works."
    if len(ids) != 1:
        return False, f"The user has {len(ids)} keys: keep only the new one."
    if ids[0] != now:
        return False, "Your profile does not use the new key: call lesson.switch_profiles(...)."
    if cp.profile_arn(lesson) is None:
        return False, "The profile's key is refused: is it active?"
    said = f"rotated again: {mask_key_id(now)} replaced {step2}, and your profile uses it."
    if lesson.key is not None and now == lesson.key.access_key_id:
        return cp.earlier(said)
    return True, said[0].upper() + said[1:]
