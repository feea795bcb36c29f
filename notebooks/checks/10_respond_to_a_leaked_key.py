"""Lesson 10, Respond to a leaked key (the capstone): its checkpoint, step checks and quiz.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run. Each step check reads the sandbox's state
(and the incident's record of key IDs), so every correct way counts: boto3, the CLI in a cell or
a terminal, after a kernel restart. Each cheaper shortcut says what it broke.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labkit import checkpoints as cp, incident
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

CI = incident.CI_USER
LEE = incident.COLLEAGUE
INTRUDER = incident.INTRUDER_USER
CHECKS = cp.Checks()
Step = Callable[[Any, incident.Incident], "tuple[bool, str]"]


def _ci_signs_as(lesson: Lesson) -> str | None:
    """Whom the pipeline's profile signs as now (None: AWS refuses its key)."""
    return cp.profile_arn(lesson, CI)


def _ci_broken(lesson: Lesson, found: incident.Incident) -> str | None:
    """What is wrong with the pipeline's identity, in words (None: it works as ci-deployer)."""
    if not cp.user_exists(lesson, CI):
        return (f"{CI} is gone, and with it the pipeline: its profile signs as nobody. Deleting "
                "the user is not a rotation. Begin again with lesson.start_over().")
    arn = _ci_signs_as(lesson)
    if arn is None:
        return (f"The pipeline is down: AWS refuses the key in the profile [{CI}]. Give it a new "
                f"key of {CI} first (Step 1).")
    if not arn.endswith(f":user/{CI}"):
        return (f"The profile [{CI}] signs as {arn.rsplit(':', 1)[-1]}, not as {CI}: the "
                "pipeline would run with someone else's permissions. Put a key of "
                f"{CI} itself in it.")
    return None


def _rotated(lesson: Lesson, found: incident.Incident) -> tuple[bool, str]:
    broken = _ci_broken(lesson, found)
    if broken:
        return False, broken
    in_use = cp.profile_key_id(lesson, CI)
    if in_use == found.leaked_key_id:
        return False, (f"The pipeline still signs with the leaked key. Which key is in "
                       f"deploy.sh? (`!python -m labkit scan {found.repo}`, then compare the "
                       f"masked ID with iam.list_access_keys(UserName=\"{CI}\").) Create a new "
                       f"key of {CI}, and put it in the profile [{CI}].")
    return True, f"The pipeline signs as {CI} with a new key, not the leaked one."


def _revoked(lesson: Lesson, found: incident.Incident) -> tuple[bool, str]:
    broken = _ci_broken(lesson, found)
    if broken:
        return False, broken
    left = {k["AccessKeyId"]: k["Status"] for k in cp.keys(lesson, CI)}
    if cp.profile_key_id(lesson, CI) == found.leaked_key_id:
        return False, "Give the pipeline a new key first (Step 1): it still signs with the leaked one."
    if left.get(found.leaked_key_id) == "Active":
        return False, ("The leaked key is still active: whoever found it can still use it. "
                       "Deactivate it (iam.update_access_key(..., Status=\"Inactive\")).")
    if found.leaked_key_id in left:
        return False, ("The leaked key is inactive, and the pipeline still works: now delete it "
                       "(iam.delete_access_key(...)).")
    return True, "The leaked key is deleted, and the pipeline still works with its new key."


def _undone(lesson: Lesson, found: incident.Incident) -> tuple[bool, str]:
    if not cp.user_exists(lesson, LEE):
        return False, (f"{LEE} is gone: she is a colleague, not the intruder, and the intruder "
                       "only added a key to her user. Begin again with lesson.start_over().")
    lee = {k["AccessKeyId"]: k["Status"] for k in cp.keys(lesson, LEE)}
    if lee.get(found.colleague_key_id) != "Active":
        return False, (f"{LEE}'s own key is {lee.get(found.colleague_key_id, 'deleted').lower()}: "
                       "she uses it every day. Only the key the intruder made should go (its "
                       "CreateDate says which). Begin again with lesson.start_over().")
    broken = _ci_broken(lesson, found)
    if broken:
        return False, broken
    # What the intruder made that still works; the hint counts it, the trail tells what it is.
    left = [cp.user_exists(lesson, INTRUDER), found.planted_key_id in lee]
    if any(left):
        return False, (f"{sum(left)} thing(s) the leaked key made still exist. Read what it did: "
                       f"trail.events(lesson.lab, user=\"{CI}\"). Which requests did not come "
                       "from the pipeline, and what did they make?")
    return True, (f"Undone: the intruder's user {INTRUDER} and the key it made for {LEE} are "
                  f"gone; {LEE}'s own key and the pipeline work as before.")


def _step(check: Step, name: str) -> Callable[[Lesson], Any]:
    """An exercise check on the incident, saying "done in an earlier run" when it was."""
    def run(lesson: Lesson) -> Any:
        found = lesson.incident
        if found is None:
            return False, ("There is no incident in this sandbox (it runs only in the labkit "
                           "sandbox): run the Setup cells.")
        done, said = check(lesson, found)
        if done and name in lesson.notes.get("incident_done_at_start", ()):
            return cp.earlier(said)
        return done, said
    return run


STEPS: dict[str, Step] = {"rotate": _rotated, "revoke": _revoked, "undo": _undone}
for _name, _check in STEPS.items():
    CHECKS.exercise(_name)(_step(_check, _name))


@CHECKS.at_start
def _note_done(lesson: Lesson) -> None:
    """Which steps were done before this run, so their checks say "done in an earlier run"."""
    found = lesson.incident
    fresh = any(line.startswith(incident.SEEDED) for line in lesson.caught_up)
    lesson.notes["incident_done_at_start"] = () if found is None or fresh else tuple(
        name for name, check in STEPS.items() if check(lesson, found)[0])


@CHECKS.rule("ci_works")
def _ci_works(lesson: Lesson) -> Verdict:
    found = lesson.incident
    if found is None:
        return Verdict(True, "Skipped: the incident runs only in the labkit sandbox.")
    broken = _ci_broken(lesson, found)
    return cp.ok(broken is None, f"The pipeline works: the profile [{CI}] signs as {CI}.",
                 broken or "", "Run the Setup cells, or lesson.start_over().")


CHECKS.quiz("review", [
    ("A key the pipeline uses has leaked. What comes first?",
     ["Delete the key at once", "Give the pipeline a new key, then deactivate and delete the "
      "leaked one", "Delete the pipeline's user"], 1,
     "A new key first keeps the pipeline running; the leaked key goes seconds later."),
    ("Where do you see what a leaked key did?",
     ["In the credential report", "In CloudTrail (the activity trail): its user's requests, "
      "their source and time", "In the repository's history"], 1,
     "The credential report has only the last use; CloudTrail has every request."),
    ("Why is deleting the leaked key not enough?",
     ["It is enough", "What the key made (a user, more keys) outlives it"], 1,
     "An intruder makes a way back in first: users and keys that still work after the leak is "
     "closed."),
])
