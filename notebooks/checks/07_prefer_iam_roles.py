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


SESSION = "exercise-07"


@CHECKS.exercise("assumed_role_arn")
def _assumed_role_arn(lesson: Lesson) -> tuple[bool, str] | cp.Earlier:
    if not cp.has_trail(lesson):
        return False, "This check reads the labkit sandbox's trail: run it in the sandbox."
    started = lesson.notes.get("started", 0.0)
    events = lesson.lab.sandbox.admin("GET", "trail?since=0")["events"]
    mine = f":assumed-role/{ROLE}/{SESSION}"
    signed = [e for e in events if e["event"] == "GetCallerIdentity" and not e["error"]
              and str(e.get("session", "")).endswith(mine)]
    if any(e["time"] >= started for e in signed):
        return True, f"You signed as the assumed role {ROLE}, session {SESSION}."
    assumed = [e for e in events if e["event"] == "AssumeRole" and not e["error"]
               and e["params"].get("RoleSessionName") == SESSION and e["time"] >= started]
    if not assumed:
        if signed:
            return cp.earlier(f"you signed as the assumed role {ROLE}, session {SESSION}.")
        return False, (f"AWS has not seen an AssumeRole with RoleSessionName=\"{SESSION}\" in this "
                       "run yet: call user_sts.assume_role(...) with that session name.")
    others = sorted({e["session"].rsplit("/", 1)[-1] for e in events
                     if e["event"] == "GetCallerIdentity" and not e["error"]
                     and e.get("session") and e["time"] >= assumed[-1]["time"]})
    if others:
        return False, (f"Your call was signed by the session {others[-1]!r}, not {SESSION!r}: "
                       "pass the Credentials that assume_role(...) with the new session name "
                       "returned to lesson.client(\"sts\", credentials=...).")
    return False, ("You assumed the role; now ask who you are with its credentials: "
                   "lesson.client(\"sts\", credentials=...).get_caller_identity()[\"Arn\"].")
