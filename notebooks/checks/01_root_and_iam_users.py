"""Lesson 01, The root user and IAM users: its checkpoints, exercise checks and quiz.

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


@CHECKS.rule("whoami")
def _whoami(lesson: Lesson) -> Verdict:
    me = lesson.lab.whoami()
    return cp.ok(not me.is_root, f"You are the IAM user {me.name}, not the root user.",
                 "You are signed in as the root user.",
                 "Use an IAM user for everyday work, as the tutorial does.")


@CHECKS.rule("root_has_no_keys")
def _root_has_no_keys(lesson: Lesson) -> Verdict:
    summary = lesson.client("iam").get_account_summary()["SummaryMap"]
    return cp.ok(summary.get("AccountAccessKeysPresent", 0) == 0,
                 "The root user has no access keys. Keep it that way.",
                 "The root user has access keys.",
                 "Delete them in the console (Security credentials of the root user).")


def _min_length(lesson: Lesson) -> int | None:
    got = cp.unless_missing(lesson.client("iam").get_account_password_policy)
    return None if got is None else int(got["PasswordPolicy"].get("MinimumPasswordLength", 0))


@CHECKS.at_start
def _policy_at_start(lesson: Lesson) -> None:
    lesson.notes["length_at_start"] = _min_length(lesson)


@CHECKS.exercise("password_policy")
def _password_policy(lesson: Lesson) -> tuple[bool, str] | cp.Earlier:
    length = _min_length(lesson)
    if length is None:
        return False, ("The account has no password policy yet. Call "
                       "iam.update_account_password_policy(...) with MinimumPasswordLength=14.")
    if length < 14:
        return False, (f"The policy asks for {length} characters; CIS 1.8 (benchmark v1.4.0-v4.0.1) asks for at least 14 "
                       "(MinimumPasswordLength=14).")
    said = f"the account's passwords must be at least {length} characters long (CIS 1.8)."
    at_start = lesson.notes.get("length_at_start")
    redone = cp.called_since(lesson, "UpdateAccountPasswordPolicy", lesson.notes.get("started", 0))
    return cp.done(said, before=at_start is not None and at_start >= 14 and not redone)


# The quiz: (question, choices, index of the answer, why), kept out of the learner's cells.
CHECKS.quiz("quiz", [
    ("Who should have access keys for everyday CLI work?",
     ["The root user", "An IAM user with only the permissions it needs", "Nobody"], 1,
     "An IAM user with least privilege; root keys would give away the whole account."),
    ("Which ARN belongs to the root user?",
     ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/root"], 0,
     "Root's ARN ends in :root; IAM users have :user/NAME."),
    ("Can a policy limit what the root user does?",
     ["Yes, any IAM policy attached in the account",
      "No IAM policy in the account; only an AWS Organizations SCP, for a member account",
      "Nothing can, ever"], 1,
     "IAM policies never limit root; a service control policy of AWS Organizations limits the "
     "root user of a member account (not of the management account)."),
])
