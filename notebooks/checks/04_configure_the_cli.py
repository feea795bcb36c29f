"""Lesson 04, Configure the AWS CLI: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

import configparser
import time
from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks, cli_steps
from labkit.checks import Verdict
from labkit.keys import AccessKey

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
CHECKS = cp.Checks()


@CHECKS.at_start
def _note_start(lesson: Lesson) -> None:
    # The CLI files changed before this: `aws configure` was typed in an earlier run.
    lesson.notes[cli_steps.STARTED] = time.time_ns()


@CHECKS.rule("cli_configured")
def _cli_configured(lesson: Lesson) -> Verdict:
    # Which profile holds the key saved in lesson 03, who wrote it, and does AWS answer to it.
    return cli_steps.verdict(lesson)


@CHECKS.rule("cli_identity")
def _cli_identity(lesson: Lesson) -> Verdict:
    # The CLI and boto3 read the same credentials and config files, the same way (botocore).
    arn = cp.profile_arn(lesson)
    return cp.ok(bool(arn) and str(arn).endswith(f":user/{USER}"),
                 f"The AWS CLI signs as {USER} with your profile.",
                 f"The profile {USER} signs as {arn or 'nobody (it was refused)'}.",
                 "Run the configure_cli cell above again.")


@CHECKS.rule("create_denied")
def _create_denied(lesson: Lesson) -> Verdict:
    user_iam = lesson.client("iam", profile=USER)
    return checks.refusal("AccessDenied", user_iam.create_user, UserName="not-allowed")


@CHECKS.rule("wrong_secret")
def _wrong_secret(lesson: Lesson) -> Verdict:
    key = lesson.key
    if key is None:
        return Verdict(False, "The lesson has no key pair to try.", "Run the Setup cells again.")
    wrong = AccessKey(key.access_key_id, key.reveal_secret()[::-1])
    sts = lesson.client("sts", credentials=wrong)
    return checks.refusal("SignatureDoesNotMatch", sts.get_caller_identity)


def _output(lesson: Lesson) -> str | None:
    """The profile's output format in the lab's config file (None when it cannot be read)."""
    config = configparser.RawConfigParser()
    try:
        config.read(lesson.lab.config_file)
    except configparser.Error:
        return None
    return config.get(f"profile {USER}", "output", fallback="")


@CHECKS.at_start
def _output_at_start(lesson: Lesson) -> None:
    lesson.notes["output_at_start"] = _output(lesson)


@CHECKS.exercise("output_table")
def _output_table(lesson: Lesson) -> tuple[bool, str] | cp.Earlier:
    output = _output(lesson)
    if output is None:
        return False, "The config file cannot be read; run Setup again."
    if output != "table":
        return False, (f"The profile {USER} has output = {output or '(not set)'}. Use "
                       f"`!aws configure set output table --profile {USER}`.")
    said = f"the profile {USER} answers in tables: output = table in config."
    if lesson.notes.get("output_at_start") == "table":
        return cp.earlier(said)
    return True, said[0].upper() + said[1:]
