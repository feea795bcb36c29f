"""Round three (issue 23): the sandbox answers as recorded AWS answers do. Each behaviour is also
run against stock moto, where it must fail (strict xfail): that proves the test can fail."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from tests.test_fidelity import (  # noqa: F401  (fixtures)
    ACCOUNT_ID,
    AWS_UNIQUE_ID,
    USER,
    Account,
    _error,
    _fresh_user,
    _key,
    _role,
    _user_arn,
    account,
    labkit_account,
    stock_account,
)

# An access key ID: AKIA (a user's) or ASIA (temporary) and 16 more, 20 in all, as in AWS's
# documentation's example key; moto's server finds the key only at that length.
AWS_KEY_ID = r"^{}[A-Z0-9]{{16}}$"

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

ALLOW_ALL_S3 = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
ALLOW_ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})


def _policy(acct: Account, name: str) -> dict:
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    try:
        for entity in acct.iam.list_entities_for_policy(PolicyArn=arn)["PolicyRoles"]:
            acct.iam.detach_role_policy(RoleName=entity["RoleName"], PolicyArn=arn)
        acct.iam.delete_policy(PolicyArn=arn)
    except Exception:  # noqa: BLE001  (not there yet)
        pass
    return acct.iam.create_policy(PolicyName=name, PolicyDocument=ALLOW_ALL_S3)["Policy"]


# This one first: the module's sandbox has not generated a credential report yet.
def test_credential_report_before_generation_is_report_not_present_without_message(
        account: Account) -> None:
    got = _error(account.iam.get_credential_report)
    assert got["Code"] == "ReportNotPresent" and got["status"] == 410
    assert "Message" not in got


def test_errors_carry_only_aws_envelope(account: Account) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        account.iam.get_user(UserName="nobody-here")
    # AWS sends Type, Code and Message: no lower-case `message` beside them.
    assert set(err.value.response["Error"]) == {"Type", "Code", "Message"}
    assert "message" not in err.value.response


@pytest.mark.parametrize("call, message", [
    (lambda iam: iam.get_role(RoleName="no-such-role"),
     "The role with name no-such-role cannot be found."),
    (lambda iam: iam.update_user(UserName="no-such-user", NewUserName="x"),
     "The user with name no-such-user cannot be found."),
    (lambda iam: iam.get_group(GroupName="no-such-group"),
     "The group with name no-such-group cannot be found."),
    (lambda iam: iam.get_login_profile(UserName=USER),
     f"Login Profile for User {USER} cannot be found."),
    (lambda iam: iam.delete_login_profile(UserName=USER),
     f"Login Profile for User {USER} cannot be found."),
    (lambda iam: iam.get_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/no-such-policy"),
     f"Policy arn:aws:iam::{ACCOUNT_ID}:policy/no-such-policy was not found."),
    (lambda iam: iam.get_user_policy(UserName=USER, PolicyName="no-such-policy"),
     "The user policy with name no-such-policy cannot be found."),
], ids=["role", "update-user", "group", "login-profile", "delete-login-profile", "policy",
        "user-policy"])
def test_no_such_entity_says_what_aws_says(account: Account, call, message: str) -> None:
    got = _error(lambda: call(account.iam))
    assert got["Code"] == "NoSuchEntity" and got["status"] == 404
    assert got["Message"] == message


def test_a_second_login_profile_is_refused_in_aws_words(account: Account) -> None:
    account.iam.create_login_profile(UserName=USER, Password="Lab-Passw0rd-2026!")
    got = _error(lambda: account.iam.create_login_profile(UserName=USER,
                                                          Password="Lab-Passw0rd-2026!"))
    assert got["Code"] == "EntityAlreadyExists" and got["status"] == 409
    assert got["Message"] == f"Login Profile for user {USER} already exists."


@pytest.mark.parametrize("arn, session, message", [
    ("not-a-role-arn-at-all", "lesson-07", "not-a-role-arn-at-all is invalid"),
    (f"arn:aws:iam::{ACCOUNT_ID}:role/lab-reader", "lesson 07!",
     "1 validation error detected: Value 'lesson 07!' at 'roleSessionName' failed to satisfy "
     r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"),
    (f"arn:aws:iam::{ACCOUNT_ID}:role/lab-reader", "s" * 65,
     f"1 validation error detected: Value '{'s' * 65}' at 'roleSessionName' failed to satisfy "
     "constraint: Member must have length less than or equal to 64"),
], ids=["role-arn", "session-name", "session-length"])
def test_assume_role_validates_before_it_authorizes(account: Account, arn: str, session: str,
                                                    message: str) -> None:
    sts = account.client("sts", _key(account))  # a user without any policy: AWS still validates
    got = _error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName=session))
    assert got["Code"] == "ValidationError" and got["status"] == 400
    assert got["Message"] == message


def test_attach_policy_validates_the_policy_arn_first(account: Account) -> None:
    iam = account.client("iam", _key(account))  # may not attach anything: AWS validates first
    got = _error(lambda: iam.attach_user_policy(UserName=USER, PolicyArn="IAMReadOnlyAccess-ish"))
    assert got["Code"] == "ValidationError" and got["status"] == 400
    assert got["Message"] == "ARN IAMReadOnlyAccess-ish is not valid."


def test_list_access_keys_says_whether_it_is_truncated(account: Account) -> None:
    _key(account)
    got = account.iam.list_access_keys(UserName=USER)
    assert got["IsTruncated"] is False


def test_create_policy_answers_with_aws_members_and_id(account: Account) -> None:
    policy = _policy(account, "lab-list-buckets")
    assert policy["PermissionsBoundaryUsageCount"] == 0
    assert re.match(AWS_UNIQUE_ID.format("ANPA"), policy["PolicyId"]), policy["PolicyId"]
    assert account.iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["PolicyId"] == \
        policy["PolicyId"]


def test_create_role_answers_without_get_roles_extra_members(account: Account) -> None:
    role = _role(account, "lab-shape", {"AWS": _user_arn()})
    assert "MaxSessionDuration" not in role and "RoleLastUsed" not in role
    got = account.iam.get_role(RoleName="lab-shape")["Role"]
    assert got["MaxSessionDuration"] == 3600


def test_packed_policy_size_only_with_a_session_policy(account: Account) -> None:
    role = _role(account, "lab-packed", {"AWS": _user_arn()})
    sts = account.client("sts", _key(account))
    plain = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07")
    assert "PackedPolicySize" not in plain
    scoped = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07",
                             Policy=ALLOW_ALL_S3)
    assert scoped["PackedPolicySize"] > 0


def test_federation_token_without_a_policy_has_packed_policy_size_zero(account: Account) -> None:
    # Recorded from AWS (LocalStack's AWS-validated snapshot, test_sts.py::test_get_federation_token):
    # GetFederationToken without Policy answers "PackedPolicySize": 0.
    account.iam.put_user_policy(UserName=USER, PolicyName="tokens", PolicyDocument=ALLOW_ASSUME
                                .replace("sts:AssumeRole", "sts:GetFederationToken"))
    got = account.client("sts", _key(account)).get_federation_token(Name="lab-federated")
    assert got["PackedPolicySize"] == 0


@pytest.mark.parametrize("call", ["get_session_token", "get_federation_token"])
def test_temporary_credentials_are_fresh_each_call(account: Account, call: str) -> None:
    account.iam.put_user_policy(UserName=USER, PolicyName="tokens", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}))
    sts = account.client("sts", _key(account))
    kwargs = {"Name": "lab-federated"} if call == "get_federation_token" else {}
    first = getattr(sts, call)(**kwargs)["Credentials"]
    second = getattr(sts, call)(**kwargs)["Credentials"]
    for made in (first, second):
        assert re.match(AWS_KEY_ID.format("ASIA"), made["AccessKeyId"]), made["AccessKeyId"]
        assert len(made["SecretAccessKey"]) == 40 and "EXAMPLE" not in made["SecretAccessKey"]
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert first["SecretAccessKey"] != second["SecretAccessKey"]
    assert first["SessionToken"] != second["SessionToken"]


def test_a_renamed_users_key_keeps_working_under_the_new_name(account: Account) -> None:
    key = _key(account)
    try:
        account.iam.update_user(UserName=USER, NewUserName=f"{USER}-renamed")
        sts = account.client("sts", key)
        assert sts.get_caller_identity()["Arn"] == \
            f"arn:aws:iam::{ACCOUNT_ID}:user/{USER}-renamed"
        listed = account.iam.list_access_keys(UserName=f"{USER}-renamed")["AccessKeyMetadata"]
        assert [(k["AccessKeyId"], k["UserName"]) for k in listed] == \
            [(key.access_key_id, f"{USER}-renamed")]
    finally:
        try:
            account.iam.update_user(UserName=f"{USER}-renamed", NewUserName=USER)
        except Exception:  # noqa: BLE001  (the rename failed: nothing to undo)
            pass


def test_delete_policy_refuses_while_a_role_has_it(account: Account) -> None:
    policy = _policy(account, "lab-attached")
    _role(account, "lab-holder", {"AWS": _user_arn()})
    account.iam.attach_role_policy(RoleName="lab-holder", PolicyArn=policy["Arn"])
    try:
        got = _error(lambda: account.iam.delete_policy(PolicyArn=policy["Arn"]))
        assert got["Code"] == "DeleteConflict" and got["status"] == 409
        assert got["Message"] == "Cannot delete a policy attached to entities."
    finally:
        account.iam.detach_role_policy(RoleName="lab-holder", PolicyArn=policy["Arn"])


def test_delete_access_key_without_user_name_from_a_role_session(account: Account) -> None:
    victim = _key(account)
    role = _role(account, "lab-admin-session", {"AWS": _user_arn()})
    account.iam.attach_role_policy(RoleName="lab-admin-session",
                                   PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    made = account.client("sts", _key(account)).assume_role(
        RoleArn=role["Arn"], RoleSessionName="lesson-07")["Credentials"]
    iam = boto3.session.Session(
        aws_access_key_id=made["AccessKeyId"], aws_secret_access_key=made["SecretAccessKey"],
        aws_session_token=made["SessionToken"], region_name="us-east-1",
    ).client("iam", endpoint_url=account.url, verify=account.ca)
    try:
        got = _error(lambda: iam.delete_access_key(AccessKeyId=victim.access_key_id))
        assert got["Code"] == "ValidationError" and got["status"] == 400
        assert got["Message"] == "Must specify userName when calling with non-User credentials"
    finally:
        account.iam.detach_role_policy(RoleName="lab-admin-session",
                                       PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")


# ---------------------------------------------------------------------------------------------
# What a well-known tool (Prowler) calls next: AWS's answer or AWS's error, never a 500 page.

INVALID_ACTION = ("The action or operation requested is invalid. Verify that the action is "
                  "typed correctly. (The lab's sandbox does not model {}.)")


def test_an_unmodelled_operation_gets_aws_invalid_action(account: Account) -> None:
    arn = _user_arn()
    got = _error(lambda: account.iam.generate_service_last_accessed_details(Arn=arn))
    assert got["Code"] == "InvalidAction" and got["status"] == 400
    assert got["Message"] == INVALID_ACTION.format("iam:GenerateServiceLastAccessedDetails")
    got = _error(lambda: account.client("sts").decode_authorization_message(EncodedMessage="x"))
    assert got["Code"] == "InvalidAction"


@pytest.mark.parametrize("service, call, operation", [
    ("ec2", lambda c: c.advertise_byoip_cidr(Cidr="203.0.113.0/24"), "AdvertiseByoipCidr"),
    ("logs", lambda c: c.cancel_import_task(importId="lab-import"), "CancelImportTask"),
    ("sns", lambda c: c.get_sms_sandbox_account_status(), "GetSMSSandboxAccountStatus"),
], ids=["ec2-query", "logs-json", "sns-query"])
def test_an_unmodelled_operation_of_any_service_gets_invalid_action(
        account: Account, service: str, call, operation: str) -> None:
    # What a scanner such as Prowler meets: AWS's error in the service's protocol, no HTML page.
    got = _error(lambda: call(account.client(service)))
    assert got["Code"] == "InvalidAction" and got["status"] == 400
    assert got["Message"] == INVALID_ACTION.format(f"{service}:{operation}")


def test_an_unmodelled_operation_of_another_service_is_in_the_trail(
        labkit_account: Account) -> None:
    since = labkit_account.box.admin("GET", "trail?since=0")["events"]
    _error(lambda: labkit_account.client("logs").cancel_import_task(importId="lab-import"))
    events = labkit_account.box.admin("GET", "trail?since=0")["events"][len(since):]
    assert [(e["service"], e["event"], e["status"], e["error"]) for e in events] == \
        [("logs", "CancelImportTask", 400, "InvalidAction")]


def test_an_unmodelled_operation_is_in_the_activity_trail(labkit_account: Account) -> None:
    since = labkit_account.box.admin("GET", "trail?since=0")["events"]
    _error(lambda: labkit_account.iam.generate_service_last_accessed_details(Arn=_user_arn()))
    events = labkit_account.box.admin("GET", "trail?since=0")["events"][len(since):]
    assert [(e["event"], e["status"], e["error"]) for e in events] == \
        [("GenerateServiceLastAccessedDetails", 400, "InvalidAction")]


def test_list_service_specific_credentials_answers_none(account: Account) -> None:
    got = account.iam.list_service_specific_credentials(UserName=USER)
    assert got["ServiceSpecificCredentials"] == []


def test_organizations_features_of_a_standalone_account(account: Account) -> None:
    got = _error(account.iam.list_organizations_features)
    assert got["Code"] == "OrganizationNotFoundException"
    assert got["Message"] == \
        "The request was rejected because no organization is associated with your account."


def test_describe_account_of_a_standalone_account(account: Account) -> None:
    org = account.client("organizations")
    got = _error(lambda: org.describe_account(AccountId=ACCOUNT_ID))
    assert got["Code"] == "AWSOrganizationsNotInUseException"
    assert got["Message"] == "Your account is not a member of an organization."


def test_account_summary_agrees_with_the_reports_root_row(labkit_account: Account) -> None:
    import csv
    import io

    iam = labkit_account.iam
    box = labkit_account.box
    assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 0
    box.admin("POST", "root-key", {"active": True, "created": "2025-01-06T09:00:00+00:00",
                                   "last_used": None})
    try:
        assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 1
        iam.generate_credential_report()
        rows = list(csv.DictReader(io.StringIO(
            iam.get_credential_report()["Content"].decode())))
        assert rows[0]["user"] == "<root_account>" and rows[0]["access_key_1_active"] == "true"
    finally:
        box.admin("POST", "root-key", {"active": None, "created": None, "last_used": None})
    assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 0


# ---------------------------------------------------------------------------------------------
# What a curious learner tries next: groups, inline policies, policy versions, session tokens.

def _group_with_user(acct: Account, name: str) -> None:
    try:
        acct.iam.create_group(GroupName=name)
    except Exception:  # noqa: BLE001  (there already)
        pass
    acct.iam.add_user_to_group(GroupName=name, UserName=USER)


def test_delete_group_refuses_while_it_has_users(account: Account) -> None:
    _group_with_user(account, "lab-readers")
    got = _error(lambda: account.iam.delete_group(GroupName="lab-readers"))
    assert got["Code"] == "DeleteConflict" and got["status"] == 409
    assert got["Message"] == "Cannot delete entity, must remove users from group first."


def test_a_duplicate_group_is_refused_in_aws_words(account: Account) -> None:
    _group_with_user(account, "lab-readers")
    got = _error(lambda: account.iam.create_group(GroupName="lab-readers"))
    assert got["Code"] == "EntityAlreadyExists" and got["status"] == 409
    assert got["Message"] == "Group with name lab-readers already exists."


@pytest.mark.parametrize("call, message", [
    (lambda iam: iam.get_group_policy(GroupName="lab-readers", PolicyName="no-such-policy"),
     "The group policy with name no-such-policy cannot be found."),
    (lambda iam: iam.delete_user_policy(UserName=USER, PolicyName="no-such-policy"),
     "The user policy with name no-such-policy cannot be found."),
    (lambda iam: iam.delete_access_key(UserName=USER, AccessKeyId="AKIAIOSFODNN7EXAMPLE"),
     "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found."),
], ids=["group-policy", "delete-user-policy", "access-key"])
def test_more_no_such_entity_texts(account: Account, call, message: str) -> None:
    _group_with_user(account, "lab-readers")
    got = _error(lambda: call(account.iam))
    assert got["Code"] == "NoSuchEntity" and got["status"] == 404
    assert got["Message"] == message


def test_policy_versions_answer_as_aws(account: Account) -> None:
    policy = _policy(account, "lab-versions")
    got = _error(lambda: account.iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v9"))
    assert got["Code"] == "NoSuchEntity"
    assert got["Message"] == \
        f"Policy {policy['Arn']} version v9 does not exist or is not attachable."
    assert account.iam.list_policy_versions(PolicyArn=policy["Arn"])["IsTruncated"] is False


def test_session_token_duration_is_validated(account: Account) -> None:
    got = _error(lambda: account.client("sts").get_session_token(DurationSeconds=200000))
    assert got["Code"] == "ValidationError" and got["status"] == 400
    assert got["Message"] == ("1 validation error detected: Value '200000' at 'durationSeconds' "
                              "failed to satisfy constraint: Member must have value less than "
                              "or equal to 129600")


def _role_session(acct: Account, role_name: str, policy_arn: str | None):
    import boto3

    role = _role(acct, role_name, {"AWS": _user_arn()})
    if policy_arn:
        acct.iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    made = acct.client("sts", _key(acct)).assume_role(
        RoleArn=role["Arn"], RoleSessionName="lesson-07")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=made["AccessKeyId"], aws_secret_access_key=made["SecretAccessKey"],
        aws_session_token=made["SessionToken"], region_name="us-east-1",
    ).client("iam", endpoint_url=acct.url, verify=acct.ca)


def test_last_used_refused_to_a_role_names_its_session_and_the_key(account: Account) -> None:
    iam = _role_session(account, "lab-no-rights", None)
    session = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/lab-no-rights/lesson-07"
    got = _error(lambda: iam.get_access_key_last_used(AccessKeyId="AKIAIOSFODNN7EXAMPLE"))
    assert got["Code"] == "AccessDenied" and got["status"] == 403
    assert got["Message"] == (
        f"User: {session} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: "
        "access key AKIAIOSFODNN7EXAMPLE because no identity-based policy allows the "
        "iam:GetAccessKeyLastUsed action")


def test_last_used_of_an_unknown_key_from_a_role_names_its_session(account: Account) -> None:
    iam = _role_session(account, "lab-reader-role", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    session = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/lab-reader-role/lesson-07"
    got = _error(lambda: iam.get_access_key_last_used(AccessKeyId="AKIAIOSFODNN7EXAMPLE"))
    assert got["Code"] == "AccessDenied"
    # Recorded from AWS ("perform iam:...", no colon: unlike a policy's refusal above).
    assert got["Message"] == (
        f"User: {session} is not authorized to perform iam:GetAccessKeyLastUsed on resource: "
        "access key AKIAIOSFODNN7EXAMPLE")


def test_every_secret_and_token_issued_is_remembered(labkit_account: Account) -> None:
    _fresh_user(labkit_account)
    made = labkit_account.iam.create_access_key(UserName=USER)["AccessKey"]
    user_sts = labkit_account.client("sts", _key(labkit_account))
    session = user_sts.get_session_token()["Credentials"]
    role = _role(labkit_account, "lab-remembered", {"AWS": _user_arn()})
    assumed = user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07")["Credentials"]
    candidates = [made["SecretAccessKey"], session["SecretAccessKey"], session["SessionToken"],
                  assumed["SecretAccessKey"], assumed["SessionToken"], "not-a-secret-at-all"]
    found = labkit_account.box.admin("POST", "issued", {"candidates": candidates})["issued"]
    assert found == [0, 1, 2, 3, 4]


def test_get_session_token_needs_no_permission(account: Account) -> None:
    # STS API reference: "No permissions are required for users to perform this operation."
    got = account.client("sts", _key(account)).get_session_token()["Credentials"]
    assert re.match(AWS_KEY_ID.format("ASIA"), got["AccessKeyId"])


ALLOW_SNS_AND_TOKENS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sns:ListTopics", "sts:GetFederationToken"],
     "Resource": "*"}]})
ALLOW_S3_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def _temporary_client(acct: Account, service: str, got: dict):
    return boto3.session.Session(
        aws_access_key_id=got["AccessKeyId"], aws_secret_access_key=got["SecretAccessKey"],
        aws_session_token=got["SessionToken"], region_name="us-east-1").client(
            service, endpoint_url=acct.url, verify=acct.ca)


def test_session_token_credentials_sign_as_the_user(account: Account) -> None:
    account.iam.put_user_policy(UserName=USER, PolicyName="sns", PolicyDocument=ALLOW_SNS_AND_TOKENS)
    user = account.iam.get_user(UserName=USER)["User"]
    got = account.client("sts", _key(account)).get_session_token()["Credentials"]
    me = _temporary_client(account, "sts", got).get_caller_identity()
    assert (me["Arn"], me["UserId"]) == (user["Arn"], user["UserId"])
    assert _temporary_client(account, "sns", got).list_topics()["Topics"] == []  # the user's own
    # Compare AWS STS credentials (IAM User Guide): no IAM without MFA, no STS but AssumeRole and
    # GetCallerIdentity.
    refused = _error(lambda: _temporary_client(account, "iam", got).list_users())
    assert refused["Code"] == "InvalidClientTokenId" and refused["status"] == 403
    refused = _error(lambda: _temporary_client(account, "sts", got).get_session_token())
    assert (refused["Code"], refused["Message"]) == (
        "AccessDenied", "Cannot call GetSessionToken with session credentials")
    forged = dict(got, SessionToken="x" + got["SessionToken"][1:])
    assert _error(lambda: _temporary_client(account, "sts", forged).get_caller_identity())[
        "Code"] == "InvalidClientTokenId"


def test_federation_token_credentials_do_what_both_policies_allow(account: Account) -> None:
    account.iam.put_user_policy(UserName=USER, PolicyName="sns", PolicyDocument=ALLOW_SNS_AND_TOKENS)
    sts = account.client("sts", _key(account))
    allow_sns = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]})
    both = sts.get_federation_token(Name="lab-federated", Policy=allow_sns)
    assert both["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:federated-user/lab-federated"
    me = _temporary_client(account, "sts", both["Credentials"]).get_caller_identity()
    assert (me["Arn"], me["UserId"]) == (both["FederatedUser"]["Arn"],
                                         f"{ACCOUNT_ID}:lab-federated")
    assert _temporary_client(account, "sns", both["Credentials"]).list_topics()["Topics"] == []
    other = sts.get_federation_token(Name="lab-federated", Policy=ALLOW_S3_ONLY)["Credentials"]
    refused = _error(lambda: _temporary_client(account, "sns", other).list_topics())
    assert refused["Code"] == "AccessDenied"
    assert refused["Message"].endswith("because no session policy allows the sns:ListTopics action")
    bare = sts.get_federation_token(Name="lab-federated")["Credentials"]  # no policy: no rights
    assert _error(lambda: _temporary_client(account, "sns", bare).list_topics())[
        "Code"] == "AccessDenied"
    assert _error(lambda: _temporary_client(account, "iam", both["Credentials"]).list_users())[
        "Code"] == "InvalidClientTokenId"


def test_session_credentials_are_in_the_trail_as_cloudtrail_names_them(
        labkit_account: Account) -> None:
    acct = labkit_account
    _fresh_user(acct)
    acct.iam.put_user_policy(UserName=USER, PolicyName="sns", PolicyDocument=ALLOW_SNS_AND_TOKENS)
    sts = acct.client("sts", _key(acct))
    session = sts.get_session_token()["Credentials"]
    federated = sts.get_federation_token(Name="lab-federated", Policy=ALLOW_S3_ONLY)["Credentials"]
    since = len(acct.box.admin("GET", "trail?since=0")["events"])
    _temporary_client(acct, "sts", session).get_caller_identity()
    _temporary_client(acct, "sts", federated).get_caller_identity()
    events = acct.box.admin("GET", "trail?since=0")["events"][since:]
    assert [(e["access_key_id"], e["user"], e["session"]) for e in events] == [
        (session["AccessKeyId"], USER, ""),
        (federated["AccessKeyId"], USER, f"arn:aws:sts::{ACCOUNT_ID}:federated-user/lab-federated")]


def test_federation_token_validates_name_and_policy_length(account: Account) -> None:
    sts = account.client("sts", _key(account))
    got = _error(lambda: sts.get_federation_token(Name="lab user!"))
    assert got["Code"] == "ValidationError" and got["status"] == 400
    assert got["Message"] == ("1 validation error detected: Value 'lab user!' at 'name' failed "
                              "to satisfy constraint: Member must satisfy regular expression "
                              r"pattern: [\w+=,.@-]*")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::b{i:04d}"}
        for i in range(40)]})
    got = _error(lambda: sts.get_federation_token(Name="lab-user", Policy=policy))
    assert got["Code"] == "ValidationError"
    assert got["Message"] == (f"1 validation error detected: Value '{policy}' at 'policy' failed "
                              "to satisfy constraint: Member must have length less than or "
                              "equal to 2048")


def test_a_json_service_refuses_in_json(account: Account) -> None:
    # CloudWatch Logs speaks JSON: AWS's refusal is AccessDeniedException (HTTP 400, AWS's common
    # errors), which botocore reads; moto answered an XML page that botocore showed as "(403)".
    got = _error(lambda: account.client("logs", _key(account)).describe_log_groups())
    assert (got["Code"], got["status"]) == ("AccessDeniedException", 400)
    assert got["Message"].startswith(
        f"User: arn:aws:iam::{ACCOUNT_ID}:user/{USER} is not authorized to perform: "
        "logs:DescribeLogGroups")


def test_a_request_moto_fails_on_gets_aws_internal_failure(labkit_account: Account) -> None:
    # MaxItems that is not a number: botocore refuses to send it, a hand-made request gets
    # through to moto, which fails; the caller gets AWS's InternalFailure, not an HTML page.
    import urllib3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    acct = labkit_account
    body = "Action=ListUsers&Version=2010-05-08&MaxItems=many"
    request = AWSRequest(method="POST", url=acct.url + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    key = acct.console
    SigV4Auth(Credentials(key.access_key_id, key.reveal_secret()), "iam",
              "us-east-1").add_auth(request)
    got = urllib3.PoolManager(ca_certs=acct.ca).request("POST", acct.url + "/", body=body,
                                                         headers=dict(request.headers))
    assert got.status == 500
    assert b"<Code>InternalFailure</Code>" in got.data and b"<Type>Receiver</Type>" in got.data
    events = acct.box.admin("GET", "trail?since=0")["events"]
    assert (events[-1]["event"], events[-1]["status"], events[-1]["error"]) == (
        "ListUsers", 500, "InternalFailure")
