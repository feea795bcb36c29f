"""AWS validates a request's parameters before it asks whether the caller may make it: a
malformed RoleArn, session name or policy ARN is a ValidationError (400), whoever calls."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.exceptions import HTTPException
from xmltodict import unparse

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")
_VERSION = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")
_VERSION_ACTIONS = ("iam:GetPolicyVersion", "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]*$")
_SESSION_PATTERN = r"[\w+=,.@-]*"
_POLICY_ARN_ACTIONS = ("iam:AttachUserPolicy", "iam:AttachRolePolicy", "iam:AttachGroupPolicy",
                       "iam:DetachUserPolicy", "iam:DetachRolePolicy", "iam:DetachGroupPolicy",
                       "iam:GetPolicy", "iam:DeletePolicy", "iam:GetPolicyVersion",
                       "iam:ListPolicyVersions", "iam:CreatePolicyVersion",
                       "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion")


class AwsValidationError(HTTPException):
    """A ValidationError (400) in AWS's query-protocol envelope."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.description = unparse({"ErrorResponse": {"Error": {
            "Type": "Sender", "Code": "ValidationError", "Message": message}}},
            full_document=True)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        """What moto's own errors send: the code and an XML body."""
        return [("X-Amzn-ErrorType", "ValidationError"), ("Content-Type", "application/xml")]


def _value(data: Any, name: str) -> str | None:
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


# STS's DurationSeconds ranges (botocore's model: 900 up to these).
_MAX_DURATION = {"sts:AssumeRole": 43200, "sts:GetSessionToken": 129600,
                 "sts:GetFederationToken": 129600}


def _duration(action: str, data: Any) -> str | None:
    text = _value(data, "DurationSeconds")
    if action not in _MAX_DURATION or text is None or not text.lstrip("-").isdigit():
        return None
    seconds = int(text)
    if seconds < 900:
        return (f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
                "satisfy constraint: Member must have value greater than or equal to 900")
    if seconds > _MAX_DURATION[action]:
        return (f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value less than or equal to "
                f"{_MAX_DURATION[action]}")
    return None


def problem(action: str, data: Any) -> str | None:
    """AWS's ValidationError message for this request, or None when its parameters are fine."""
    duration = _duration(action, data)
    if duration is not None:
        return duration
    if action == "sts:AssumeRole":
        arn, session = _value(data, "RoleArn"), _value(data, "RoleSessionName")
        if session is not None and len(session) > 64:
            return (f"1 validation error detected: Value '{session}' at 'roleSessionName' failed "
                    "to satisfy constraint: Member must have length less than or equal to 64")
        if session is not None and not _SESSION_NAME.match(session):
            return (f"1 validation error detected: Value '{session}' at 'roleSessionName' failed "
                    f"to satisfy constraint: Member must satisfy regular expression pattern: "
                    f"{_SESSION_PATTERN}")
        if arn is not None and not _ROLE_ARN.match(arn):
            return f"{arn} is invalid"
    if action == "sts:GetFederationToken":
        name, policy = _value(data, "Name"), _value(data, "Policy")
        if name is not None and not _SESSION_NAME.match(name):
            return (f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                    f"constraint: Member must satisfy regular expression pattern: "
                    f"{_SESSION_PATTERN}")
        if policy is not None and len(policy) > 2048:
            return (f"1 validation error detected: Value '{policy}' at 'policy' failed to "
                    "satisfy constraint: Member must have length less than or equal to 2048")
    if action in _POLICY_ARN_ACTIONS:
        arn = _value(data, "PolicyArn")
        if arn is not None and not _POLICY_ARN.match(arn):
            return f"ARN {arn} is not valid."
    version = _value(data, "VersionId")
    if action in _VERSION_ACTIONS and version is not None and not _VERSION.fullmatch(version):
        # Recorded from AWS: this message does not repeat the value.
        return ("1 validation error detected: Value at 'versionId' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {_VERSION.pattern}")
    return None


def validate(action: str, data: Any) -> None:
    """Raise AWS's ValidationError when the request's parameters are malformed."""
    message = problem(action, data)
    if message is not None:
        raise AwsValidationError(message)
