"""moto's STS backend, issuing credentials from a cryptographic source as AWS does."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from moto.sts.models import STSBackend

from labkit.sandbox.aws_iam.models import access_key_id, new_secret
from labkit.sandbox.aws_sts.sessions import Session


def session_token() -> str:
    """A session token: opaque, long, base64 (AWS's are several hundred characters)."""
    return "IQoJb3JpZ2luX2Vj" + base64.b64encode(secrets.token_bytes(300)).decode()


class SandboxSTSBackend(STSBackend):
    """STS as AWS answers it where moto's own backend differs."""

    def assume_role(self, *args: Any, **kwargs: Any) -> Any:
        role = super().assume_role(*args, **kwargs)
        # moto's secret and token come from `random`; AWS's cannot be guessed.
        role.secret_access_key = role.access_key.secret_access_key = new_secret()
        role.session_token = session_token()
        from labkit.sandbox.account_state import remember

        remember(role.secret_access_key, role.session_token)
        return role

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.sessions: dict[str, Session] = {}  # access key ID -> GetSessionToken's answers

    def issue(self, expiration: Any, user_name: str, user_id: str, federated: str | None = None,
              policy: str | None = None) -> Session:
        """Fresh credentials for a GetSessionToken / GetFederationToken answer, which then sign
        as the user (or the federated user) they were issued to."""
        made = Session(access_key_id("ASIA"), new_secret(), session_token(), expiration, user_name,
                       user_id, federated, policy)
        self.sessions[made.access_key_id] = made
        from labkit.sandbox.account_state import remember

        remember(made.secret_access_key, made.session_token)
        return made

    def get_caller_identity(self, access_key_id: str, region: str) -> tuple[str, str, str]:
        session = self.sessions.get(access_key_id)
        if session is not None:
            return session.caller_id, session.arn, self.account_id
        return super().get_caller_identity(access_key_id, region)  # type: ignore[no-any-return]
