"""Temporary credentials from GetSessionToken and GetFederationToken, signing as AWS lets them.

Credentials from GetSessionToken act as the IAM user who asked for them, with the user's
permissions; they cannot call IAM (without MFA, which the sandbox does not model) nor STS other
than AssumeRole and GetCallerIdentity. Credentials from GetFederationToken act as the federated
user `arn:aws:sts::ACCOUNT:federated-user/NAME` with what both the user's policies and the
session policy allow (nothing without a session policy); they cannot call IAM, nor STS other than
GetCallerIdentity. (IAM User Guide, "Compare AWS STS credentials"; STS API reference.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.sandbox import moto_adapter, state

# STS operations each kind of session may call (the rest: AccessDenied).
SESSION_STS = {"session": ("sts:AssumeRole", "sts:GetCallerIdentity"),
               "federated": ("sts:GetCallerIdentity",)}
SESSION_CREDENTIALS = "Cannot call {operation} with session credentials"


@dataclass
class Session:
    """Who a set of temporary credentials acts as, and until when."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: Any
    user_name: str
    user_id: str
    federated: str | None = None  # the federated user's name (GetFederationToken)
    policy: str | None = None  # the session policy (GetFederationToken)

    @property
    def kind(self) -> str:
        return "federated" if self.federated is not None else "session"

    @property
    def arn(self) -> str:
        if self.federated is not None:
            return f"arn:aws:sts::{state.ACCOUNT}:federated-user/{self.federated}"
        return f"arn:aws:iam::{state.ACCOUNT}:user/{self.user_name}"

    @property
    def caller_id(self) -> str:
        """GetCallerIdentity's UserId: the user's ID, or ACCOUNT:NAME for a federated user."""
        return f"{state.ACCOUNT}:{self.federated}" if self.federated is not None else self.user_id


class SessionCaller:
    """moto's view of the caller for a request signed with session credentials."""

    def __init__(self, session: Session, account_id: str, partition: str) -> None:
        self.session = session
        self.account_id = account_id
        self.partition = partition

    @property
    def arn(self) -> str:
        return self.session.arn

    def create_credentials(self) -> Any:
        from botocore.credentials import Credentials

        s = self.session
        return Credentials(s.access_key_id, s.secret_access_key, s.session_token)

    def collect_policies(self) -> list[Any]:
        """The policies of the user the session belongs to."""
        from moto.iam.access_control import IAMUserAccessKey

        view = IAMUserAccessKey.__new__(IAMUserAccessKey)
        view.account_id, view.partition = self.account_id, self.partition
        s = self.session
        moto_adapter.accept_user_key(view, s.user_name, s.access_key_id, s.secret_access_key)
        return list(view.collect_policies())


def refusal(caller: Any, action: str) -> tuple[str, str] | None:
    """('token' | 'denied', message) when a session may not call `action` at all, else None."""
    if not isinstance(caller, SessionCaller):
        return None
    if action.startswith("iam:"):
        return "token", "The security token included in the request is invalid."
    if action.startswith("sts:") and action not in SESSION_STS[caller.session.kind]:
        return "denied", SESSION_CREDENTIALS.format(operation=action.split(":", 1)[1])
    return None
