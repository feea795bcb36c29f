"""moto's STS backend, issuing credentials from a cryptographic source as AWS does."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from moto.sts.models import STSBackend

from labkit.sandbox.aws_iam.models import new_secret, unique_id


def session_token() -> str:
    """A session token: opaque, long, base64 (AWS's are several hundred characters)."""
    return "IQoJb3JpZ2luX2Vj" + base64.b64encode(secrets.token_bytes(300)).decode()


class Credentials:
    """Temporary credentials as GetSessionToken and GetFederationToken hand them out."""

    def __init__(self, expiration: Any) -> None:
        self.access_key_id = unique_id("ASIA")
        self.secret_access_key = new_secret()
        self.session_token = session_token()
        self.expiration = expiration


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

    def issue(self, expiration: Any) -> Credentials:
        """Fresh credentials for a GetSessionToken / GetFederationToken answer."""
        credentials = Credentials(expiration)
        from labkit.sandbox.account_state import remember

        remember(credentials.secret_access_key, credentials.session_token)
        return credentials
