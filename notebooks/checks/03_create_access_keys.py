"""Lesson 03, Create access keys: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks
from labkit.answers import plain
from labkit.checks import Verdict
from labkit.keys import mask_key_id

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
CHECKS = cp.Checks()


@CHECKS.rule("key_created")
def _key_created(lesson: Lesson) -> Verdict:
    made = lesson.last_answer("CreateAccessKey")
    key = (made or {}).get("AccessKey", {})
    live = {k["AccessKeyId"]: k["Status"] for k in cp.keys(lesson)}
    ok = key.get("AccessKeyId", "").startswith("AKIA") and live.get(key.get("AccessKeyId")) == "Active"
    return cp.ok(ok, f"A new active access key was created for {USER}.",
                 "No active key was created.", "Run the create_access_key cell above.")


@CHECKS.rule("secret_masked")
def _secret_masked(lesson: Lesson) -> Verdict:
    made = lesson.last_answer("CreateAccessKey")
    if not made:
        return Verdict(False, "No key was created yet.", "Run Step 1 first.")
    secret = plain(made["AccessKey"]["SecretAccessKey"])
    shown = repr(made) + str(made) + f"{made['AccessKey']['SecretAccessKey']}"
    return cp.ok(secret not in shown, "The secret never appears when the key is displayed.",
                 "The secret appeared in a display!", "Report this as a bug in labkit.")


@CHECKS.rule("limit_exceeded")
def _third_key_refused(lesson: Lesson) -> Verdict:
    iam = lesson.lab.client("iam")  # not the learner's client: its answers stay the learner's
    made = []
    while len(cp.keys(lesson)) < 2:  # the limit shows only once the user has its two keys
        made.append(iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"])
    verdict = checks.refusal("LimitExceeded", iam.create_access_key, UserName=USER)
    for key_id in made:
        iam.delete_access_key(UserName=USER, AccessKeyId=key_id)
    return verdict


DESCRIPTION = "CLI key for the tutorial"  # what the exercise asks for, exactly


def _this_key(lesson: Lesson) -> str | None:
    """The key the exercise is about: the one Step 1 made (after a kernel restart, the one the
    lab saved from it)."""
    made = lesson.last_answer("CreateAccessKey") or {}
    key_id = made.get("AccessKey", {}).get("AccessKeyId")
    return key_id or (lesson.key.access_key_id if lesson.key else None)


def _descriptions(lesson: Lesson) -> dict[str, str]:
    tags = lesson.client("iam").list_user_tags(UserName=USER)["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


@CHECKS.at_start
def _descriptions_at_start(lesson: Lesson) -> None:
    lesson.notes["described_at_start"] = _descriptions(lesson)


@CHECKS.exercise("key_description")
def _key_described(lesson: Lesson) -> tuple[bool, str] | cp.Earlier:
    live = {k["AccessKeyId"] for k in cp.keys(lesson)}
    this = _this_key(lesson)
    if not live or this not in live:
        return False, f"{USER} has no key from Step 1: run Step 1 first."
    tags = _descriptions(lesson)
    before = lesson.notes.get("described_at_start", {})
    shown = mask_key_id(this)
    if this in tags:
        if tags[this] != DESCRIPTION:
            return False, (f"Your key {shown} is described as {tags[this]!r}; the exercise asks "
                           f"for exactly {DESCRIPTION!r} as the tag's Value.")
        if before.get(this) == DESCRIPTION:
            return cp.earlier(f"your key {shown} is described as {DESCRIPTION!r}.")
        return True, f"Your key {shown} is described as {DESCRIPTION!r}, as the console does it."
    for other in sorted(live - {this}):
        if tags.get(other) == DESCRIPTION and before.get(other) == DESCRIPTION:
            return cp.earlier(f"your earlier key {mask_key_id(other)} is described as "
                              f"{DESCRIPTION!r}. The key Step 1 made now, {shown}, has no "
                              "description: describe it too if you keep it.")
        if other in tags:
            return False, (f"The description is on your other key {mask_key_id(other)}, not on "
                           f"the key Step 1 made ({shown}): the tag's Key must be "
                           "response[\"AccessKey\"][\"AccessKeyId\"].")
    return False, (f"Your key {shown} has no description yet. The console keeps it as a user tag "
                   "whose Key is the access key ID: iam.tag_user(UserName=..., Tags=[{\"Key\": "
                   f"<the key ID>, \"Value\": \"{DESCRIPTION}\"}}]).")
