"""moto's STS response class: fresh credentials each call, AWS's members and messages."""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSValidationError
from moto.sts.responses import TokenResponse

from labkit.sandbox.aws_sts.models import SandboxSTSBackend
from labkit.sandbox.unmodelled import AnswersUnmodelled

MAX_DURATION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


class SandboxTokenResponse(AnswersUnmodelled, TokenResponse):
    """STS's answers as AWS shapes them."""

    def _fresh(self, result: ActionResult, federated: str | None = None) -> ActionResult:
        answer: Any = result.result
        backend: SandboxSTSBackend = self.backend  # type: ignore[assignment]
        iam = iam_backends[self.current_account][self.partition]
        key = iam.access_keys.get(self.get_access_key())
        user = iam.get_user(key.user_name) if key is not None and key.user_name else None
        policy = self._get_param("Policy")
        session = backend.issue(answer["Credentials"]["Expiration"],
                                user.name if user else "", user.id if user else "",
                                federated, policy)
        answer["Credentials"] = {
            "AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token, "Expiration": session.expiration}
        if policy is None and federated is None:
            answer.pop("PackedPolicySize", None)  # AWS sends it only for a session policy ...
        elif policy is None:
            answer["PackedPolicySize"] = 0  # ... but GetFederationToken's answer always has it
        return result

    def get_session_token(self) -> ActionResult:
        result = super().get_session_token()
        return self._fresh(result)

    def get_federation_token(self) -> ActionResult:
        result = super().get_federation_token()
        return self._fresh(result, federated=self._get_param("Name"))

    def assume_role(self) -> ActionResult:
        duration = self._get_int_param("DurationSeconds", 3600)
        try:
            role = iam_backends[self.current_account][self.partition].get_role_by_arn(
                self._get_param("RoleArn"))
        except NotFoundException:
            role = None
        if role is not None and duration > int(role.max_session_duration or 3600):
            raise STSValidationError(MAX_DURATION)
        result = super().assume_role()
        if self._get_param("Policy") is None:
            answer: Any = result.result
            answer.pop("PackedPolicySize", None)
        return result

