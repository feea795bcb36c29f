"""Checkpoints (a green line when right; what to do when not) and AWS errors in plain words."""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.sandbox.state import read_json, write_private

PROGRESS = "progress.json"

# AWS error code -> (what it means, what to do), in the words a learner needs.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "AccessDenied": (
        "AWS knows who you are, but your policies do not allow this action.",
        (
            "That is least privilege at work. Use an identity whose policy allows it, or ask an "
            "administrator to grant only the permission you need."
        ),
    ),
    "SignatureDoesNotMatch": (
        "The access key ID exists, but the request was signed with the wrong secret access key.",
        (
            "Copy the secret again from where you saved it. If it is lost, it cannot be shown "
            "again: create a new key pair and delete the old one."
        ),
    ),
    "InvalidClientTokenId": (
        (
            "AWS does not recognise this access key ID: it was deleted, deactivated, or never "
            "existed in this account."
        ),
        (
            "Check the key's status on the user's Security credentials tab (list_access_keys). "
            "Use an active key, or create a new one."
        ),
    ),
    "LimitExceeded": (
        "An IAM user can have at most two access keys, and this user already has two.",
        (
            "Delete (or first deactivate, then delete) the key you no longer use, then create the "
            "new one. Two keys exist so that you can rotate without downtime."
        ),
    ),
    "EntityAlreadyExists": (
        "Something with this name already exists in the account (did this cell run before?).",
        "If it is the one you made, carry on with the next step. To start the lesson over, run "
        "its Setup cells again. Otherwise pick another name.",
    ),
    "NoSuchEntity": (
        "There is no such user, key, role or policy in this account (maybe already deleted).",
        "Check the name for typos, or list what exists (list_users, list_access_keys).",
    ),
    "DeleteConflict": (
        (
            "AWS will not delete a user while something is still attached to it (keys, policies, "
            "a password, MFA devices, group memberships...)."
        ),
        (
            "Delete the user's access keys and other credentials, detach its policies, then delete "
            "the user (lesson 09 shows that order)."
        ),
    ),
    "ExpiredToken": (
        "These temporary credentials have expired.",
        "Ask for new ones (assume the role again). Expiry is what makes them safer than keys.",
    ),
    "InvalidAccessKeyId": (
        "AWS does not recognise this access key ID.",
        "Check you copied the whole ID, and that the key is still active.",
    ),
    "ValidationError": (
        "AWS rejected a value in the request (a name too long, a character not allowed...).",
        "Read the message for which value, fix it and try again.",
    ),
    "ReportInProgress": (
        "The credential report is still being generated.",
        "Wait a moment and ask again (labkit waits for you).",
    ),
}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a checkpoint: ok or not, one line, and what it means or what to do."""

    ok: bool
    title: str
    detail: str = ""
    code: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        mark = "✅" if self.ok else "❌"
        code = f" [{self.code}]" if self.code else ""
        return f"{mark} {self.title}{code}" + (f"\n   {self.detail}" if self.detail else "")

    __str__ = __repr__

    def _repr_html_(self) -> str:
        colour, bg, mark = ("#1b5e20", "#e8f5e9", "✅") if self.ok else ("#b71c1c", "#ffebee", "❌")
        code = f" <code>{html.escape(self.code)}</code>" if self.code else ""
        detail = f"<div style='margin-left:1.6em'>{html.escape(self.detail)}</div>" \
            if self.detail else ""
        return (f"<div class='labkit-check' style='background:{bg};border-left:4px solid {colour};"
                f"padding:4px 8px;margin:2px 0'><b style='color:{colour}'>{mark} "
                f"{html.escape(self.title)}</b>{code}{detail}</div>")


@dataclass(frozen=True)
class Explanation:
    """An AWS error, said plainly."""

    code: str
    message: str
    meaning: str
    what_to_do: str

    def __str__(self) -> str:
        return f"{self.code}: {self.meaning} {self.what_to_do}"


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def explain(error: BaseException) -> Explanation:
    """Plain words for an AWS error (or any other error the lab can meet)."""
    code = error_code(error)
    message = getattr(error, "response", {}).get("Error", {}).get("Message", "") if code else ""
    if code in EXPLANATIONS:
        meaning, todo = EXPLANATIONS[code]
        return Explanation(code, message, meaning, todo)
    if code:
        return Explanation(code, message, f"AWS refused the request: {message}",
                           "Read the message above; the AWS documentation for this error "
                           "code says more.")
    name = type(error).__name__
    if "EndpointConnection" in name or "ConnectionClosed" in name:
        return Explanation(name, str(error), "The lab could not reach its AWS endpoint.",
                           "Run the lesson's Setup cell again; it restarts the sandbox if needed.")
    if "NoCredentials" in name or "PartialCredentials" in name:
        return Explanation(name, str(error), "No (or incomplete) credentials were found.",
                           "Configure a profile first (lesson 04) or pass a key pair.")
    return Explanation(name, str(error), str(error), "Check the value you gave and try again.")


def failure(error: BaseException, doing: str) -> Verdict:
    """A red line for an error met while `doing` something, with its plain-words explanation."""
    why = explain(error)
    return Verdict(False, f"{doing} failed: {why.meaning}", why.what_to_do,
                   code=why.code if error_code(error) else None)


def record(lesson: str, name: str, ok: bool, *, home: Path | None = None,
           now: datetime | None = None) -> None:
    """Keep a checkpoint's result in LABKIT_HOME/progress.json for the class progress view."""
    from labkit.session import settings

    home = home or settings().home
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = read_json(home / PROGRESS) or {}
        data.setdefault("learner", settings().learner)
        lessons = data.setdefault("lessons", {})
        lessons.setdefault(lesson, {})[name] = {"ok": bool(ok), "time": when}
        data["updated"] = when
        write_private(home / PROGRESS, data)
    except OSError:
        pass  # progress is a convenience for instructors; a lesson never fails over it


def read_progress(home: Path) -> dict[str, Any] | None:
    """A learner's recorded checkpoints, or None when there are none (or they cannot be read)."""
    if not os.access(home / PROGRESS, os.R_OK):
        return None
    return read_json(home / PROGRESS)


def check(lesson: str, name: str, ok: bool, passed: str, failed: str, todo: str = "") -> Verdict:
    """A checkpoint: record it and say, in one line, what is right or what is wrong."""
    record(lesson, name, ok)
    return Verdict(True, passed) if ok else Verdict(False, failed, todo)


def expect_error(lesson: str, name: str, code: str, call: Callable[..., Any], *args: Any,
                 **kwargs: Any) -> Verdict:
    """Run `call`, expecting AWS to refuse it with `code`: a passing check that explains why."""
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every outcome is reported as a verdict
        got = error_code(exc)
        if got == code:
            record(lesson, name, True)
            why = explain(exc)
            return Verdict(True, f"AWS refused, as expected: {why.meaning}",
                           f"{why.message} — {why.what_to_do}" if why.message else why.what_to_do,
                           code=code)
        record(lesson, name, False)
        return failure(exc, f"Expected {code}, but the call")
    record(lesson, name, False)
    return Verdict(False, f"Expected AWS to refuse with {code}, but the call succeeded.",
                   "Check the setup cells above ran, then run this cell again.")
