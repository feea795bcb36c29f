"""Does this access key pair work? The key entry form's rule, with no widget in it.

Check what was typed (nothing goes to AWS while it cannot be right), ask STS whose key it is,
refuse root keys on real AWS (warn in the sandbox), record the lesson's checkpoints, and save the
pair as a named profile when asked. The secret is used once and never appears in a verdict.
"""

from __future__ import annotations

from typing import Any

from labkit import checks
from labkit.keys import (
    AccessKey,
    KeyFormatError,
    looks_like_secret,
    mask_key_id,
    mask_secret,
    validate_key_id,
    validate_secret,
)
from labkit.lab import Identity
from labkit.profiles import (
    ProfileNameError,
    RegionError,
    configure_profile,
    validate_profile_name,
    validate_region,
)
from labkit.verdicts import Verdict, failure

CHECKING = "Checking the key pair"
ROOT_REFUSED = Verdict(
    False, "These are the root user's access keys: the lab will not save or use them.",
    "Nothing was saved. Delete the root user's access keys in the IAM console (Security "
    "credentials), and enter an IAM user's keys.")
ROOT_WARNING = (" Warning: these are the root user's keys. The root user should have no access "
                "keys: delete them and use an IAM user's keys instead.")


def misplaced_secret(text: str | None, box: str) -> Verdict | None:
    """What to say when a secret is typed into the `box` meant for something else (else None)."""
    if not looks_like_secret(text):
        return None
    message = ("That looks like a secret access key, which belongs only in the Secret access key "
               "box.")
    if box == "access key ID":
        try:
            validate_key_id(text)
        except KeyFormatError as exc:
            if "swap" in str(exc):  # other messages may quote the start of the text
                message = str(exc)
    return Verdict(False, message, f"The {box} box was emptied so that the secret is not saved "
                   "with the notebook. Nothing was sent to AWS.")


def scrub(verdict: Verdict, secret: str) -> Verdict:
    """The verdict with any copy of `secret` masked (belt and braces: messages never echo it)."""
    secret = (secret or "").strip()
    if len(secret) < 8 or secret not in verdict.title + verdict.detail:
        return verdict
    masked = mask_secret(secret)
    return Verdict(verdict.ok, verdict.title.replace(secret, masked),
                   verdict.detail.replace(secret, masked), verdict.code)


def verify_key(lab: Any, key_id: str, secret: str, *, region: str = "us-east-1",
               profile: str | None = None, lesson: str | None = None) -> list[Verdict]:
    """Check a typed key pair with STS (and save it as profile `profile`): verdicts, last decisive.

    `lab` is the lab the key belongs to: its AWS (sandbox or real), and its CLI files. `profile`
    None saves nothing; any string, even empty, is the name to save under. With `lesson`, the
    checkpoints `key_verified` (and `profile_configured`) are recorded. Never raises."""
    try:
        verdicts = _verify(lab, key_id, secret, region, profile, lesson)
    except Exception as exc:  # noqa: BLE001 - a learner sees a plain-words line, not a traceback
        verdicts = [failure(exc, CHECKING)]
    return [scrub(v, secret) for v in verdicts]


def _verify(lab: Any, key_id: str, secret: str, region: str, profile: str | None,
            lesson: str | None) -> list[Verdict]:
    def record(ok: bool, *names: str) -> None:
        if lesson:
            for name in names:
                checks.record(lesson, name, ok)

    # A key that does not work fails both checkpoints; a typing mistake fails the one the check
    # answers (the last); only saving the profile can fail after the key works.
    both = ("key_verified",) if profile is None else ("key_verified", "profile_configured")
    try:
        key = AccessKey(validate_key_id(key_id), validate_secret(secret))
        region = validate_region(region)
        name = None if profile is None else validate_profile_name(profile)
    except (KeyFormatError, RegionError, ProfileNameError) as exc:
        record(False, both[-1])
        return [Verdict(False, str(exc), "Nothing was sent to AWS.")]
    try:
        got = lab.client_for(key, "sts").get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - AWS errors and network errors alike
        record(False, *both)
        return [failure(exc, CHECKING)]
    who = Identity(got.get("UserId", ""), got.get("Account", ""), got.get("Arn", ""))
    if who.is_root and not lab.simulated:
        # Real AWS: root keys unlock everything; the lab neither keeps nor uses them.
        record(False, *both)
        return [ROOT_REFUSED]
    detail = (f"Access key ID {mask_key_id(key.access_key_id)}; the secret was used once, then "
              "forgotten." + (ROOT_WARNING if who.is_root else ""))
    works = Verdict(True, f"This key pair works: it belongs to {who.name} ({who.arn}) in account "
                          f"{who.account}.", detail)
    record(True, "key_verified")
    if name is None:
        return [works]
    try:
        saved = configure_profile(name, key, region=region, backup=not lab.simulated,
                                  **lab.cli_files)
    except Exception as exc:  # noqa: BLE001 - a file we cannot write is explained, not raised
        record(False, "profile_configured")
        return [works, failure(exc, f"Saving profile {name!r}")]
    record(True, "profile_configured")
    return [works, Verdict(True, saved.message, f"Use it with `aws ... --profile {name}` or "
                                                f"boto3.Session(profile_name={name!r}).")]
