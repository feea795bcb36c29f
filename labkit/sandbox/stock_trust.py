"""Same-account trust on a stock moto server.

On AWS, a user named in a role's trust policy (same account) may assume the role with no identity
policy of its own: the trust policy alone grants it. Stock moto demands an identity policy too, so
lesson 07's `sts.assume_role(...)` would be refused there. On such a server, a botocore hook on
labkit's IAM clients adds that identity policy when a role is created, says so once, and removes
it again with the role. labkit's own sandbox needs none of this (fidelity fix `same-account-trust`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

NOTICE = ("This stock moto server, unlike AWS, wants an identity policy before a user may assume "
          "a role that trusts it by name: the lab added one to {users} ({policy}).")


def policy_name(role_name: str) -> str:
    """The inline policy the hook gives each trusted user (IAM allows 128 characters)."""
    return f"labkit-stock-moto-assume-{role_name}"[:128]


def trusted_users(trust: Any, account: str) -> list[str]:
    """The names of the same-account users a trust policy lets assume the role."""
    try:
        doc = json.loads(trust) if isinstance(trust, str) else trust
        statements = doc.get("Statement", [])
    except (ValueError, AttributeError):
        return []
    pattern = re.compile(rf"^arn:aws:iam::{account}:user/(?:.*/)?([^/]+)$")
    users: list[str] = []
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        if "sts:AssumeRole" not in ([actions] if isinstance(actions, str) else actions):
            continue
        principal = st.get("Principal", {})
        arns = principal.get("AWS", []) if isinstance(principal, dict) else []
        for arn in [arns] if isinstance(arns, str) else arns:
            match = pattern.match(str(arn))
            if match and match.group(1) not in users:
                users.append(match.group(1))
    return users


class TrustShim:
    """The hooks for one stock moto server (said once per process)."""

    def __init__(self, account: str, admin: Callable[[], Any]) -> None:
        self.account = account
        self.admin = admin  # a factory: the console identity's IAM client, without these hooks
        self.said = False

    def remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """provide-client-params: keep the role and its trust for after the call."""
        context["labkit_role"] = (params.get("RoleName"), params.get("AssumeRolePolicyDocument"))

    def grant(self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any],
              **_: Any) -> None:
        """after-call CreateRole: give each trusted user the identity policy moto wants."""
        role_name, trust = context.get("labkit_role") or (None, None)
        if getattr(http_response, "status_code", 500) >= 300 or not role_name:
            return
        role_arn = parsed.get("Role", {}).get("Arn")
        users = trusted_users(trust, self.account)
        if not role_arn or not users:
            return
        allow = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]})
        iam = self.admin()
        for user in users:
            iam.put_user_policy(UserName=user, PolicyName=policy_name(role_name),
                                PolicyDocument=allow)
        if not self.said:
            self.said = True
            print(NOTICE.format(users=", ".join(users), policy=policy_name(role_name)))

    def revoke(self, params: dict[str, Any], **_: Any) -> None:
        """provide-client-params DeleteRole: take those identity policies away first."""
        from botocore.exceptions import ClientError

        role_name = params.get("RoleName")
        if not role_name:
            return
        iam = self.admin()
        try:
            trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        except ClientError:
            return  # no such role: DeleteRole itself says so
        for user in trusted_users(trust, self.account):
            try:
                iam.delete_user_policy(UserName=user, PolicyName=policy_name(role_name))
            except ClientError:
                pass  # never added, or already gone with its user

    def register(self, client: Any) -> None:
        """Install the hooks on an IAM client."""
        events = client.meta.events
        events.register("provide-client-params.iam.CreateRole", self.remember)
        events.register("after-call.iam.CreateRole", self.grant)
        events.register("provide-client-params.iam.DeleteRole", self.revoke)
