"""What stock moto gets wrong for this lab, fixed inside the sandbox server process.

Each fix is installed once by `install()` and listed in `FIXES`, which the sandbox reports in its
health answer so that lessons can say "simulated" (or name a missing fix on a stock moto).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from labkit.sandbox import moto_adapter
from labkit.sandbox.account_state import reword
from labkit.sandbox.aws_sts.sessions import SESSION_CREDENTIALS, SessionCaller, refusal

FIXES = (
    "inactive-keys-rejected",
    "delete-user-conflicts",
    "credential-report",
    "managed-policies-subset",
    "issued-secrets-check",
    "clock",
    "credentials-expire",
    "access-denied-says-why",
    "aws-style-ids",
    "same-account-trust",
    "assume-role-refusals",
    "aws-messages",
    "aws-answers",
)

# The AWS managed policies the course uses; loading all 1,400 costs a second and tens of MB.
MANAGED_POLICIES = (
    "AdministratorAccess",
    "IAMReadOnlyAccess",
    "IAMFullAccess",
    "IAMUserChangePassword",
    "IAMSelfManageServiceSpecificCredentials",
    "PowerUserAccess",
    "AWSCloudTrail_ReadOnlyAccess",
)


_installed = False


def install() -> None:
    """Patch moto in this process; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    from labkit.sandbox import aws_iam, aws_organizations, aws_sts

    aws_iam.register()  # IAM and STS as AWS answers them (moto's backends and responses, subclassed)
    aws_sts.register()
    aws_organizations.register()
    _managed_policies_subset()  # the rest of the IAM/STS fixes live in aws_iam/ and aws_sts/
    _inactive_keys_rejected()
    from labkit.sandbox import clock

    clock.install()
    _authorization()


def _managed_policies_subset() -> None:
    from moto.iam import aws_managed_policies, models

    wanted = _pick_policies(aws_managed_policies.aws_managed_policies_data, MANAGED_POLICIES)
    # moto keeps all 1,400 policies as one 4 MB text for as long as the process lives; keep the
    # course's seven instead (anything in moto that still reads the text finds those).
    subset = json.dumps(wanted)
    aws_managed_policies.aws_managed_policies_data = subset
    models.aws_managed_policies_data = subset

    from labkit.sandbox.aws_iam.models import SandboxIAMBackend

    SandboxIAMBackend.course_policies = wanted


def _pick_policies(text: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The named policies from moto's policy text, decoding only those (parsing all 1,400 leaves
    the sandbox about 10 MB larger: the freed objects stay scattered over the heap)."""
    import re

    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for name in names:
        at = re.search(r'\n\s*"' + re.escape(name) + r'"\s*:\s*\{', text)
        if at is None:
            break
        data, _ = decoder.raw_decode(text, at.end() - 1)
        if not (isinstance(data, dict) and "Document" in data and "DefaultVersionId" in data):
            break
        found[name] = data
    else:
        return found
    # moto's layout changed: read it all, as moto does.
    return {n: d for n, d in json.loads(text).items() if n in names}


def _inactive_keys_rejected() -> None:
    from moto.iam import access_control, models

    def init(self: Any, account_id: str, partition: str, access_key_id: str, headers: Any) -> None:
        self.account_id = account_id
        self.partition = partition
        key = self.backend.access_keys.get(access_key_id)
        # AWS treats a deactivated key exactly like an unknown one.
        if key is None or key.status != "Active" or key.user_name not in self.backend.users:
            raise access_control.CreateAccessKeyFailure(reason="InvalidId")
        if "X-Amz-Security-Token" in headers:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")
        moto_adapter.accept_user_key(self, key.user_name, access_key_id, key.secret_access_key)

    access_control.IAMUserAccessKey.__init__ = init

    original_mark = models.mark_account_as_visited

    def mark_account_as_visited(account_id: str, access_key: str, service: str, region: str) -> None:
        # A rejected (inactive) key is not "used" on AWS: its last-used date stays put.
        from moto.utilities.utils import get_partition

        backend = models.iam_backends[account_id][get_partition(region)]
        key = backend.access_keys.get(access_key)
        if key is not None and key.status != "Active":
            return
        original_mark(account_id, access_key, service, region)

    models.mark_account_as_visited = mark_account_as_visited


# What hangs off an IAM user, in the order AWS's DeleteUser names it while any is left.


# --------------------------------------------------------------------------------------------
# Authorization as AWS answers it: expired session tokens, AccessDenied that says what and why,
# same-account trust, AssumeRole refusals.

EXPIRED_TOKEN = "The security token included in the request is expired"
_NO_ALLOW = "because no identity-based policy allows the {action} action"
_EXPLICIT_DENY = "with an explicit deny in an identity-based policy"
_NO_SESSION_ALLOW = "because no session policy allows the {action} action"
_EXPLICIT_SESSION_DENY = "with an explicit deny in a session policy"
# List calls whose AccessDenied names the path of what they list (AWS: "on resource: ...:user/").
_LIST_RESOURCES = {"iam:ListUsers": "user/", "iam:ListRoles": "role/", "iam:ListGroups": "group/",
                   "iam:ListPolicies": "policy/"}


def _param(data: Any, name: str) -> str | None:
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def _resource_arn(request: Any) -> str | None:
    """The ARN AWS names in an AccessDenied message for this request (None: no resource)."""
    from moto.iam.exceptions import NoSuchEntity, NotFoundException

    account = request.account_id
    backend = request.backend
    action, data = moto_adapter.action(request), moto_adapter.params(request)
    if action == "sts:AssumeRole":
        return _param(data, "RoleArn")
    if not action.startswith("iam:"):
        return None
    if action in _LIST_RESOURCES:
        return f"arn:aws:iam::{account}:{_LIST_RESOURCES[action]}"
    for name, kind in (("UserName", "user"), ("RoleName", "role"), ("GroupName", "group")):
        value = _param(data, name)
        if value:
            try:
                found = {"user": backend.get_user, "role": backend.get_role,
                         "group": backend.get_group}[kind](value)
                return str(found.arn)
            except (NotFoundException, NoSuchEntity):
                path = _param(data, "Path") or "/"
                return f"arn:aws:iam::{account}:{kind}{path}{value}"
    policy = _param(data, "PolicyArn")
    if policy:
        return policy
    if action == "iam:GetAccessKeyLastUsed" and _param(data, "AccessKeyId"):
        return f"access key {_param(data, 'AccessKeyId')}"  # AWS's words for a key
    if action in ("iam:GetUser", "iam:CreateAccessKey", "iam:ListAccessKeys",
                  "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ChangePassword"):
        return moto_adapter.caller_arn(request)  # about the caller itself
    return None


def _denied(request: Any, why: str | None) -> NoReturn:
    from moto.core.exceptions import AccessDeniedError

    resource = _resource_arn(request)
    caller, action = moto_adapter.caller_arn(request), moto_adapter.action(request)
    message = f"User: {caller} is not authorized to perform: {action}"
    if resource:
        message += f" on resource: {resource}"
    if why:
        message += " " + why
    error = AccessDeniedError(user_arn=caller, action=action)
    reword(error, message)  # moto's own message stops after the action's name
    raise error


def _refuse(kind: str, message: str) -> NoReturn:
    from moto.core.exceptions import AccessDeniedError, InvalidClientTokenIdError

    if kind == "token":
        raise InvalidClientTokenIdError()
    error = AccessDeniedError(user_arn="", action="")
    reword(error, message)
    raise error


def _session_refusal(caller: Any, action: str) -> None:
    found = refusal(caller, action)
    if found is not None:
        _refuse(*found)


def _principal_matches(expected: Any, *principals: str | None) -> bool:
    """True when the trust policy's Principal.AWS (one value or a list) names any of these."""
    values = expected if isinstance(expected, list) else [expected]
    return any(p is not None and p in values for p in principals)


def _trust(role: Any, principal: str, account: str, context: dict[str, str]) -> str | None:
    """How the role's trust policy treats `principal`: 'deny', 'principal' (named itself, which
    on AWS needs no identity policy in the same account), 'account' (the account or everyone is
    trusted: an identity policy must allow it too) or None (not trusted)."""
    from moto.iam.access_control import IAMPolicyStatement

    document = json.loads(role.assume_role_policy_document or "{}")
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    role_of_session = None
    if ":assumed-role/" in principal:  # a role session is trusted through its role's ARN
        name = principal.split(":assumed-role/", 1)[1].split("/", 1)[0]
        role_of_session = f"arn:aws:iam::{account}:role/{name}"
    result: str | None = None
    for statement in statements:
        checker = IAMPolicyStatement(statement)
        if "Action" in statement and not moto_adapter.statement_matches(checker, "Action",
                                                                        "sts:AssumeRole"):
            continue
        aws = (statement.get("Principal") or {})
        aws = aws.get("AWS") if isinstance(aws, dict) else aws
        if aws is None:
            continue  # only a service (ec2.amazonaws.com) or a federation: not this user
        if _principal_matches(aws, principal, role_of_session):
            kind = "principal"
        elif _principal_matches(aws, f"arn:aws:iam::{account}:root", account, "*"):
            kind = "account"
        else:
            continue
        if not moto_adapter.conditions_hold(checker, context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if result != "principal":
            result = kind
    return result


def _authorization() -> None:
    from moto.core.exceptions import _RESTError
    from moto.iam import access_control
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.exceptions import NotFoundException
    from moto.iam.utils import format_incoming_conditional_values
    from moto.sts.models import sts_backends

    from labkit.sandbox.clock import CLOCK

    class ExpiredTokenError(_RESTError):
        code = 403

        def __init__(self) -> None:
            super().__init__("ExpiredToken", EXPIRED_TOKEN)

    original_role_key = access_control.AssumedRoleAccessKey.__init__

    def role_key_init(self: Any, account_id: str, partition: str, access_key_id: str,
                      headers: Any) -> None:
        original_role_key(self, account_id, partition, access_key_id, headers)  # found, token ok
        assumed = next(a for a in sts_backends[account_id][partition].assumed_roles
                       if a.access_key_id == access_key_id)
        # AWS refuses temporary credentials once their Expiration has passed.
        if CLOCK.now().replace(tzinfo=None) >= assumed.expiration:
            raise access_control.CreateAccessKeyFailure(reason="ExpiredToken")

    access_control.AssumedRoleAccessKey.__init__ = role_key_init
    original_create = access_control.create_access_key

    def create_access_key(account_id: str, partition: str, access_key_id: str,
                          headers: Any) -> Any:
        """moto knows the callers of user keys and role sessions; GetSessionToken's and
        GetFederationToken's credentials are the sandbox's own (aws_sts/sessions.py)."""
        session = sts_backends[account_id][partition].sessions.get(access_key_id)
        if session is None:
            return original_create(account_id, partition, access_key_id, headers)
        if headers.get("X-Amz-Security-Token") != session.session_token:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")
        if CLOCK.now().replace(tzinfo=None) >= session.expiration.replace(tzinfo=None):
            raise access_control.CreateAccessKeyFailure(reason="ExpiredToken")
        return SessionCaller(session, account_id, partition)

    access_control.create_access_key = create_access_key
    def expired_token_first(original: Any) -> Any:
        def raise_invalid_access_key(self: Any, reason: str) -> None:
            if reason == "ExpiredToken":
                raise ExpiredTokenError()
            original(self, reason)
        return raise_invalid_access_key

    for request_class in (access_control.IAMRequest, access_control.S3IAMRequest):
        moto_adapter.wrap_refusal(request_class, expired_token_first)

    from labkit.sandbox.validation import validate

    def check_action_permitted(self: Any, resource: str) -> None:
        action, data = moto_adapter.action(self), moto_adapter.params(self)
        validate(action, data)  # AWS checks the parameters before the permissions
        caller = moto_adapter.caller(self)
        _session_refusal(caller, action)
        if action in ("sts:GetSessionToken", "sts:GetFederationToken") and \
                isinstance(caller, access_control.AssumedRoleAccessKey):
            _refuse("denied", SESSION_CREDENTIALS.format(operation=action.split(":", 1)[1]))
        if action in ("sts:GetCallerIdentity", "sts:GetSessionToken"):
            return  # AWS answers them whatever the policies say (STS API reference)
        allowed = explicit_deny = False
        for policy in caller.collect_policies():
            result = IAMPolicy(policy).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                explicit_deny = True
            elif result == PermissionResult.PERMITTED:
                allowed = True
        if isinstance(caller, SessionCaller) and caller.session.federated is not None:
            # A federated user may do what both the user's policies and the session policy allow.
            session = caller.session.policy
            result = IAMPolicy(session).is_action_permitted(action, resource) if session else None
            if result == PermissionResult.DENIED and not explicit_deny:
                _denied(self, _EXPLICIT_SESSION_DENY)
            if allowed and result != PermissionResult.PERMITTED:
                _denied(self, _NO_SESSION_ALLOW.format(action=action))
        if action == "sts:AssumeRole":
            try:
                role = self.backend.get_role_by_arn(resource)
            except NotFoundException:
                _denied(self, None)  # AWS: the same AccessDenied as for a role you may not use
            trust = _trust(role, moto_adapter.caller_arn(self), self.account_id,
                           format_incoming_conditional_values(data))
            if trust in (None, "deny"):
                _denied(self, None)
            if explicit_deny:
                _denied(self, _EXPLICIT_DENY)
            if trust == "account" and not allowed:
                _denied(self, _NO_ALLOW.format(action=action))
            return
        if explicit_deny:
            _denied(self, _EXPLICIT_DENY)
        if not allowed:
            _denied(self, _NO_ALLOW.format(action=action))

    access_control.IAMRequest.check_action_permitted = check_action_permitted
