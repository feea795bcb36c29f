"""The lab's IAM operations, named after the AWS API; the client is passed in.

Creating what already exists is fine (the lab reuses it), so every lesson cell can be re-run.
In real-AWS mode (`guarded=True`) the lab changes only what it created itself (tagged).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labkit import guard
from labkit.errors import error_code
from labkit.guard import LAB_TAG, NotOwnedError
from labkit.keys import AccessKey, mask_key_id

__all__ = ["LAB_TAG", "NotOwnedError"]  # re-exported: the guard's tag and refusal

USER_NAME = "temporary-iam-user"
READ_ONLY = "IAMReadOnlyAccess"


@dataclass(frozen=True)
class User:
    """An IAM user, and whether this call created it."""

    name: str
    arn: str
    created: datetime
    new: bool = False

    def __str__(self) -> str:
        verb = "Created" if self.new else "Found existing"
        return f"{verb} IAM user {self.name} ({self.arn})"


def policy_arn(name_or_arn: str) -> str:
    """The ARN of an AWS managed policy given its name (ARNs pass through)."""
    return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:iam::aws:policy/{name_or_arn}"


def get_user(iam: Any, user_name: str = USER_NAME) -> User | None:
    """The user, or None when there is no such user."""
    try:
        got = iam.get_user(UserName=user_name)["User"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return User(got["UserName"], got["Arn"], got["CreateDate"])


def create_user(iam: Any, user_name: str = USER_NAME) -> User:
    """Create the IAM user (tagged as the lab's); if it exists already, return it."""
    existing = get_user(iam, user_name)
    if existing is not None:
        return existing
    try:
        got = iam.create_user(UserName=user_name, Tags=[LAB_TAG])["User"]
    except iam.exceptions.EntityAlreadyExistsException:
        existing = get_user(iam, user_name)
        assert existing is not None
        return existing
    return User(got["UserName"], got["Arn"], got["CreateDate"], new=True)


def attach_user_policy(iam: Any, user_name: str = USER_NAME, policy: str = READ_ONLY) -> str:
    """Attach a managed policy (by name or ARN); attaching it again changes nothing. Says what it did."""
    arn = policy_arn(policy)
    name = arn.rsplit("/", 1)[-1]
    if arn in list_attached_user_policies(iam, user_name).values():
        return f"{name} was already attached to {user_name}."
    try:
        iam.attach_user_policy(UserName=user_name, PolicyArn=arn)
    except iam.exceptions.NoSuchEntityException:
        # A stock moto server may lack AWS managed policies; moto's own copy has their documents.
        from labkit.sandbox.managed_policies import document as managed_document

        document = managed_document(name) if ":aws:policy/" in arn else None
        if document is None:
            raise
        # Stock moto without AWS managed policies: a customer policy with the same document.
        account = iam.get_user(UserName=user_name)["User"]["Arn"].split(":")[4]
        local = f"arn:aws:iam::{account}:policy/{name}"
        try:
            iam.create_policy(PolicyName=name, PolicyDocument=document)
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        iam.attach_user_policy(UserName=user_name, PolicyArn=local)
        return (f"Attached {name} to {user_name} (this moto server has no AWS managed policies, "
                "so the lab made a copy with the same permissions).")
    return f"Attached {name} to {user_name}."


def list_attached_user_policies(iam: Any, user_name: str = USER_NAME) -> dict[str, str]:
    """Policy name -> ARN for every managed policy attached to the user."""
    pages = iam.get_paginator("list_attached_user_policies").paginate(UserName=user_name)
    return {p["PolicyName"]: p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]}


def create_access_key(iam: Any, user_name: str = USER_NAME) -> AccessKey:
    """Create an access key pair. AWS shows its secret this once: keep the returned value."""
    got = iam.create_access_key(UserName=user_name)["AccessKey"]
    return AccessKey(got["AccessKeyId"], got["SecretAccessKey"], got["UserName"], got["Status"],
                     got.get("CreateDate"))


def list_access_keys(iam: Any, user_name: str = USER_NAME) -> list[AccessKey]:
    """The user's keys, oldest first, without secrets (AWS never returns them again)."""
    pages = iam.get_paginator("list_access_keys").paginate(UserName=user_name)
    keys = [AccessKey(k["AccessKeyId"], "", k["UserName"], k["Status"], k["CreateDate"])
            for page in pages for k in page["AccessKeyMetadata"]]
    return sorted(keys, key=lambda k: k.created or datetime.min)


def _guard(iam: Any, user_name: str, guarded: bool, operation: str = "this change") -> None:
    """In real-AWS mode, refuse to touch a user the lab did not create (the same check as the
    hook on the lab's IAM clients, so also clients made without it are guarded)."""
    if guarded:
        guard.check(iam, "user", user_name, operation)


def update_access_key(iam: Any, access_key_id: str, status: str, user_name: str = USER_NAME,
                      *, guarded: bool = False) -> str:
    """Make a key Active or Inactive. Says what it did."""
    if status not in ("Active", "Inactive"):
        raise ValueError(f"A key's status is 'Active' or 'Inactive', not {status!r}.")
    _guard(iam, user_name, guarded, "UpdateAccessKey")
    iam.update_access_key(UserName=user_name, AccessKeyId=access_key_id, Status=status)
    return f"Key {mask_key_id(access_key_id)} of {user_name} is now {status}."


def delete_access_key(iam: Any, access_key_id: str, user_name: str = USER_NAME,
                      *, guarded: bool = False) -> str:
    """Delete one key for good; deleting a key that is already gone is not an error."""
    _guard(iam, user_name, guarded, "DeleteAccessKey")
    try:
        iam.delete_access_key(UserName=user_name, AccessKeyId=access_key_id)
    except iam.exceptions.NoSuchEntityException:
        return f"Key {mask_key_id(access_key_id)} was already deleted."
    return f"Deleted key {mask_key_id(access_key_id)} of {user_name}."


def delete_user(iam: Any, user_name: str = USER_NAME, *, guarded: bool = False) -> list[str]:
    """Delete the user and everything hanging off it, in the order AWS requires. Returns the steps."""
    _guard(iam, user_name, guarded, "DeleteUser")
    if get_user(iam, user_name) is None:
        return [f"There is no user {user_name}: nothing to delete."]
    steps: list[str] = []
    try:
        iam.delete_login_profile(UserName=user_name)
        steps.append("Deleted the console password.")
    except iam.exceptions.NoSuchEntityException:
        pass
    for key in list_access_keys(iam, user_name):
        iam.delete_access_key(UserName=user_name, AccessKeyId=key.access_key_id)
        steps.append(f"Deleted access key {key.masked_id}.")
    for cert in iam.list_signing_certificates(UserName=user_name).get("Certificates", []):
        iam.delete_signing_certificate(UserName=user_name, CertificateId=cert["CertificateId"])
        steps.append("Deleted a signing certificate.")
    for ssh in iam.list_ssh_public_keys(UserName=user_name).get("SSHPublicKeys", []):
        iam.delete_ssh_public_key(UserName=user_name, SSHPublicKeyId=ssh["SSHPublicKeyId"])
        steps.append("Deleted an SSH public key.")
    try:
        creds = iam.list_service_specific_credentials(UserName=user_name)
    except Exception as exc:
        if error_code(exc) not in (None, "NotImplemented", "InvalidAction") and \
                "not" not in str(exc).lower():
            raise
        creds = {}
    for cred in creds.get("ServiceSpecificCredentials", []):
        iam.delete_service_specific_credential(
            UserName=user_name, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
        steps.append("Deleted a service-specific credential.")
    for mfa in iam.list_mfa_devices(UserName=user_name).get("MFADevices", []):
        iam.deactivate_mfa_device(UserName=user_name, SerialNumber=mfa["SerialNumber"])
        steps.append("Removed an MFA device.")
    for name in iam.list_user_policies(UserName=user_name).get("PolicyNames", []):
        iam.delete_user_policy(UserName=user_name, PolicyName=name)
        steps.append(f"Deleted inline policy {name}.")
    for name, arn in list_attached_user_policies(iam, user_name).items():
        iam.detach_user_policy(UserName=user_name, PolicyArn=arn)
        steps.append(f"Detached {name}.")
    for group in iam.list_groups_for_user(UserName=user_name).get("Groups", []):
        iam.remove_user_from_group(UserName=user_name, GroupName=group["GroupName"])
        steps.append(f"Removed from group {group['GroupName']}.")
    iam.delete_user(UserName=user_name)
    steps.append(f"Deleted the user {user_name}.")
    return steps


ROLE_NAME = "temporary-iam-role"


def create_role(iam: Any, role_name: str, trusted_arn: str, policy: str = READ_ONLY) -> str:
    """Create a role that `trusted_arn` may assume, with a managed policy; returns its ARN."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": trusted_arn}, "Action": "sts:AssumeRole"}]}
    try:
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust),
                              MaxSessionDuration=3600, Tags=[LAB_TAG])["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn(policy))
    return arn


def allow_assume_role(iam: Any, user_name: str, role_arn: str) -> str:
    """Give the user permission to assume one role (an inline policy); idempotent."""
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}
    iam.put_user_policy(UserName=user_name, PolicyName="AssumeTemporaryRole",
                        PolicyDocument=json.dumps(document))
    return f"{user_name} may now assume {role_arn.rsplit('/', 1)[-1]}."


def disallow_assume_role(iam: Any, user_name: str) -> str:
    """Take back the permission given by allow_assume_role; idempotent."""
    try:
        iam.delete_user_policy(UserName=user_name, PolicyName="AssumeTemporaryRole")
    except iam.exceptions.NoSuchEntityException:
        return f"{user_name} had no permission to assume the role."
    return f"{user_name} may no longer assume the role."


def delete_role(iam: Any, role_name: str, *, guarded: bool = False) -> list[str]:
    """Detach the role's policies and delete it; a missing role is not an error."""
    try:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role_name)["Tags"]}
    except iam.exceptions.NoSuchEntityException:
        return [f"There is no role {role_name}: nothing to delete."]
    if guarded and tags.get(LAB_TAG["Key"]) != LAB_TAG["Value"]:
        guard.check(iam, "role", role_name, "DeleteRole")
    steps = []
    for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role_name, PolicyArn=p["PolicyArn"])
        steps.append(f"Detached {p['PolicyName']}.")
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role_name, PolicyName=name)
        steps.append(f"Deleted inline policy {name}.")
    iam.delete_role(RoleName=role_name)
    steps.append(f"Deleted the role {role_name}.")
    return steps
