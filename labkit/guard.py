"""Real-AWS guardrail: the lab changes only IAM resources it created (tagged) or makes anew.

`install(client)` hooks a boto3 IAM client (botocore's `before-call` event), so every call that
would change something is checked first (every changing call and resource parameter of
botocore's IAM model is classified below), whether it comes from `labkit.iam` or straight from a
lesson cell (`iam.attach_user_policy(...)`). Used in real-AWS mode only; the sandbox is the
learner's own.
"""

from __future__ import annotations

from functools import cache
from typing import Any

LAB_TAG = {"Key": "labkit:course", "Value": "aws-access-keys-lab"}

# Calls that only read: always allowed.
_READ_PREFIXES = ("Get", "List", "Generate", "Simulate")

# Input parameters (botocore's IAM model) that name an existing IAM resource, and its kind. A
# changing call may name one only if the lab created it (tagged) or it does not exist yet.
RESOURCE_PARAMS = {
    "UserName": "user", "RoleName": "role", "GroupName": "group", "PolicyArn": "policy",
    "PermissionsBoundary": "policy", "InstanceProfileName": "instance profile",
    "OpenIDConnectProviderArn": "OpenID Connect provider", "SAMLProviderArn": "SAML provider",
    "ServerCertificateName": "server certificate", "SerialNumber": "MFA device",
    "WorkloadIdentityProviderArn": "workload identity provider",
    "WorkloadIdentityTemplateArn": "workload identity template",
    "TemplateArn": "workload identity template",
}
# Parameters that are not a resource of their own: a part of the resource another parameter
# names (a key, a certificate, an inline policy, a version), or a value. A new parameter in
# botocore's model is in neither set until someone decides (tests/test_guard.py says so).
VALUE_PARAMS = frozenset({
    "AWSServiceName", "AccessKeyId", "AccountAlias", "AddPrivateKey",
    "AllowUsersToChangePassword", "AssertionEncryptionMode", "AssumeRolePolicyDocument",
    "AuthenticationCode1", "AuthenticationCode2", "CertificateBody", "CertificateChain",
    "CertificateId", "ClientID", "ClientIDList", "CredentialAgeDays", "CustomSuffix",
    "DelegationRequestId", "Description", "GlobalEndpointTokenVersion", "HardExpiry",
    "MaxPasswordAge", "MaxSessionDuration", "MinimumPasswordLength", "Name", "NewGroupName",
    "NewPassword", "NewPath", "NewServerCertificateName", "NewUserName", "Notes",
    "NotificationChannel", "OldPassword", "OnlySendByOwner", "OwnerAccountId", "Password",
    "PasswordResetRequired", "PasswordReusePrevention", "Path", "Permissions", "PolicyDocument",
    "PolicyName", "PrivateKey", "RedirectUrl", "RemovePrivateKey", "RequestMessage",
    "RequestorWorkflowId", "RequireLowercaseCharacters", "RequireNumbers", "RequireSymbols",
    "RequireUppercaseCharacters", "SAMLMetadataDocument", "SSHPublicKeyBody", "SSHPublicKeyId",
    "ServiceName", "ServiceSpecificCredentialId", "SessionDuration", "SetAsDefault", "Status",
    "TagKeys", "Tags", "ThumbprintList", "Url", "VersionId", "VirtualMFADeviceName",
    # botocore 1.44: sign-in session limits, identity-provider contexts, workload identity
    "AttestationPolicy", "ContextProvider", "IdentityCenterInstanceArn",
    "MaxSigninSessionDuration", "OutboundSigner", "PathPattern", "PathPrefix", "Properties",
    "ProviderName", "RemoveContextProvider", "RemoveIdentityCenterInstance", "ReplacementValues",
    "ResetMaxSigninSessionDuration", "ResourceScope", "Scheme", "SignerType",
    "SigningDelayInHours", "TemplateDefinition", "TemplateMinorVersion",
    "WorkloadIdentityDomain",
})
# Calls that name no existing resource and make a new one, which then carries the lab's tag.
NEW_THINGS = frozenset({"CreatePolicy", "CreateOpenIDConnectProvider", "CreateSAMLProvider",
                        "CreateVirtualMFADevice"})
# (call, parameter) where the resource is only attached to or detached from the lab's own user or
# role, and stays as it was: a managed policy, a permissions boundary, the lab user's own group
# membership or MFA device when the lab deletes its user.
ATTACHMENTS = frozenset({
    ("AttachUserPolicy", "PolicyArn"), ("DetachUserPolicy", "PolicyArn"),
    ("AttachRolePolicy", "PolicyArn"), ("DetachRolePolicy", "PolicyArn"),
    ("PutUserPermissionsBoundary", "PermissionsBoundary"),
    ("PutRolePermissionsBoundary", "PermissionsBoundary"),
    ("CreateUser", "PermissionsBoundary"), ("CreateRole", "PermissionsBoundary"),
    ("RemoveUserFromGroup", "GroupName"), ("DeactivateMFADevice", "SerialNumber"),
})
ERROR_CODE = "NotCreatedByLab"


class NotOwnedError(RuntimeError):
    """Real-AWS guardrail: the lab refuses to change what it did not create."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Shaped like a botocore ClientError's, so the lab's plain-words display can show it.
        self.response = {"Error": {"Code": ERROR_CODE, "Message": message}}


@cache
def changing_operations() -> dict[str, tuple[str, ...]]:
    """Every IAM call that can change something, with its input parameters (botocore's model)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("iam")
    found = {}
    for name in model.operation_names:
        if not name.startswith(_READ_PREFIXES):
            shape = model.operation_model(name).input_shape
            found[name] = tuple(shape.members) if shape is not None else ()
    return found


def _tags(client: Any, kind: str, name: str) -> dict[str, str] | None:
    """The tags of an IAM resource; None when it does not exist ({} for a group: groups have no
    tags on AWS, so an existing group is never the lab's)."""
    calls = {
        "user": lambda: client.get_user(UserName=name)["User"].get("Tags", []),
        "role": lambda: client.list_role_tags(RoleName=name)["Tags"],
        "policy": lambda: client.list_policy_tags(PolicyArn=name)["Tags"],
        "group": lambda: client.get_group(GroupName=name) and [],
        "instance profile": lambda: client.list_instance_profile_tags(
            InstanceProfileName=name)["Tags"],
        "OpenID Connect provider": lambda: client.list_open_id_connect_provider_tags(
            OpenIDConnectProviderArn=name)["Tags"],
        "SAML provider": lambda: client.list_saml_provider_tags(SAMLProviderArn=name)["Tags"],
        "server certificate": lambda: client.list_server_certificate_tags(
            ServerCertificateName=name)["Tags"],
        "MFA device": lambda: client.list_mfa_device_tags(SerialNumber=name)["Tags"],
    }
    if kind not in calls:
        return {}  # no way to read its tags: never proven the lab's
    try:
        got = calls[kind]()
    except client.exceptions.NoSuchEntityException:
        return None
    except Exception:  # noqa: BLE001 - what cannot be read cannot be proven the lab's
        return {}
    return {t["Key"]: t["Value"] for t in got}


def check(client: Any, kind: str, name: str, operation: str) -> None:
    """Raise NotOwnedError unless the IAM resource is the lab's own or does not exist."""
    tags = _tags(client, kind, name)
    if tags is not None and tags.get(LAB_TAG["Key"]) != LAB_TAG["Value"]:
        raise NotOwnedError(
            f"The lab will not run {operation} on the IAM {kind} {name}: it was not created by "
            f"this lab (it has no {LAB_TAG['Key']} tag), so it may belong to someone else. Nothing "
            f"was changed. Use another name for the lab's {kind}, or a fresh AWS account for the "
            "course; change it yourself in the console only if you mean to.")


def targets(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The existing resources a call would change: (kind, name) for each parameter naming one."""
    return [(kind, str(params[param])) for param, kind in RESOURCE_PARAMS.items()
            if params.get(param) and (operation, param) not in ATTACHMENTS]


def check_call(client: Any, operation: str, params: dict[str, Any]) -> None:
    """Refuse an IAM call that would change something the lab did not create."""
    if operation.startswith(_READ_PREFIXES):
        return
    named = targets(operation, params)
    if not any(kind in ("user", "role") for kind, _ in named) and (
            "UserName" in changing_operations().get(operation, ())
            and not params.get("UserName")):
        raise NotOwnedError(
            f"The lab will not run {operation} without a user name: that would change the "
            "identity you signed in with, which the lab did not create. Nothing was changed; "
            "name the lab's user (UserName=...).")
    if not named and operation not in NEW_THINGS:
        raise NotOwnedError(
            f"The lab will not run {operation} in a real AWS account: it changes something the "
            "lab cannot prove it created. Nothing was changed; do it yourself in the console if "
            "you mean to, or use a fresh AWS account for the course.")
    for kind, name in named:
        check(client, kind, name, operation)


def install(client: Any) -> Any:
    """Hook `client` (boto3 IAM) so that every changing call is checked first; returns it."""

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        values = body if isinstance(body, dict) else {}
        check_call(client, model.name, values)

    client.meta.events.register("before-call.iam", before_call, unique_id="labkit-guard")
    return client
