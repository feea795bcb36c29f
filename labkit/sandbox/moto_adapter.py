"""The one place labkit's sandbox touches moto's internals: names moto does not offer as an
extension point, read or replaced here and nowhere else in `labkit/sandbox/`.

Everything else builds on moto's own extension points: subclasses of its IAM and STS backends and
response classes registered through `BackendDict` and a service's `urls` module (`aws_iam/`,
`aws_sts/`, `aws_organizations.py`), moto's `RESPONSE_KEY_PATH_TO_TRANSFORMER` and
`SERVICE_SPECIFIC_SERIALIZERS`. What moto offers no extension point for is authentication and
authorization (`moto.iam.access_control`), its clock (`moto.core.utils.utcnow`) and its managed-
policy loader. `RELIES_ON` lists every moto name a fix needs; `tests/test_moto_contract.py` fails,
naming the fix, the day a moto upgrade removes or renames one.
"""

from __future__ import annotations

from typing import Any

# moto name -> the sandbox behaviour that needs it (tests/test_moto_contract.py checks each).
RELIES_ON: dict[str, str] = {
    # extension points
    "moto.core.base_backend.BackendDict": "aws_iam/aws_sts register(): .backend is the class",
    "moto.core.serialize.SERVICE_SPECIFIC_SERIALIZERS": "AWS's error envelope, host-clock times",
    "moto.core.serialize.QuerySerializer._serialize_error_metadata": "AWS's error envelope",
    "moto.core.serialize.QuerySerializer._serialize_type_timestamp": "host-clock times",
    "moto.core.serialize.never_return": "CreateRole's members",
    "moto.core.responses.BaseResponse.call_action": "unmodelled operations: InvalidAction",
    "moto.core.responses.BaseResponse.serialized": "unmodelled operations: InvalidAction",
    "moto.core.responses.BaseResponse._get_action": "unmodelled operations: InvalidAction",
    "moto.core.responses.ActionResult.result": "response members (IsTruncated, credentials)",
    "moto.iam.models.IAMBackend": "aws_iam.models.SandboxIAMBackend",
    "moto.iam.models.IAMBackend._init_aws_policies": "only the course's managed policies",
    "moto.iam.models.IAMBackend._tag_verification": "AWS's tag messages (aws_iam/tags.py)",
    "moto.iam.models.IAMBackend._check_tag_duplicate": "a policy's duplicate-tag message",
    "moto.iam.models.iam_backends": "aws_iam.register()",
    "moto.iam.responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER": "CreateRole's members",
    "moto.iam.urls.url_bases": "aws_iam/urls.py",
    "moto.sts.models.STSBackend": "aws_sts.models.SandboxSTSBackend",
    "moto.sts.models.sts_backends": "aws_sts.register()",
    "moto.sts.responses.TokenResponse": "aws_sts.responses.SandboxTokenResponse",
    "moto.sts.urls.url_bases": "aws_sts/urls.py",
    "moto.organizations.urls.url_paths": "aws_organizations.register()",
    "moto.organizations.responses.OrganizationsResponse.describe_account":
        "DescribeAccount in a standalone account",
    # no extension point: authentication, authorization, the clock, the policy data
    "moto.iam.access_control.IAMRequest.check_action_permitted": "AccessDenied says why, trust",
    "moto.iam.access_control.IAMRequest._raise_invalid_access_key": "ExpiredToken",
    "moto.iam.access_control.S3IAMRequest._raise_invalid_access_key": "ExpiredToken",
    "moto.iam.access_control.IAMUserAccessKey.__init__": "inactive keys rejected",
    "moto.iam.access_control.AssumedRoleAccessKey.__init__": "credentials expire",
    "moto.iam.access_control.CreateAccessKeyFailure": "inactive keys, expired credentials",
    "moto.iam.access_control.create_access_key": "GetSessionToken's credentials sign",
    "moto.iam.access_control.IAMUserAccessKey.collect_policies": "a session has its user's rights",
    "moto.iam.access_control.IAMPolicyStatement._check_element_matches": "same-account trust",
    "moto.iam.access_control.IAMPolicyStatement._check_conditions": "same-account trust",
    "moto.iam.models.mark_account_as_visited": "an inactive key is not marked used",
    "moto.iam.aws_managed_policies.aws_managed_policies_data": "the course's managed policies",
    "moto.core.utils.utcnow": "the sandbox's clock",
    # public, relied on for speed only
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_application":
        "server.warm_up(): the course's services built at start",
    "moto.core.utils.get_service_model": "server.warm_up(): the course's service models read at start",
}

# Attributes moto's request objects set in __init__ (IAMRequestBase, IAMUserAccessKey): checked
# by the contract test against moto's source, read only through the functions below.
REQUEST_ATTRIBUTES = ("_action", "_data", "_access_key")
USER_KEY_ATTRIBUTES = ("_owner_user_name", "_access_key_id", "_secret_access_key")


def action(request: Any) -> str:
    """The IAM action of a request moto is authorizing (`iam:CreateUser`)."""
    return str(request._action)


def params(request: Any) -> Any:
    """The request's parameters, as moto parsed them for authorization."""
    return request._data


def caller(request: Any) -> Any:
    """The access key (user's or role session's) moto found for the request."""
    return request._access_key


def caller_arn(request: Any) -> str:
    """The ARN AWS names as the caller in an AccessDenied message."""
    return str(request._access_key.arn)


def accept_user_key(key_view: Any, user_name: str, access_key_id: str, secret: str) -> None:
    """Fill in moto's IAMUserAccessKey as its own __init__ does for a key it accepts."""
    key_view._owner_user_name = user_name
    key_view._access_key_id = access_key_id
    key_view._secret_access_key = secret


def operation(response: Any) -> str:
    """The operation a moto response class is answering (`GenerateServiceLastAccessedDetails`)."""
    return str(response._get_action())


def statement_matches(statement: Any, element: str, value: str) -> bool:
    """moto's own matching of a policy statement's Action (wildcards included)."""
    return bool(statement._check_element_matches(element, value))


def conditions_hold(statement: Any, context: dict[str, str]) -> bool:
    """moto's own evaluation of a policy statement's Condition block."""
    return bool(statement._check_conditions(context))


def wrap_refusal(request_class: Any, wrap: Any) -> None:
    """Replace `request_class`'s refusal of an invalid key by `wrap(original)`."""
    request_class._raise_invalid_access_key = wrap(request_class._raise_invalid_access_key)
