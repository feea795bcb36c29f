"""Real-AWS guardrail: the lab changes only IAM users, roles and policies it created (tagged).

`install(client)` hooks a boto3 IAM client (botocore's `before-call` event), so every call that
would change something is checked first, whether it comes from `labkit.iam` or straight from a
lesson cell (`iam.attach_user_policy(...)`). Used in real-AWS mode only; the sandbox is the
learner's own.
"""

from __future__ import annotations

from typing import Any

LAB_TAG = {"Key": "labkit:course", "Value": "aws-access-keys-lab"}

# Calls that only read: always allowed.
_READ_PREFIXES = ("Get", "List", "Generate", "Simulate")
# Calls that make something new: allowed unless they name an existing thing the lab did not make.
_CREATE_PREFIXES = ("Create", "Upload")
# Calls aimed at a user that default to the caller when no UserName is given.
_SELF_DEFAULT = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
                           "UploadSigningCertificate", "UpdateSigningCertificate",
                           "DeleteSigningCertificate"})
ERROR_CODE = "NotCreatedByLab"


class NotOwnedError(RuntimeError):
    """Real-AWS guardrail: the lab refuses to change what it did not create."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Shaped like a botocore ClientError's, so the lab's plain-words display can show it.
        self.response = {"Error": {"Code": ERROR_CODE, "Message": message}}


def _tags(client: Any, kind: str, name: str) -> dict[str, str] | None:
    """The tags of a user, role or policy; None when it does not exist."""
    try:
        if kind == "user":
            got = client.get_user(UserName=name)["User"].get("Tags", [])
        elif kind == "role":
            got = client.list_role_tags(RoleName=name)["Tags"]
        else:
            got = client.list_policy_tags(PolicyArn=name)["Tags"]
    except client.exceptions.NoSuchEntityException:
        return None
    return {t["Key"]: t["Value"] for t in got}


def check(client: Any, kind: str, name: str, operation: str) -> None:
    """Raise NotOwnedError unless the user/role/policy is the lab's own or does not exist."""
    tags = _tags(client, kind, name)
    if tags is not None and tags.get(LAB_TAG["Key"]) != LAB_TAG["Value"]:
        raise NotOwnedError(
            f"The lab will not run {operation} on the IAM {kind} {name}: it was not created by "
            f"this lab (it has no {LAB_TAG['Key']} tag), so it may belong to someone else. Nothing "
            f"was changed. Use another name for the lab's {kind}, or a fresh AWS account for the "
            "course; change it yourself in the console only if you mean to.")


def _target(operation: str, params: dict[str, Any]) -> tuple[str, str] | None:
    if params.get("UserName"):
        return "user", str(params["UserName"])
    if params.get("RoleName"):
        return "role", str(params["RoleName"])
    if params.get("PolicyArn") and ":aws:policy/" not in str(params["PolicyArn"]):
        return "policy", str(params["PolicyArn"])
    return None


def check_call(client: Any, operation: str, params: dict[str, Any]) -> None:
    """Refuse an IAM call that would change something the lab did not create."""
    if operation.startswith(_READ_PREFIXES):
        return
    target = _target(operation, params)
    if target is None:
        if operation in _SELF_DEFAULT:
            raise NotOwnedError(
                f"The lab will not run {operation} without a user name: that would change the "
                "keys of the identity you signed in with, which the lab did not create. Nothing "
                "was changed; name the lab's user (UserName=...).")
        if operation.startswith(_CREATE_PREFIXES) and not params.get("GroupName"):
            return  # something new (a policy, a user by name is checked above)
        raise NotOwnedError(
            f"The lab will not run {operation} in a real AWS account: it changes something the "
            "lab cannot prove it created. Nothing was changed; do it yourself in the console if "
            "you mean to, or use a fresh AWS account for the course.")
    check(client, *target, operation)


def install(client: Any) -> Any:
    """Hook `client` (boto3 IAM) so that every changing call is checked first; returns it."""

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        values = body if isinstance(body, dict) else {}
        check_call(client, model.name, values)

    client.meta.events.register("before-call.iam", before_call, unique_id="labkit-guard")
    return client
