"""Lesson 03, Create access keys: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks
from labkit.answers import plain
from labkit.checks import Verdict

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


@CHECKS.exercise("key_description")
def _key_described(lesson: Lesson) -> tuple[bool, str]:
    keys = {k["AccessKeyId"] for k in cp.keys(lesson)}
    if not keys:
        return False, f"{USER} has no access key: run Step 1 first."
    tags = lesson.client("iam").list_user_tags(UserName=USER)["Tags"]
    described = [t for t in tags if t["Key"] in keys and t["Value"].strip()]
    if described:
        return True, f"Your key has a description: {described[0]['Value']!r}."
    return False, ("No key has a description yet. The console keeps it as a user tag whose Key is "
                   "the access key ID: iam.tag_user(UserName=..., Tags=[{\"Key\": <the key ID>, "
                   "\"Value\": \"...\"}]).")
