"""Lesson 02, Create an IAM user: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
CHECKS = cp.Checks()


@CHECKS.rule("user_exists")
def _user_created(lesson: Lesson) -> Verdict:
    return cp.ok(cp.user_exists(lesson), f"{USER} exists.", f"{USER} was not found.",
                 "Run the create_user cell above.")


def _attached(lesson: Lesson) -> list[str]:
    if not cp.user_exists(lesson):
        return []
    got = lesson.client("iam").list_attached_user_policies(UserName=USER)["AttachedPolicies"]
    return [p["PolicyName"] for p in got]


@CHECKS.rule("read_only_attached")
def _read_only_attached(lesson: Lesson) -> Verdict:
    names = _attached(lesson)
    return cp.ok(names == ["IAMReadOnlyAccess"],
                 f"{USER} has exactly one policy: IAMReadOnlyAccess.",
                 f"{USER} has these policies: {', '.join(names) or 'none'}.",
                 "Run the attach_user_policy cell above; detach anything else.")


@CHECKS.exercise("tag_user")
def _tagged(lesson: Lesson) -> tuple[bool, str]:
    if not cp.user_exists(lesson):
        return False, f"{USER} does not exist yet: run Step 1 first."
    tags = lesson.client("iam").list_user_tags(UserName=USER)["Tags"]
    if {"Key": "project", "Value": "access-keys-lab"} in tags:
        return True, f"{USER} carries the tag project = access-keys-lab."
    return False, ("No tag project = access-keys-lab on the user yet. Call iam.tag_user(UserName=..., "
                   "Tags=[{\"Key\": \"project\", \"Value\": \"access-keys-lab\"}]).")
