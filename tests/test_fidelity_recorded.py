"""The sandbox answers as AWS answered in recordings: each expectation below is an answer recorded
from real AWS in LocalStack's AWS-validated snapshots (repository localstack/localstack, files
tests/aws/services/iam/test_iam_*.snapshot.json and tests/aws/services/sts/test_sts.snapshot.json;
the snapshot is named beside each test). Each also runs against stock moto, where it must fail
(strict xfail): that proves the test can fail."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.test_fidelity import (  # noqa: F401  (fixtures)
    ACCOUNT_ID,
    USER,
    Account,
    _error,
    _fresh_user,
    _key,
    account,
    labkit_account,
    stock_account,
)

pytestmark = pytest.mark.slow  # sandboxes: the full tier

ALLOW_S3 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
TRUST_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
     "Action": "sts:AssumeRole"}]})
VERSION_PATTERN = r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"


def _group(acct: Account, name: str) -> str:
    iam = acct.iam
    try:
        for user in iam.get_group(GroupName=name)["Users"]:
            iam.remove_user_from_group(GroupName=name, UserName=user["UserName"])
        for policy in iam.list_group_policies(GroupName=name)["PolicyNames"]:
            iam.delete_group_policy(GroupName=name, PolicyName=policy)
        iam.delete_group(GroupName=name)
    except ClientError:
        pass
    iam.create_group(GroupName=name)
    return name


def _customer_policy(acct: Account, name: str) -> str:
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    try:
        for version in acct.iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                acct.iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        acct.iam.delete_policy(PolicyArn=arn)
    except ClientError:
        pass
    return acct.iam.create_policy(PolicyName=name, PolicyDocument=ALLOW_S3)["Policy"]["Arn"]


# test_iam_users.snapshot.json :: TestUserAccessKeys::test_access_key_errors
def test_update_access_key_of_an_unknown_key(account: Account) -> None:
    got = _error(lambda: account.iam.update_access_key(
        UserName=USER, AccessKeyId="AKIAIOSFODNN7EXAMPLE", Status="Inactive"))
    assert (got["Code"], got["status"], got["Message"]) == (
        "NoSuchEntity", 404, "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.")


# ... get-last-used-nonexistent-key-error: "perform iam:..." (no colon)
def test_last_used_of_an_unknown_key(account: Account) -> None:
    got = _error(lambda: account.iam.get_access_key_last_used(AccessKeyId="AKIAIOSFODNN7EXAMPLE"))
    assert (got["Code"], got["status"]) == ("AccessDenied", 403)
    assert got["Message"].endswith(" is not authorized to perform iam:GetAccessKeyLastUsed on "
                                   "resource: access key AKIAIOSFODNN7EXAMPLE")


# test_iam_users :: TestUserGroups::test_user_group_membership; test_iam_groups ::
# test_get_group_with_path, test_list_group_policies
def test_group_answers_say_whether_they_are_truncated(account: Account) -> None:
    group = _group(account, "lab-recorded")
    assert account.iam.get_group(GroupName=group)["IsTruncated"] is False
    assert account.iam.list_group_policies(GroupName=group)["IsTruncated"] is False


# test_iam_users :: test_user_group_membership :: remove-nonmember-user-from-group
def test_removing_a_user_who_is_not_a_member_is_no_error(account: Account) -> None:
    group = _group(account, "lab-recorded")
    got = account.iam.remove_user_from_group(GroupName=group, UserName=USER)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200


# test_iam_groups :: test_remove_user_from_unknown_group: the missing user is named first
def test_removing_a_missing_user_from_a_missing_group_names_the_user(account: Account) -> None:
    got = _error(lambda: account.iam.remove_user_from_group(GroupName="no-such-group",
                                                           UserName="any-user"))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", "The user with name any-user cannot be found.")


# test_iam_groups :: test_update_group_duplicate_name
def test_renaming_a_group_to_a_taken_name(account: Account) -> None:
    first, second = _group(account, "lab-first"), _group(account, "lab-second")
    got = _error(lambda: account.iam.update_group(GroupName=first, NewGroupName=second))
    assert (got["Code"], got["status"], got["Message"]) == (
        "EntityAlreadyExists", 409, f"Group with name {second} already exists.")


# test_iam_policies :: test_policy_version_lifecycle: no Document outside GetPolicyVersion
def test_policy_versions_are_listed_without_their_documents(account: Account) -> None:
    arn = _customer_policy(account, "lab-versions")
    made = account.iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3,
                                             SetAsDefault=True)["PolicyVersion"]
    assert set(made) == {"CreateDate", "IsDefaultVersion", "VersionId"}
    listed = account.iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert all(set(v) == {"CreateDate", "IsDefaultVersion", "VersionId"} for v in listed)
    assert "Document" in account.iam.get_policy_version(PolicyArn=arn,
                                                        VersionId="v2")["PolicyVersion"]


# test_iam_policies :: test_policy_version_errors
def test_a_missing_policy_version_says_so(account: Account) -> None:
    arn = _customer_policy(account, "lab-versions")
    got = _error(lambda: account.iam.delete_policy_version(PolicyArn=arn, VersionId="v9"))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", f"Policy {arn} version v9 does not exist or is not attachable.")
    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/TestNonExistingPolicy"
    got = _error(lambda: account.iam.set_default_policy_version(PolicyArn=missing,
                                                                VersionId="v1"))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", f"Policy {missing} version v1 does not exist or is not attachable.")


# test_iam_managed_policies :: test_get_aws_managed_policy_version :: get-version-error
def test_a_malformed_version_id_is_a_validation_error(account: Account) -> None:
    got = _error(lambda: account.iam.get_policy_version(
        PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword", VersionId="v2-does-not-exist"))
    assert (got["Code"], got["status"], got["Message"]) == (
        "ValidationError", 400, "1 validation error detected: Value at 'versionId' failed to "
        f"satisfy constraint: Member must satisfy regular expression pattern: {VERSION_PATTERN}")


# test_iam_policies :: TestPolicyTags::test_policy_tag_create_errors :: err-duplicate-keys
def test_duplicate_tag_keys_in_iam_words(account: Account) -> None:
    got = _error(lambda: account.iam.create_policy(
        PolicyName="lab-tags", PolicyDocument=ALLOW_S3,
        Tags=[{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]))
    assert (got["Code"], got["status"], got["Message"]) == (
        "InvalidInput", 400, "Duplicate tag keys found.")


# test_iam_managed_policies :: test_get_aws_managed_policy :: get-policy
def test_an_aws_managed_policy_has_its_description(account: Account) -> None:
    policy = account.iam.get_policy(
        PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")["Policy"]
    assert policy["Description"] == \
        "Provides the ability for an IAM user to change their own password."
    assert policy["PermissionsBoundaryUsageCount"] == 0


# test_iam_mfa :: test_enable_mfa_device_errors, test_virtual_mfa_device_errors
def test_mfa_device_errors_in_aws_words(account: Account) -> None:
    iam = account.iam
    serial = f"arn:aws:iam::{ACCOUNT_ID}:mfa/nonexistent-mfa"
    got = _error(lambda: iam.deactivate_mfa_device(UserName=USER, SerialNumber=serial))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", f"MFA Device with serial number {serial} does not exist.")
    got = _error(lambda: iam.delete_virtual_mfa_device(SerialNumber=serial))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", f"MFA Device with serial number {serial} does not exist.")
    got = _error(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="lab",
                                                       Path="test-path/"))
    assert (got["Code"], got["status"]) == ("ValidationError", 400)
    assert got["Message"].startswith("The specified value for path is invalid.")
    made = iam.create_virtual_mfa_device(VirtualMFADeviceName="lab-device")["VirtualMFADevice"]
    try:
        got = _error(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="lab-device"))
        assert (got["Code"], got["status"], got["Message"]) == (
            "EntityAlreadyExists", 409, "MFA device already exists.")
    finally:
        iam.delete_virtual_mfa_device(SerialNumber=made["SerialNumber"])


# test_iam_roles :: TestRoleLifecycle::test_update_assume_role_policy_errors
@pytest.mark.parametrize("document, message", [
    ("{not json", "This policy contains invalid Json"),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
         "Action": "s3:GetObject"}]}),
     "AssumeRole policy may only specify STS AssumeRole actions."),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
         "Action": "sts:AssumeRole", "Resource": "*"}]}),
     "Has prohibited field Resource"),
], ids=["invalid-json", "invalid-action", "resource-field"])
def test_a_bad_trust_policy_in_aws_words(account: Account, document: str, message: str) -> None:
    try:
        account.iam.delete_role(RoleName="lab-trust")
    except ClientError:
        pass
    account.iam.create_role(RoleName="lab-trust", AssumeRolePolicyDocument=TRUST_ACCOUNT)
    got = _error(lambda: account.iam.update_assume_role_policy(RoleName="lab-trust",
                                                               PolicyDocument=document))
    assert (got["Code"], got["status"], got["Message"]) == (
        "MalformedPolicyDocument", 400, message)


# test_iam_account_summary :: test_get_account_summary_format
def test_account_summary_says_whether_the_root_user_has_a_password(account: Account) -> None:
    assert account.iam.get_account_summary()["SummaryMap"]["AccountPasswordPresent"] == 1


# Not in a recording: UpdateLoginProfile's Password is optional (IAM API reference); leaving it
# out keeps the password (stock moto removed the login profile).
def test_update_login_profile_without_a_password_keeps_it(account: Account) -> None:
    iam = account.iam
    iam.create_login_profile(UserName=USER, Password="Lab-Passw0rd-2026!")
    iam.update_login_profile(UserName=USER, PasswordResetRequired=True)
    profile = iam.get_login_profile(UserName=USER)["LoginProfile"]
    assert profile["PasswordResetRequired"] is True


# --- the second sweep ------------------------------------------------------------------------

def _role(acct: Account, name: str, **kwargs) -> dict:
    try:
        acct.iam.delete_role(RoleName=name)
    except ClientError:
        pass
    return acct.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ACCOUNT,
                                **kwargs)["Role"]


# test_iam_roles :: test_update_role: what UpdateRole is not given stays; the answers' members
def test_update_role_changes_only_what_it_is_given(account: Account) -> None:
    iam = account.iam
    made = _role(account, "lab-update", Description="made", MaxSessionDuration=7200)
    assert "Description" not in made  # CreateRole does not echo it
    described = iam.update_role_description(RoleName="lab-update", Description="described")
    assert set(described["Role"]) == {"Arn", "AssumeRolePolicyDocument", "CreateDate",
                                      "Description", "Path", "RoleId", "RoleName"}
    iam.update_role(RoleName="lab-update")
    role = iam.get_role(RoleName="lab-update")["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("described", 7200)


# test_iam_roles :: list roles with PathPrefix, MaxItems, Marker: in the order they were made
def test_roles_are_listed_in_the_order_they_were_made(account: Account) -> None:
    names = [f"lab-order-{i}" for i in range(5)]
    for name in names:
        try:
            account.iam.delete_role(RoleName=name)
        except ClientError:
            pass
    for name in names:
        account.iam.create_role(RoleName=name, Path="/lab-order/",
                                AssumeRolePolicyDocument=TRUST_ACCOUNT)
    first = account.iam.list_roles(PathPrefix="/lab-order/", MaxItems=2)
    assert [r["RoleName"] for r in first["Roles"]] == names[:2] and first["IsTruncated"]
    rest = account.iam.list_roles(PathPrefix="/lab-order/", Marker=first["Marker"])
    assert [r["RoleName"] for r in rest["Roles"]] == names[2:]


# test_iam_roles :: role tag validation; test_iam_policies :: policy tag validation
@pytest.mark.parametrize("tags, message", [
    ([{"Key": str(i), "Value": str(i)} for i in range(51)],
     "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must "
     "have length less than or equal to 50"),
    ([{"Key": "k" * 129, "Value": "v"}],
     "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: "
     "Member must have length less than or equal to 128"),
    ([{"Key": "ok", "Value": "v"}, {"Key": "invalid!key", "Value": "v"}],
     "1 validation error detected: Value at 'tags.2.member.key' failed to satisfy constraint: "
     r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"),
    ([{"Key": "k", "Value": "v" * 257}],
     "1 validation error detected: Value at 'tags.1.member.value' failed to satisfy "
     "constraint: Member must have length less than or equal to 256"),
], ids=["51-tags", "long-key", "bad-key", "long-value"])
def test_tags_are_refused_in_aws_words(account: Account, tags: list, message: str) -> None:
    got = _error(lambda: account.iam.tag_role(RoleName="lab-tags-nobody", Tags=tags))
    assert (got["Code"], got["status"], got["Message"]) == ("ValidationError", 400, message)


def test_untagging_bad_keys_is_refused_in_aws_words(account: Account) -> None:
    _role(account, "lab-untag")
    got = _error(lambda: account.iam.untag_role(RoleName="lab-untag", TagKeys=["invalid!key"]))
    assert got["Message"] == (
        "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member "
        "must satisfy constraint: [Member must have length less than or equal to 128, Member "
        "must have length greater than or equal to 1, Member must satisfy regular expression "
        r"pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+, Member must not be null]")


def test_duplicate_role_tags_are_refused_case_insensitively(labkit_account: Account) -> None:
    # Stock moto answers this as AWS does: checked here so that the policy's shorter words
    # (above) do not spread to roles.
    got = _error(lambda: _role(labkit_account, "lab-dup", Tags=[{"Key": "mykey", "Value": "a"},
                                                        {"Key": "MyKey", "Value": "b"}]))
    assert (got["Code"], got["Message"]) == (
        "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")


# test_iam_signing_certificates, test_iam_ssh_public_keys (DeleteUser's prerequisites)
def test_ssh_keys_and_signing_certificates_answer_as_aws(account: Account) -> None:
    iam = account.iam
    assert iam.list_ssh_public_keys(UserName=USER)["IsTruncated"] is False
    assert iam.list_signing_certificates(UserName=USER)["IsTruncated"] is False
    for call in (lambda: iam.get_ssh_public_key(UserName=USER, SSHPublicKeyId="APKAEXAMPLEEXAMPLE00",
                                                Encoding="SSH"),
                 lambda: iam.delete_ssh_public_key(UserName=USER, SSHPublicKeyId="APKAEXAMPLEEXAMPLE00")):
        got = _error(call)
        assert (got["Code"], got["Message"]) == (
            "NoSuchEntity", "The Public Key with id APKAEXAMPLEEXAMPLE00 cannot be found.")
    got = _error(lambda: iam.upload_signing_certificate(UserName=USER,
                                                        CertificateBody="not-a-certificate"))
    assert (got["Code"], got["Message"]) == (
        "MalformedCertificate", "Certificate not-a-certificate is malformed.")


# test_iam_account_password_policy
def test_password_policy_answers_as_aws(account: Account) -> None:
    iam = account.iam
    got = _error(lambda: iam.update_account_password_policy(
        MinimumPasswordLength=129, PasswordReusePrevention=25, MaxPasswordAge=1096))
    assert got["Message"] == (
        "3 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy "
        "constraint: Member must have value less than or equal to 128; Value at "
        "'passwordReusePrevention' failed to satisfy constraint: Member must have value less "
        "than or equal to 24; Value at 'maxPasswordAge' failed to satisfy constraint: Member "
        "must have value less than or equal to 1095")
    iam.update_account_password_policy()
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        assert "MaxPasswordAge" not in policy and "HardExpiry" not in policy
    finally:
        iam.delete_account_password_policy()


# test_iam_policies :: ListEntitiesForPolicy; group IDs AGPA (as users' AIDA)
def test_entities_for_policy_answer_as_aws(account: Account) -> None:
    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/NonExistentPolicy"
    got = _error(lambda: account.iam.list_entities_for_policy(PolicyArn=missing))
    assert (got["Code"], got["Message"]) == (
        "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    arn = _customer_policy(account, "lab-entities")
    account.iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    try:
        none = account.iam.list_entities_for_policy(PolicyArn=arn,
                                                    EntityFilter="LocalManagedPolicy")
        assert (none["PolicyUsers"], none["PolicyGroups"], none["PolicyRoles"]) == ([], [], [])
    finally:
        account.iam.detach_user_policy(UserName=USER, PolicyArn=arn)


def test_group_ids_have_aws_form(account: Account) -> None:
    import re

    group = account.iam.get_group(GroupName=_group(account, "lab-ids"))["Group"]
    assert re.fullmatch(r"AGPA[A-Z0-9]{17}", group["GroupId"]), group["GroupId"]


# test_iam_policies :: invalid policy document: AWS's words
def test_a_bad_resource_path_in_aws_words(account: Account) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:iam:::example"}]})
    got = _error(lambda: account.iam.create_policy(PolicyName="lab-bad-path",
                                                   PolicyDocument=document))
    assert got["Code"] == "MalformedPolicyDocument"
    assert got["Message"].startswith('IAM resource path must either be "*", root, or start with')


# test_iam_roles :: permissions boundaries
def test_permissions_boundaries_answer_as_aws(account: Account) -> None:
    arn = _customer_policy(account, "lab-boundary")
    role = _role(account, "lab-bounded", PermissionsBoundary=arn)
    assert role["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy",
                                           "PermissionsBoundaryArn": arn}
    assert account.iam.get_role(RoleName="lab-bounded")["Role"]["PermissionsBoundary"][
        "PermissionsBoundaryType"] == "Policy"
    bad = f"arn:aws:iam::{ACCOUNT_ID}:not_a_policy/invalid"
    got = _error(lambda: account.iam.put_role_permissions_boundary(
        RoleName="lab-bounded", PermissionsBoundary=bad))
    assert (got["Code"], got["status"], got["Message"]) == (
        "InvalidInput", 400, f"ARN {bad} is not valid.")
    missing = f"arn:aws:iam::{ACCOUNT_ID}:policy/nonexistent-policy"
    got = _error(lambda: _role(account, "lab-unbounded", PermissionsBoundary=missing))
    assert (got["Code"], got["status"], got["Message"]) == (
        "NoSuchEntity", 404, f"Scope ARN: {missing} does not exist or is not attachable.")
    account.iam.delete_role_permissions_boundary(RoleName="lab-bounded")
    account.iam.delete_role(RoleName="lab-bounded")
