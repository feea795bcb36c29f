"""moto's IAM response class with the members botocore's IAM model gives each answer."""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import AccessDeniedError, ServiceException
from moto.core.responses import ActionResult, EmptyResult
from moto.core.serialize import never_return, return_if_not_empty
from moto.iam.exceptions import NotFoundException
from moto.iam.responses import IamResponse

from labkit.sandbox.aws_iam.models import must_name_user
from labkit.sandbox.unmodelled import AnswersUnmodelled

NO_ORGANIZATION = "The request was rejected because no organization is associated with your account."


class OrganizationNotFound(ServiceException):
    """IAM's answer to an organizations feature call from a standalone account."""

    code = "OrganizationNotFoundException"


def return_if_set(value: Any) -> Any:
    """The value when it was set (not 0, False or empty), else nothing (moto's transformer)."""
    return value or None


def boundary(value: Any) -> Any:
    """A permissions boundary as AWS names its type ("Policy"; moto: PermissionsBoundaryPolicy)."""
    return {**value, "PermissionsBoundaryType": "Policy"} if value else None


class SandboxIamResponse(AnswersUnmodelled, IamResponse):
    """IAM's answers as AWS shapes them."""

    RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        **IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
        # AWS's CreateRole answer stops before these two (GetRole has them).
        "CreateRoleResponse.Role.MaxSessionDuration": never_return,
        "CreateRoleResponse.Role.RoleLastUsed": never_return,
        # A policy version's document comes only with GetPolicyVersion (recorded from AWS).
        "CreatePolicyVersionResponse.PolicyVersion.Document": never_return,
        "ListPolicyVersionsResponse.Versions.PolicyVersion.Document": never_return,
        # Recorded: CreateRole does not echo the description; UpdateRoleDescription's role
        # stops before these; CreateInstanceProfile has Tags only when given some; the password
        # policy leaves out what was never set.
        "CreateRoleResponse.Role.Description": never_return,
        "UpdateRoleDescriptionResponse.Role.MaxSessionDuration": never_return,
        "UpdateRoleDescriptionResponse.Role.RoleLastUsed": never_return,
        "UpdateRoleDescriptionResponse.Role.Tags": never_return,
        "CreateInstanceProfileResponse.InstanceProfile.Tags": return_if_not_empty,
        "GetAccountPasswordPolicyResponse.PasswordPolicy.MaxPasswordAge": return_if_set,
        "GetAccountPasswordPolicyResponse.PasswordPolicy.HardExpiry": return_if_set,
        "CreateRoleResponse.Role.PermissionsBoundary": boundary,
        "GetRoleResponse.Role.PermissionsBoundary": boundary,
        "GetUserResponse.User.PermissionsBoundary": boundary,
    }

    def _user_name_or_refuse(self) -> None:
        """Without UserName, AWS acts on the calling user: a role session is not one."""
        if not self._get_param("UserName") and not self.get_access_key().startswith("AKIA"):
            raise must_name_user()

    def list_access_keys(self) -> ActionResult:
        self._user_name_or_refuse()
        result = super().list_access_keys()
        answer: Any = result.result
        answer["IsTruncated"] = False  # the course's users hold at most two keys
        return result

    def list_policy_versions(self) -> ActionResult:
        result = super().list_policy_versions()
        answer: Any = result.result
        answer["IsTruncated"] = False  # at most five versions
        return result

    def get_group(self) -> ActionResult:
        result = super().get_group()
        answer: Any = result.result
        answer["IsTruncated"] = False  # (recorded from AWS, with or without members)
        return result

    def list_group_policies(self) -> ActionResult:
        result = super().list_group_policies()
        answer: Any = result.result
        answer["IsTruncated"] = False
        return result

    def list_signing_certificates(self) -> ActionResult:
        result = super().list_signing_certificates()
        answer: Any = result.result
        answer["IsTruncated"] = False
        return result

    def list_ssh_public_keys(self) -> ActionResult:
        result = super().list_ssh_public_keys()
        answer: Any = result.result
        answer["IsTruncated"] = False
        return result

    def update_role(self) -> ActionResult:
        # What is left out stays as it was (moto's response class filled in an hour).
        self.backend.update_role(self._get_param("RoleName"), self._get_param("Description"),
                                 self._get_param("MaxSessionDuration"))
        return EmptyResult()

    def list_entities_for_policy(self) -> ActionResult:
        arn = self._get_param("PolicyArn")
        with_message(lambda: self.backend.get_policy(arn),
                     f"Policy {arn} does not exist or is not attachable.")
        if self._get_param("EntityFilter") in ("LocalManagedPolicy", "AWSManagedPolicy"):
            # Policies are not attached to policies: nothing to list (recorded).
            return ActionResult({"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [],
                                 "IsTruncated": False})
        return super().list_entities_for_policy()

    def delete_access_key(self) -> ActionResult:
        self._user_name_or_refuse()
        return super().delete_access_key()

    def update_access_key(self) -> ActionResult:
        self._user_name_or_refuse()
        return super().update_access_key()

    def create_access_key(self) -> ActionResult:
        self._user_name_or_refuse()
        return super().create_access_key()

    def list_service_specific_credentials(self) -> ActionResult:
        self.backend.get_user(self._get_param("UserName")) if self._get_param("UserName") else None
        # The sandbox models no service-specific credentials (CodeCommit, Keyspaces): none exist.
        return ActionResult({"ServiceSpecificCredentials": []})

    def list_organizations_features(self) -> ActionResult:
        # The lab's account is standalone, as a new AWS account is.
        raise OrganizationNotFound(NO_ORGANIZATION)

    def get_account_summary(self) -> ActionResult:
        result = super().get_account_summary()
        from labkit.sandbox.account_state import ROOT_KEY

        answer: Any = result.result
        # Agrees with the credential report's <root_account> row (a lesson may plant a root key).
        answer["SummaryMap"]["AccountAccessKeysPresent"] = int(ROOT_KEY["active"] is not None)
        # The root user's password, set when the account was created (recorded from AWS: the
        # member is there; moto leaves it out).
        answer["SummaryMap"]["AccountPasswordPresent"] = 1
        return result

    def get_credential_report(self) -> ActionResult:
        result = super().get_credential_report()
        answer: Any = result.result
        answer["GeneratedTime"] = self.backend.labkit_report[0]  # type: ignore[attr-defined]
        return result

    def _caller_arn(self) -> str:
        """The ARN of whoever signed this request: an IAM user, or a role's session."""
        from moto.sts.models import sts_backends

        key_id = self.get_access_key()
        key = self.backend.access_keys.get(key_id)
        if key is not None and key.user_name:
            return f"arn:aws:iam::{self.current_account}:user/{key.user_name}"
        session = sts_backends[self.current_account][self.partition] \
            .get_assumed_role_from_access_key(key_id)
        return session.arn if session is not None else f"arn:aws:iam::{self.current_account}:root"

    def get_access_key_last_used(self) -> ActionResult:
        try:
            return super().get_access_key_last_used()
        except NotFoundException:
            # AWS does not say whether a key exists elsewhere: it refuses to tell.
            raise last_used_refused(self._caller_arn(), self._get_param("AccessKeyId")) \
                from None


def last_used_refused(caller: str, key_id: str) -> AccessDeniedError:
    """AWS's AccessDenied for GetAccessKeyLastUsed of a key it will not talk about (recorded:
    "perform iam:..." with no colon, unlike its policy refusals)."""
    from labkit.sandbox.account_state import reword

    action = "iam:GetAccessKeyLastUsed"
    error = AccessDeniedError(user_arn=caller, action=action)
    reword(error, f"User: {caller} is not authorized to perform {action} on resource: "
                  f"access key {key_id}")
    return error


def with_message(call: Any, message: str) -> Any:
    """`call()`, with AWS's message on moto's NoSuchEntity."""
    try:
        return call()
    except NotFoundException:
        raise NotFoundException(message) from None
