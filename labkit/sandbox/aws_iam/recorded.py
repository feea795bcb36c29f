"""IAM answers recorded from real AWS (LocalStack's AWS-validated snapshots) where moto's differ:
tags, roles, SSH keys, signing certificates, groups, MFA devices, trust policies, policy versions
and the password policy. A mixin of SandboxIAMBackend (models.py), before moto's IAMBackend."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.iam.exceptions import (
    DuplicateTags,
    EntityAlreadyExists,
    IAMException,
    InvalidInput,
    MalformedCertificate,
    MalformedPolicyDocument,
    NotFoundException,
    ValidationError,
)

from labkit.sandbox.aws_iam import tags as tags_rules

NO_VERSION = "Policy {arn} version {version} does not exist or is not attachable."
_NO_MFA = "MFA Device with serial number {serial} does not exist."
_BAD_PATH = ("The specified value for path is invalid. It must begin and end with / and contain "
             "only alphanumeric characters and/or / characters.")
# moto's words for a trust policy it refuses -> AWS's (recorded, UpdateAssumeRolePolicy).
_TRUST_POLICY_WORDS = (
    ("Syntax errors in policy.", "This policy contains invalid Json"),
    ("Trust Policy statement actions can only be",
     "AssumeRole policy may only specify STS AssumeRole actions."),
    ("Has prohibited field Resource.", "Has prohibited field Resource"),
)


_tagging = threading.local()


@contextmanager
def policy_tags() -> Iterator[None]:
    """While a policy is tagged: its duplicate-key refusal is AWS's shorter one."""
    _tagging.policy = True
    try:
        yield
    finally:
        _tagging.policy = False


@contextmanager
def says(message: str, error: type[Exception] = NotFoundException) -> Iterator[None]:
    """Re-raise moto's `error` with AWS's message."""
    try:
        yield
    except error:
        raise error(message) from None



class Malformed(IAMException):
    """MalformedCertificate with AWS's words."""

    code = "MalformedCertificate"


# moto's words for a policy document it refuses -> AWS's (recorded, CreatePolicy).
_POLICY_WORDS = (('IAM resource path must either be "*" or start with',
                  'IAM resource path must either be "*", root, or start with'),)
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+$")
# moto's `Value "129" at "minimumPasswordLength"` -> AWS's `Value at 'minimumPasswordLength'`.
_VALUE_AT = re.compile(r'Value "[^"]*" at "([^"]+)"')


@contextmanager
def aws_policy_words() -> Iterator[None]:
    """Re-raise moto's MalformedPolicyDocument with AWS's words."""
    try:
        yield
    except MalformedPolicyDocument as error:
        said = str(getattr(error, "message", "") or "")
        for moto_words, aws_words in _POLICY_WORDS:
            said = said.replace(moto_words, aws_words)
        raise MalformedPolicyDocument(said) from None


class RecordedAnswers:
    """moto IAMBackend methods with AWS's recorded answers (mixed in before IAMBackend)."""

    # -- permissions boundaries (recorded: test_iam_roles) -------------------------------------
    def _check_boundary(self, arn: str | None) -> None:
        if not arn:
            return
        if not _POLICY_ARN.match(arn):
            raise InvalidInput(f"ARN {arn} is not valid.")
        with says(f"Scope ARN: {arn} does not exist or is not attachable."):
            self.get_policy(arn)  # type: ignore[attr-defined]

    def create_role(self, role_name: str, assume_role_policy_document: str, path: str,
                    permissions_boundary: str | None, *args: Any, **kwargs: Any) -> Any:
        self._check_boundary(permissions_boundary)
        return super().create_role(  # type: ignore[misc]
            role_name, assume_role_policy_document, path, permissions_boundary, *args, **kwargs)

    def put_role_permissions_boundary(self, role_name: str, permissions_boundary: str) -> None:
        self._check_boundary(permissions_boundary)
        super().put_role_permissions_boundary(role_name, permissions_boundary)  # type: ignore[misc]

    def update_account_password_policy(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().update_account_password_policy(*args, **kwargs)  # type: ignore[misc]
        except ValidationError as error:
            said = str(getattr(error, "message", "") or "")
            raise ValidationError(_VALUE_AT.sub(r"Value at '\1'", said)) from None

    def create_policy_version(self, *args: Any, **kwargs: Any) -> Any:
        with aws_policy_words():
            return super().create_policy_version(*args, **kwargs)  # type: ignore[misc]

    def put_user_policy(self, *args: Any, **kwargs: Any) -> None:
        with aws_policy_words():
            super().put_user_policy(*args, **kwargs)  # type: ignore[misc]

    def put_role_policy(self, *args: Any, **kwargs: Any) -> None:
        with aws_policy_words():
            super().put_role_policy(*args, **kwargs)  # type: ignore[misc]

    def put_group_policy(self, *args: Any, **kwargs: Any) -> None:
        with aws_policy_words():
            super().put_group_policy(*args, **kwargs)  # type: ignore[misc]

    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        with says(NO_VERSION.format(arn=policy_arn, version=version_id)):
            super().delete_policy_version(policy_arn, version_id)

    def set_default_policy_version(self, policy_arn: str, version_id: str) -> bool:
        with says(NO_VERSION.format(arn=policy_arn, version=version_id)):
            return bool(super().set_default_policy_version(policy_arn, version_id))

    def _check_tag_duplicate(self, all_tags: dict[str, Any], tag_key: str) -> None:
        if tag_key in all_tags:  # recorded: a policy's refusal is shorter than a role's
            raise DuplicateTags("Duplicate tag keys found.") if getattr(
                _tagging, "policy", False) else DuplicateTags()

    def _tag_verification(self, tags: list[dict[str, str]]) -> dict[str, dict[str, str]]:
        return tags_rules.verify(tags, self._check_tag_duplicate)

    def untag_role(self, role_name: str, tag_keys: list[str]) -> None:
        tags_rules.check_untag(tag_keys)
        super().untag_role(role_name, tag_keys)

    def untag_policy(self, policy_arn: str, tag_keys: list[str]) -> None:
        tags_rules.check_untag(tag_keys)
        super().untag_policy(policy_arn, tag_keys)

    def untag_user(self, name: str, tag_keys: list[str]) -> None:
        tags_rules.check_untag(tag_keys)
        super().untag_user(name, tag_keys)

    def tag_policy(self, policy_arn: str, tags: list[dict[str, str]]) -> None:
        with policy_tags():
            super().tag_policy(policy_arn, tags)

    # -- roles --------------------------------------------------------------------------------
    def update_role(self, role_name: str, role_description: str | None,
                    max_session_duration: Any) -> Any:
        role = self.get_role(role_name)
        # UpdateRole changes what it is given (recorded): moto cleared the description and set
        # the maximum session back to an hour when they were left out.
        return super().update_role(
            role_name, role.description if role_description is None else role_description,
            role.max_session_duration if max_session_duration is None else max_session_duration)

    def list_roles(self, path_prefix: str | None = None, marker: str | None = None,
                   max_items: int | None = None) -> tuple[list[Any], str | None]:
        # In the order they were made (recorded), where moto sorts them by their random IDs.
        prefix, start, count = path_prefix or "/", int(marker or 0), int(max_items or 100)
        roles = [r for r in self.roles.values() if r.path.startswith(prefix)]
        page = roles[start:start + count]
        return page, (str(start + count) if len(roles) > start + count else None)

    # -- SSH public keys, signing certificates ------------------------------------------------
    def _ssh_key(self, user_name: str, key_id: str, call: Any, *args: Any) -> Any:
        self.get_user(user_name)
        with says(f"The Public Key with id {key_id} cannot be found."):
            return call(user_name, key_id, *args)

    def get_ssh_public_key(self, user_name: str, ssh_public_key_id: str) -> Any:
        return self._ssh_key(user_name, ssh_public_key_id, super().get_ssh_public_key)

    def update_ssh_public_key(self, user_name: str, ssh_public_key_id: str, status: str) -> None:
        self._ssh_key(user_name, ssh_public_key_id, super().update_ssh_public_key, status)

    def delete_ssh_public_key(self, user_name: str, ssh_public_key_id: str) -> None:
        self._ssh_key(user_name, ssh_public_key_id, super().delete_ssh_public_key)

    def upload_signing_certificate(self, user_name: str, body: str) -> Any:
        try:
            return super().upload_signing_certificate(user_name, body)
        except MalformedCertificate:
            raise Malformed(f"Certificate {body} is malformed.") from None  # AWS's full stop

    # -- groups -------------------------------------------------------------------------------
    def update_group(self, group_name: str, new_group_name: str | None,
                     new_path: str | None) -> None:
        if new_group_name and new_group_name in self.groups:
            raise EntityAlreadyExists(f"Group with name {new_group_name} already exists.")
        super().update_group(group_name, new_group_name, new_path)

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        user = self.get_user(user_name)  # AWS names a missing user first
        group = self.get_group(group_name)
        if user in group.users:  # removing a non-member is no error
            group.users.remove(user)

    # -- MFA devices and trust policies ------------------------------------------------------
    def deactivate_mfa_device(self, user_name: str, serial_number: str) -> None:
        self.get_user(user_name)  # a missing user is named as such
        with says(_NO_MFA.format(serial=serial_number)):
            super().deactivate_mfa_device(user_name, serial_number)

    def delete_virtual_mfa_device(self, serial_number: str) -> None:
        with says(_NO_MFA.format(serial=serial_number)):
            super().delete_virtual_mfa_device(serial_number)

    def create_virtual_mfa_device(self, device_name: str, path: str) -> Any:
        path = path or "/"
        if not (path.startswith("/") and path.endswith("/")):  # moto accepts half of it
            raise ValidationError(_BAD_PATH)
        with says("MFA device already exists.", EntityAlreadyExists):
            return super().create_virtual_mfa_device(device_name, path)

    def update_assume_role_policy(self, role_name: str, policy_document: str) -> None:
        try:
            super().update_assume_role_policy(role_name, policy_document)
        except MalformedPolicyDocument as error:
            said = str(getattr(error, "message", "") or "")
            raise MalformedPolicyDocument(next(
                (aws for moto, aws in _TRUST_POLICY_WORDS if said.startswith(moto)), said)) \
                from None
