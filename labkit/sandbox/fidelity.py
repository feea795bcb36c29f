"""What stock moto gets wrong for this lab, fixed inside the sandbox server process.

Each fix is installed once by `install()` and listed in `FIXES`, which the sandbox reports in its
health answer so that lessons can say "simulated" (or name a missing fix on a stock moto).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from collections.abc import Callable
from typing import Any, NoReturn

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

REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
_DATE = "%Y-%m-%dT%H:%M:%S+00:00"

# The simulated root user's access key (a lesson can plant one to show CIS 1.4); None = no key.
ROOT_KEY: dict[str, Any] = {"active": None, "created": None, "last_used": None}
ACCOUNT_CREATED = datetime.now(UTC).replace(microsecond=0)

# SHA-256 of every secret and session token the sandbox issued: lets a test prove that none of
# them appears in a saved notebook, without the sandbox keeping the secrets themselves.
ISSUED: set[str] = set()

_installed = False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _remember(*secrets: str | None) -> None:
    ISSUED.update(_digest(secret) for secret in secrets if secret)


remember = _remember


def issued(candidates: list[str]) -> list[int]:
    """Which of `candidates` are secrets (or session tokens) this sandbox issued."""
    return [i for i, c in enumerate(candidates) if _digest(c) in ISSUED]


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
    _managed_policies_subset()
    _inactive_keys_rejected()
    _delete_user_conflicts()
    _credential_report()
    _remember_issued()
    from labkit.sandbox import clock

    clock.install()
    _authorization()
    _aws_ids()
    _assume_role_checks()
    _aws_messages()


def _after_init(cls: Any, then: Callable[[Any], Any]) -> None:
    """Call `then(obj)` on every new `cls` object, once moto's own __init__ has made it."""
    original = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        then(self)

    cls.__init__ = init


def _remember_issued() -> None:
    from moto.iam import models
    from moto.sts import models as sts_models

    _after_init(models.AccessKey, lambda key: _remember(key.secret_access_key))
    _after_init(sts_models.AssumedRole,
                lambda role: _remember(role.secret_access_key, role.session_token))


def _managed_policies_subset() -> None:
    from moto.iam import aws_managed_policies, models

    wanted = _pick_policies(aws_managed_policies.aws_managed_policies_data, MANAGED_POLICIES)
    # moto keeps all 1,400 policies as one 4 MB text for as long as the process lives; keep the
    # course's seven instead (anything in moto that still reads the text finds those).
    subset = json.dumps(wanted)
    aws_managed_policies.aws_managed_policies_data = subset
    models.aws_managed_policies_data = subset

    def init_aws_policies(self: Any) -> list[Any]:
        return [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in wanted.items()
        ]

    models.IAMBackend._init_aws_policies = init_aws_policies


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
        self._owner_user_name = key.user_name
        self._access_key_id = access_key_id
        self._secret_access_key = key.secret_access_key

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


def _delete_user_conflicts() -> None:
    from moto.iam import models
    from moto.iam.exceptions import DeleteConflictException

    def delete_user(self: Any, user_name: str) -> None:
        user = self.get_user(user_name)
        # AWS refuses while anything still hangs off the user, naming the first thing found.
        for attribute, what in USER_ATTACHMENTS:
            if getattr(user, attribute, None):  # (older motos lack service_specific_credentials)
                raise DeleteConflictException(f"Cannot delete entity, {what} first.")
        if any(user in g.users for g in self.groups.values()):
            raise DeleteConflictException("Cannot delete entity, must remove users from group first.")
        self.tagger.delete_all_tags_for_resource(user.arn)
        del self.users[user_name]

    models.IAMBackend.delete_user = delete_user


def _credential_report() -> None:
    from moto.core.utils import utcnow
    from moto.iam import models, responses
    from moto.utilities.utils import get_partition

    from labkit.sandbox.clock import CLOCK

    def at(moment: datetime) -> str:
        return CLOCK.presented(moment).strftime(_DATE)  # on the host's calendar (clock.py)

    def key_fields(key: Any | None) -> list[str]:
        if key is None:
            return ["false", "N/A", "N/A", "N/A", "N/A"]
        used = key.last_used  # moto's AccessKeyLastUsed, or None
        return ["true" if key.status == "Active" else "false", at(key.create_date),
                *([at(used.timestamp), used.region, used.service] if used
                  else ["N/A", "N/A", "N/A"])]

    def user_row(user: Any) -> str:
        # AWS's documentation: access_key_1 is the user's (first) key, access_key_2 a second
        # one; a user left with one key has it in slot 1, whichever was deleted.
        slots = {i + 1: k for i, k in enumerate(user.access_keys)}
        if user.password:
            password = ["true", at(user.password_last_used)
                        if user.password_last_used else "no_information",
                        at(getattr(user, "labkit_password_changed", user.create_date)), "N/A"]
        else:
            password = ["false", "N/A", "N/A", "N/A"]
        cert_fields: list[str] = []
        for cert in [*user.signing_certificates.values(), None, None][:2]:
            cert_fields += (["true" if cert.status == "Active" else "false",
                             at(cert.upload_date)] if cert else ["false", "N/A"])
        return ",".join(
            [user.name, user.arn, at(user.create_date), *password,
             "true" if user.mfa_devices else "false",
             *key_fields(slots.get(1)), *key_fields(slots.get(2)), *cert_fields]
        )

    def root_at(stamp: str | None) -> str:
        # The admin API takes the root key's times on the sandbox's clock, as moto keeps its own.
        return at(datetime.fromisoformat(stamp)) if stamp else "N/A"

    def root_row(account_id: str, partition: str) -> str:
        key = ["false", "N/A", "N/A", "N/A", "N/A"]
        if ROOT_KEY["active"] is not None:
            used = ROOT_KEY["last_used"]
            key = ["true" if ROOT_KEY["active"] else "false", root_at(ROOT_KEY["created"]),
                   root_at(used), "us-east-1" if used else "N/A", "iam" if used else "N/A"]
        return ",".join(
            ["<root_account>", f"arn:{partition}:iam::{account_id}:root",
             at(ACCOUNT_CREATED), "not_supported", "no_information",
             "not_supported", "not_supported", "false", *key,
             "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"]
        )

    def generate_report(self: Any) -> None:
        # A fresh snapshot each time (AWS reuses one for 4 hours; the lab wants what just changed).
        self.labkit_report = (utcnow(), "\n".join(
            [REPORT_HEADER, root_row(self.account_id, get_partition(self.region_name))]
            + [user_row(u) for u in self.users.values()]) + "\n")
        self.credential_report = True

    def get_credential_report(self: Any) -> str:
        if not getattr(self, "labkit_report", None):
            error = models.ReportNotPresentException()
            error.message = None  # AWS's ReportNotPresent carries no message at all
            raise error
        return self.labkit_report[1]

    models.IAMBackend.generate_report = generate_report
    models.IAMBackend.get_credential_report = get_credential_report

    original_get = responses.IamResponse.get_credential_report

    def get_report_response(self: Any) -> Any:
        result = original_get(self)
        generated = getattr(self.backend, "labkit_report", None)
        if generated:
            result.result["GeneratedTime"] = generated[0]  # a time: the serializer presents it
        return result

    responses.IamResponse.get_credential_report = get_report_response


# --------------------------------------------------------------------------------------------
# Authorization as AWS answers it: expired session tokens, AccessDenied that says what and why,
# same-account trust, AssumeRole refusals.

EXPIRED_TOKEN = "The security token included in the request is expired"
_NO_ALLOW = "because no identity-based policy allows the {action} action"
_EXPLICIT_DENY = "with an explicit deny in an identity-based policy"
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
    action, data = request._action, request._data
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
    if action in ("iam:GetUser", "iam:CreateAccessKey", "iam:ListAccessKeys",
                  "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ChangePassword"):
        return str(request._access_key.arn)  # about the caller itself
    return None


def _denied(request: Any, why: str | None) -> NoReturn:
    from moto.core.exceptions import AccessDeniedError

    resource = _resource_arn(request)
    message = f"User: {request._access_key.arn} is not authorized to perform: {request._action}"
    if resource:
        message += f" on resource: {resource}"
    if why:
        message += " " + why
    error = AccessDeniedError(user_arn=request._access_key.arn, action=request._action)
    _reword(error, message)  # moto's own message stops after the action's name
    raise error


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
        if "Action" in statement and not checker._check_element_matches("Action",
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
        if not checker._check_conditions(context):
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
    def expired_token_first(original: Any) -> Any:
        def raise_invalid_access_key(self: Any, reason: str) -> None:
            if reason == "ExpiredToken":
                raise ExpiredTokenError()
            original(self, reason)
        return raise_invalid_access_key

    for request_class in (access_control.IAMRequest, access_control.S3IAMRequest):
        request_class._raise_invalid_access_key = expired_token_first(
            request_class._raise_invalid_access_key)

    from labkit.sandbox.validation import validate

    def check_action_permitted(self: Any, resource: str) -> None:
        validate(self._action, self._data)  # AWS checks the parameters before the permissions
        if self._action == "sts:GetCallerIdentity":
            return  # AWS answers it whatever the policies say
        allowed = explicit_deny = False
        for policy in self._access_key.collect_policies():
            result = IAMPolicy(policy).is_action_permitted(self._action, resource)
            if result == PermissionResult.DENIED:
                explicit_deny = True
            elif result == PermissionResult.PERMITTED:
                allowed = True
        if self._action == "sts:AssumeRole":
            try:
                role = self.backend.get_role_by_arn(resource)
            except NotFoundException:
                _denied(self, None)  # AWS: the same AccessDenied as for a role you may not use
            trust = _trust(role, self._access_key.arn, self.account_id,
                           format_incoming_conditional_values(self._data))
            if trust in (None, "deny"):
                _denied(self, None)
            if explicit_deny:
                _denied(self, _EXPLICIT_DENY)
            if trust == "account" and not allowed:
                _denied(self, _NO_ALLOW.format(action=self._action))
            return
        if explicit_deny:
            _denied(self, _EXPLICIT_DENY)
        if not allowed:
            _denied(self, _NO_ALLOW.format(action=self._action))

    access_control.IAMRequest.check_action_permitted = check_action_permitted


def _aws_ids() -> None:
    from moto.iam import models
    from moto.iam.utils import generate_access_key_id_from_account_id

    def aws_id(user: Any) -> None:
        # AWS: unique IDs of users start AIDA, then 17 upper-case letters and digits (made as
        # moto makes role IDs, AROA...: the account in base32, then random letters).
        user.id = generate_access_key_id_from_account_id(user.account_id, "AIDA", 21)

    _after_init(models.User, aws_id)


MAX_DURATION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def _assume_role_checks() -> None:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends
    from moto.sts import responses
    from moto.sts.exceptions import STSValidationError

    original = responses.TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        duration = self._get_int_param("DurationSeconds", 3600)
        try:
            role = iam_backends[self.current_account][self.partition].get_role_by_arn(
                self._get_param("RoleArn"))
        except NotFoundException:
            role = None
        if role is not None and duration > int(role.max_session_duration or 3600):
            raise STSValidationError(MAX_DURATION)
        return original(self)

    responses.TokenResponse.assume_role = assume_role


def _aws_messages() -> None:
    from moto.core.exceptions import AccessDeniedError
    from moto.iam import models, responses
    from moto.iam.exceptions import EntityAlreadyExists, NotFoundException, ValidationError

    original_create = models.IAMBackend.create_user

    def create_user(self: Any, region_name: str, user_name: str, *args: Any, **kwargs: Any) -> Any:
        if user_name in self.users:
            raise EntityAlreadyExists(f"User with name {user_name} already exists.")
        return original_create(self, region_name, user_name, *args, **kwargs)

    models.IAMBackend.create_user = create_user
    original_update = models.IAMBackend.update_access_key

    def update_access_key(self: Any, user_name: str, access_key_id: str,
                          status: str | None = None) -> Any:
        if status not in ("Active", "Inactive"):
            raise ValidationError(
                f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Active, Inactive]")
        return original_update(self, user_name, access_key_id, status)

    models.IAMBackend.update_access_key = update_access_key
    original_last_used = responses.IamResponse.get_access_key_last_used

    def get_access_key_last_used(self: Any) -> Any:
        try:
            return original_last_used(self)
        except NotFoundException:
            # AWS does not say whether a key exists elsewhere: it refuses to tell.
            key = self.backend.access_keys.get(self.get_access_key())
            caller = (f"arn:aws:iam::{self.current_account}:user/{key.user_name}"
                      if key is not None and key.user_name else "the caller")
            error = AccessDeniedError(user_arn=caller, action="iam:GetAccessKeyLastUsed")
            _reword(error, f"User: {caller} is not authorized to perform: "
                           f"iam:GetAccessKeyLastUsed on resource: access key "
                           f"{self._get_param('AccessKeyId')}")
            raise error from None

    responses.IamResponse.get_access_key_last_used = get_access_key_last_used

    # The credential report's password_last_changed is when the password was set.
    def remember_password(name: str) -> None:
        original = getattr(models.IAMBackend, name)

        def wrapper(self: Any, user_name: str, *args: Any, **kwargs: Any) -> Any:
            from moto.core.utils import utcnow

            user = original(self, user_name, *args, **kwargs)
            self.get_user(user_name).labkit_password_changed = utcnow()
            return user

        setattr(models.IAMBackend, name, wrapper)

    remember_password("create_login_profile")
    remember_password("update_login_profile")


def _reword(error: Any, message: str) -> None:
    """Give a moto REST error AWS's message (the XML body is built in its constructor)."""
    from xmltodict import unparse

    error.message = message
    error.description = unparse({"ErrorResponse": {"Errors": {"Error": {
        "Code": error.error_type, "Message": message, "Type": "Sender"}}}}, full_document=True)
