"""Lesson 07, Prefer IAM roles: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit import checkpoints as cp, checks
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

ROLE = cp.ROLE
CHECKS = cp.Checks()


@CHECKS.rule("temporary_credentials")
def _temporary_credentials(lesson: Lesson) -> Verdict:
    answer = lesson.last_answer("AssumeRole") or {}
    creds = answer.get("Credentials", {})
    ok = str(creds.get("AccessKeyId", "")).startswith("ASIA") and bool(creds.get("SessionToken")) \
        and creds.get("Expiration") is not None
    return cp.ok(ok, "Temporary credentials: an ASIA key ID, a session token, and an expiry time.",
                 "These are not temporary credentials.", "Run the assume_role cell again.")


@CHECKS.rule("credentials_expired")
def _credentials_expired(lesson: Lesson) -> Verdict:
    if not lesson.lab.simulated:
        return Verdict(True, "Skipped on real AWS: its clock cannot be moved. These credentials "
                             "stop working by themselves at their Expiration time.")
    skipped = cp.skip_without(lesson, "credentials-expire", "ExpiredToken")
    if skipped:
        return skipped
    answer = lesson.last_answer("AssumeRole") or {}
    if "Credentials" not in answer:
        return Verdict(False, "No temporary credentials yet.", "Run Step 2 (assume_role) first.")
    expires = answer["Credentials"]["Expiration"]
    if lesson.lab.now() < expires:
        return Verdict(False, f"These credentials are still valid until {expires:%H:%M:%S} UTC "
                              "(sandbox time).",
                       'Move the clock past it first: lesson.advance_clock("20m").')
    sts = lesson.client("sts", credentials=answer["Credentials"])
    return checks.refusal("ExpiredToken", sts.get_caller_identity)


@CHECKS.exercise("assumed_role_arn")
def _assumed_role_arn(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.lab.simulated or lesson.lab.sandbox is None or not lesson.lab.sandbox.labkit:
        return False, "This check reads the labkit sandbox's trail: run it in the sandbox."
    events = lesson.lab.sandbox.admin("GET", "trail?since=0")["events"]
    assumed = [e for e in events if e["event"] == "AssumeRole" and not e["error"]
               and e["params"].get("RoleSessionName") == "exercise-07"]
    if not assumed:
        return False, ("AWS has not seen an AssumeRole with RoleSessionName=\"exercise-07\" yet: "
                       "call user_sts.assume_role(...) with that session name.")
    used = [e for e in events if e["event"] == "GetCallerIdentity" and not e["error"]
            and str(e["access_key_id"]).startswith("ASIA") and e["time"] >= assumed[-1]["time"]]
    if not used:
        return False, ("You assumed the role; now ask who you are with its credentials: "
                       "lesson.client(\"sts\", credentials=...).get_caller_identity()[\"Arn\"].")
    return True, f"You signed as the assumed role {ROLE}, session exercise-07."
