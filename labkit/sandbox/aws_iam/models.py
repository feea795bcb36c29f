"""moto's IAM backend with AWS's messages, conflicts and identifiers (one method per behaviour)."""

from __future__ import annotations

import secrets
import string
from typing import Any

from moto.core.utils import utcnow
from moto.iam.exceptions import (
    DeleteConflictException,
    EntityAlreadyExists,
    NotFoundException,
    ReportNotPresentException,
    ValidationError,
)
from moto.iam.models import AWSManagedPolicy, IAMBackend, generate_access_key_id_from_account_id

from labkit.sandbox import account_state
from labkit.sandbox.aws_iam import credential_report
from labkit.sandbox.aws_iam.recorded import (
    NO_VERSION,
    RecordedAnswers,
    aws_policy_words,
    policy_tags,
    says,
)

# AWS's secret access keys: 40 characters of base64's alphabet.
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
# Policy IDs: ANPA then 17 upper-case letters and digits (AWS's unique-ID format).
_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_secret() -> str:
    """A secret access key from a cryptographic source (moto's comes from `random`)."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def unique_id(prefix: str) -> str:
    """An AWS-style unique ID: a four-letter prefix and 17 upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def access_key_id(prefix: str) -> str:
    """An access key ID as AWS makes them: 20 characters, AKIA (a user's) or ASIA (temporary)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


# The course's AWS managed policies, as AWS's managed policy reference describes them.
MANAGED_POLICY_DESCRIPTIONS = {
    "AdministratorAccess": "Provides full access to AWS services and resources.",
    "IAMReadOnlyAccess": "Provides read only access to IAM via the AWS Management Console.",
    "IAMFullAccess": "Provides full access to IAM via the AWS Management Console.",
    "IAMUserChangePassword": "Provides the ability for an IAM user to change their own password.",
    "IAMSelfManageServiceSpecificCredentials":
        "Allows an IAM user to manage their own Service Specific Credentials.",
    "PowerUserAccess": "Provides full access to AWS services and resources, but does not allow "
                       "management of Users and groups.",
    "AWSCloudTrail_ReadOnlyAccess": "Provides read only access to AWS CloudTrail.",
}

class SandboxIAMBackend(RecordedAnswers, IAMBackend):
    """IAM as AWS answers it where moto's own backend differs."""

    # The AWS managed policies the course uses, by name (fidelity.install fills it): loading all
    # 1,400 costs a second and tens of MB.
    course_policies: dict[str, Any] = {}

    def _init_aws_policies(self) -> list[Any]:
        made = [AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
                for name, data in self.course_policies.items()]
        for policy in made:  # GetPolicy's members, as AWS sends them (recorded)
            policy.description = MANAGED_POLICY_DESCRIPTIONS.get(policy.name, "")
            policy.permissions_boundary_usage_count = 0
        return made

    # -- users ------------------------------------------------------------------------------
    def create_user(self, region_name: str, user_name: str, *args: Any, **kwargs: Any) -> Any:
        if user_name in self.users:
            raise EntityAlreadyExists(f"User with name {user_name} already exists.")
        made = super().create_user(region_name, user_name, *args, **kwargs)
        user = made[0] if isinstance(made, tuple) else made
        # AWS: unique IDs of users start AIDA, then 17 upper-case letters and digits (made as
        # moto makes role IDs, AROA...: the account in base32, then random letters).
        user.id = generate_access_key_id_from_account_id(user.account_id, "AIDA", 21)
        return made

    def delete_user(self, user_name: str) -> None:
        user = self.get_user(user_name)
        # AWS refuses while anything still hangs off the user, naming the first thing found.
        for attribute, what in account_state.USER_ATTACHMENTS:
            if getattr(user, attribute, None):  # (older motos lack service_specific_credentials)
                raise DeleteConflictException(f"Cannot delete entity, {what} first.")
        if any(user in g.users for g in self.groups.values()):
            raise DeleteConflictException(
                "Cannot delete entity, must remove users from group first.")
        self.tagger.delete_all_tags_for_resource(user.arn)
        del self.users[user_name]

    def update_access_key(self, user_name: str, access_key_id: str,
                          status: str | None = None) -> Any:
        if status not in ("Active", "Inactive"):
            raise ValidationError(
                f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Active, Inactive]")
        with says(f"The Access Key with id {access_key_id} cannot be found."):
            return super().update_access_key(user_name, access_key_id, status)

    # -- the credential report ----------------------------------------------------------------
    labkit_report: tuple[Any, str] | None = None

    def generate_report(self) -> None:
        # A fresh snapshot each time (AWS reuses one for 4 hours; the lab wants what just changed).
        self.labkit_report = (utcnow(), credential_report.report(
            self, account_state.ROOT_KEY, account_state.ACCOUNT_CREATED))
        self.credential_report = True

    def get_credential_report(self) -> str:
        if not self.labkit_report:
            error = ReportNotPresentException()
            error.message = None  # type: ignore[assignment]  # AWS's has no message at all
            raise error
        return self.labkit_report[1]

    # -- AWS's NoSuchEntity / EntityAlreadyExists texts -------------------------------------
    def get_role(self, role_name: str) -> Any:
        with says(f"The role with name {role_name} cannot be found."):
            return super().get_role(role_name)

    def get_group(self, group_name: str) -> Any:
        with says(f"The group with name {group_name} cannot be found."):
            return super().get_group(group_name)

    def get_policy(self, policy_arn: str) -> Any:
        with says(f"Policy {policy_arn} was not found."):
            return super().get_policy(policy_arn)

    def _inline_policy(self, kind: str, owner: str, policy_name: str, call: Any) -> Any:
        """An inline policy call: the owner's own NoSuchEntity first, then AWS's for the policy."""
        getattr(self, f"get_{kind}")(owner)
        with says(f"The {kind} policy with name {policy_name} cannot be found."):
            return call(owner, policy_name)

    def get_user_policy(self, user_name: str, policy_name: str) -> Any:
        return self._inline_policy("user", user_name, policy_name, super().get_user_policy)

    def get_role_policy(self, role_name: str, policy_name: str) -> Any:
        return self._inline_policy("role", role_name, policy_name, super().get_role_policy)

    def get_group_policy(self, group_name: str, policy_name: str) -> Any:
        return self._inline_policy("group", group_name, policy_name, super().get_group_policy)

    def delete_user_policy(self, user_name: str, policy_name: str) -> None:
        self._inline_policy("user", user_name, policy_name, super().delete_user_policy)

    def create_group(self, group_name: str, path: str = "/") -> Any:
        if group_name in self.groups:
            raise EntityAlreadyExists(f"Group with name {group_name} already exists.")
        group = super().create_group(group_name, path)
        group.id = generate_access_key_id_from_account_id(group.account_id, "AGPA", 21)
        return group

    def delete_group(self, group_name: str) -> None:
        if self.get_group(group_name).users:
            raise DeleteConflictException(
                "Cannot delete entity, must remove users from group first.")
        super().delete_group(group_name)

    def get_policy_version(self, policy_arn: str, version_id: str) -> Any:
        with says(NO_VERSION.format(arn=policy_arn, version=version_id)):
            return super().get_policy_version(policy_arn, version_id)


    def delete_access_key(self, access_key_id: str, user_name: str) -> None:
        with says(f"The Access Key with id {access_key_id} cannot be found."):
            super().delete_access_key(access_key_id, user_name)

    def _login_profile(self, user_name: str) -> Any:
        user = self.get_user(user_name)
        if not user.password:
            raise NotFoundException(f"Login Profile for User {user_name} cannot be found.")
        return user

    def create_login_profile(self, user_name: str, password: str) -> Any:
        if self.get_user(user_name).password:
            raise EntityAlreadyExists(f"Login Profile for user {user_name} already exists.")
        user = super().create_login_profile(user_name, password)
        user.labkit_password_changed = utcnow()  # the report's password_last_changed
        return user

    def get_login_profile(self, user_name: str) -> Any:
        return self._login_profile(user_name)

    def update_login_profile(self, user_name: str, password: str | None,
                             password_reset_required: bool | None) -> Any:
        user = self._login_profile(user_name)
        # Each is optional (IAM API reference): what is not given stays as it was (moto took a
        # missing password for "no password", which removed the login profile).
        if password is None:
            password = user.password
        else:
            user.labkit_password_changed = utcnow()  # the report's password_last_changed
        if password_reset_required is None:
            password_reset_required = user.password_reset_required
        return super().update_login_profile(user_name, password, password_reset_required)

    def delete_login_profile(self, user_name: str) -> None:
        self._login_profile(user_name)
        super().delete_login_profile(user_name)

    # -- behaviour --------------------------------------------------------------------------
    def update_user(self, user_name: str, new_path: str | None = None,
                    new_user_name: str | None = None) -> None:
        user = self.get_user(user_name)  # AWS's "The user with name X cannot be found."
        super().update_user(user_name, new_path, new_user_name)
        # A renamed user's keys stay the user's: they keep signing, under the new name.
        for key in user.access_keys:
            key.user_name = user.name

    def delete_policy(self, policy_arn: str) -> None:
        policy = self.get_policy(policy_arn)
        if policy.attachment_count:
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        super().delete_policy(policy_arn)

    def create_policy(self, *args: Any, **kwargs: Any) -> Any:
        with policy_tags(), aws_policy_words():
            policy = super().create_policy(*args, **kwargs)
        policy.id = unique_id("ANPA")
        policy.permissions_boundary_usage_count = 0  # AWS reports it; moto's policy lacks it
        return policy

    def create_access_key(self, user_name: str, prefix: str = "AKIA",
                          status: str = "Active") -> Any:
        key = super().create_access_key(user_name, prefix=prefix, status=status)
        key.secret_access_key = new_secret()
        from labkit.sandbox.account_state import remember

        remember(key.secret_access_key)
        return key


def must_name_user() -> ValidationError:
    """AWS's answer to DeleteAccessKey (and friends) without UserName from non-user credentials."""
    return ValidationError("Must specify userName when calling with non-User credentials")
