"""What the sandbox's account holds besides moto's models: the root user's key, when the account
was made, the credential report's columns, and a digest of every secret it issued (shared by the
fidelity layer and the IAM/STS backends, below both)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)

# The simulated root user's access key (a lesson can plant one to show CIS 1.4); None = no key.
ROOT_KEY: dict[str, Any] = {"active": None, "created": None, "last_used": None}
ACCOUNT_CREATED = datetime.now(UTC).replace(microsecond=0)

# SHA-256 of every secret and session token the sandbox issued: lets a test prove that none of
# them appears in a saved notebook, without the sandbox keeping the secrets themselves.
ISSUED: set[str] = set()

# What hangs off a user and stops DeleteUser (DeleteConflict), with AWS's words for each.
USER_ATTACHMENTS = (
    ("password", "must delete login profile"),
    ("access_keys", "must delete access keys"),
    ("signing_certificates", "must delete signing certificates"),
    ("ssh_public_keys", "must delete SSH public keys"),
    ("service_specific_credentials", "must delete service specific credentials"),
    ("mfa_devices", "must delete MFA device"),
    ("policies", "must delete policies"),
    ("managed_policies", "must detach all policies"),
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def remember(*secrets: str | None) -> None:
    """Keep the digest of each secret or session token the sandbox issued."""
    ISSUED.update(_digest(secret) for secret in secrets if secret)


def issued(candidates: list[str]) -> list[int]:
    """Which of `candidates` are secrets (or session tokens) this sandbox issued."""
    return [i for i, c in enumerate(candidates) if _digest(c) in ISSUED]


def reword(error: Any, message: str) -> None:
    """Give a moto REST error AWS's message (the XML body is built in its constructor)."""
    from xmltodict import unparse

    error.message = message
    error.description = unparse({"ErrorResponse": {"Errors": {"Error": {
        "Code": error.error_type, "Message": message, "Type": "Sender"}}}}, full_document=True)
