"""AWS behaviours stock moto lacks, fixed in the sandbox. Each is also run against stock moto,
where it must fail: that proves the test can fail and the fix is needed."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit import sandbox
from labkit.keys import AccessKey
from tests.stock_moto import stock_moto

USER = "temporary-iam-user"


class Account:
    """A sandbox (labkit's or stock moto's) seen through the console identity."""

    def __init__(self, url: str, console: AccessKey, ca: str | None = None) -> None:
        self.url = url
        self.console = console
        self.ca = ca  # the labkit sandbox's certificate (None: a stock moto over http)
        self.iam = self.client("iam")
        self.box = None  # labkit's sandbox (admin API), None on a stock moto

    def client(self, service: str, key: AccessKey | None = None):
        key = key or self.console
        return boto3.session.Session(
            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
            region_name="us-east-1").client(service, endpoint_url=self.url, verify=self.ca)


@pytest.fixture(scope="module")
def labkit_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    home = tmp_path_factory.mktemp("fidelity")
    box = sandbox.ensure(home)
    acct = Account(box.url, box.console, box.ca)
    acct.box = box  # the admin API: trail, root key
    yield acct
    sandbox.stop(home)


@pytest.fixture(scope="module")
def stock_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    home = tmp_path_factory.mktemp("stock")
    with stock_moto() as url:
        box = sandbox.attach(url, home)
        assert not box.has_fidelity_fixes
        yield Account(url, box.console)


# On a stock moto server (its own process) in the full tier only.
@pytest.fixture(params=["labkit", pytest.param("stock", marks=pytest.mark.slow)])
def account(request: pytest.FixtureRequest) -> Account:
    acct = request.getfixturevalue(f"{request.param}_account")
    if request.param == "stock":
        request.applymarker(pytest.mark.xfail(strict=True, reason="stock moto lacks this fix"))
    _fresh_user(acct)
    return acct


def _fresh_user(acct: Account) -> None:
    iam = acct.iam
    try:
        for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=USER, AccessKeyId=k["AccessKeyId"])
        for p in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=USER, PolicyArn=p["PolicyArn"])
        for name in iam.list_user_policies(UserName=USER)["PolicyNames"]:
            iam.delete_user_policy(UserName=USER, PolicyName=name)
        for g in iam.list_groups_for_user(UserName=USER)["Groups"]:
            iam.remove_user_from_group(UserName=USER, GroupName=g["GroupName"])
        for m in iam.list_mfa_devices(UserName=USER)["MFADevices"]:
            iam.deactivate_mfa_device(UserName=USER, SerialNumber=m["SerialNumber"])
        try:
            iam.delete_login_profile(UserName=USER)
        except ClientError:
            pass
        iam.delete_user(UserName=USER)
    except ClientError:
        pass
    iam.create_user(UserName=USER)


def _key(acct: Account) -> AccessKey:
    made = acct.iam.create_access_key(UserName=USER)["AccessKey"]
    return AccessKey(made["AccessKeyId"], made["SecretAccessKey"], USER)


def _code(call) -> str | None:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


@pytest.mark.slow
def test_a_deactivated_key_no_longer_authenticates(account: Account) -> None:
    key = _key(account)
    sts = account.client("sts", key)
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{USER}")
    account.iam.update_access_key(UserName=USER, AccessKeyId=key.access_key_id, Status="Inactive")
    assert _code(sts.get_caller_identity) == "InvalidClientTokenId"
    account.iam.update_access_key(UserName=USER, AccessKeyId=key.access_key_id, Status="Active")
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{USER}")


def test_delete_user_refuses_while_access_keys_remain(account: Account) -> None:
    _key(account)
    with pytest.raises(ClientError) as err:
        account.iam.delete_user(UserName=USER)
    assert err.value.response["Error"]["Code"] == "DeleteConflict"
    assert err.value.response["Error"]["Message"] == \
        "Cannot delete entity, must delete access keys first."


@pytest.mark.parametrize("attach,message", [
    (lambda iam: iam.create_login_profile(UserName=USER, Password="Correct-Horse-9!"),
     "must delete login profile first."),
    (lambda iam: iam.enable_mfa_device(
        UserName=USER, SerialNumber=iam.create_virtual_mfa_device(
            VirtualMFADeviceName="phone")["VirtualMFADevice"]["SerialNumber"],
        AuthenticationCode1="123456", AuthenticationCode2="654321"),
     "must delete MFA device first."),
    (lambda iam: (iam.create_group(GroupName="readers") if not any(
        g["GroupName"] == "readers" for g in iam.list_groups()["Groups"]) else None,
        iam.add_user_to_group(GroupName="readers", UserName=USER)),
     "must remove users from group first."),
], ids=["login-profile", "mfa-device", "group"])
def test_delete_user_refuses_while_other_credentials_remain(account: Account, attach,
                                                            message: str) -> None:
    attach(account.iam)
    with pytest.raises(ClientError) as err:
        account.iam.delete_user(UserName=USER)
    assert err.value.response["Error"]["Code"] == "DeleteConflict"
    assert err.value.response["Error"]["Message"].endswith(message)


def test_delete_user_still_refuses_with_policies(labkit_account: Account) -> None:
    _fresh_user(labkit_account)
    labkit_account.iam.attach_user_policy(
        UserName=USER, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert _code(lambda: labkit_account.iam.delete_user(UserName=USER)) == "DeleteConflict"


def _report(acct: Account) -> tuple[datetime, list[dict[str, str]]]:
    acct.iam.generate_credential_report()
    got = acct.iam.get_credential_report()
    return got["GeneratedTime"], list(csv.DictReader(io.StringIO(got["Content"].decode())))


def test_credential_report_has_last_used_region_service_and_generation_time(
        account: Account) -> None:
    key = _key(account)
    account.client("sts", key).get_caller_identity()
    generated, rows = _report(account)
    assert abs(generated - datetime.now(UTC)) < timedelta(minutes=5)
    row = next(r for r in rows if r["user"] == USER)
    assert row["access_key_1_active"] == "true"
    assert row["access_key_1_last_used_region"] == "us-east-1"
    assert row["access_key_1_last_used_service"] == "sts"
    assert rows[0]["user"] == "<root_account>"


def test_a_users_only_key_is_reported_in_slot_1(labkit_account: Account) -> None:
    # AWS's documentation of the report: access_key_1_* is the user's key, access_key_2_* "a
    # second access key"; recorded AWS answers list the survivor of two in slot 1.
    _fresh_user(labkit_account)
    first, second = _key(labkit_account), _key(labkit_account)
    labkit_account.iam.delete_access_key(UserName=USER, AccessKeyId=first.access_key_id)
    created = labkit_account.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]
    assert created["AccessKeyId"] == second.access_key_id
    _, rows = _report(labkit_account)
    row = next(r for r in rows if r["user"] == USER)
    assert row["access_key_1_active"] == "true"
    assert row["access_key_1_last_rotated"] == created["CreateDate"].strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")
    assert row["access_key_2_active"] == "false" and row["access_key_2_last_rotated"] == "N/A"


def test_only_the_course_managed_policies_are_loaded(labkit_account: Account) -> None:
    pages = labkit_account.iam.get_paginator("list_policies").paginate(Scope="AWS")
    names = {p["PolicyName"] for page in pages for p in page["Policies"]}
    assert {"IAMReadOnlyAccess", "AdministratorAccess"} <= names
    assert len(names) < 20


def test_stock_moto_is_used_through_labkit_sandbox_url(stock_account: Account,
                                                       tmp_path: Path) -> None:
    # labkit made a console identity on the stock server and switched authentication on there.
    assert stock_account.client("sts").get_caller_identity()["Arn"].endswith("user/console-admin")
    bogus = AccessKey("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert _code(stock_account.client("sts", bogus).get_caller_identity) == "InvalidClientTokenId"


# ---------------------------------------------------------------------------------------------
# Round two (issue 11): AWS's words and IDs, same-account trust, AssumeRole's refusals.

ACCOUNT_ID = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
AWS_UNIQUE_ID = r"^{}[A-Z0-9]{{17}}$"


def _error(call) -> dict:
    with pytest.raises(ClientError) as err:
        call()
    return {**err.value.response["Error"],
            "status": err.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def _trust(principal: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _role(acct: Account, name: str, principal: dict, **kwargs) -> dict:
    try:
        acct.iam.delete_role(RoleName=name)
    except ClientError:
        pass
    return acct.iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(principal),
                                **kwargs)["Role"]


def _user_arn() -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{USER}"


def test_access_denied_names_the_resource_and_the_reason(account: Account) -> None:
    account.iam.attach_user_policy(UserName=USER, PolicyArn=READ_ONLY)
    reader = account.client("iam", _key(account))
    got = _error(lambda: reader.create_user(UserName="not-allowed"))
    assert got["Code"] == "AccessDenied" and got["status"] == 403
    assert got["Message"] == (
        f"User: {_user_arn()} is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/not-allowed because no identity-based policy allows "
        "the iam:CreateUser action")


def test_access_denied_says_when_an_explicit_deny_refused(account: Account) -> None:
    account.iam.attach_user_policy(UserName=USER, PolicyArn=READ_ONLY)
    account.iam.put_user_policy(UserName=USER, PolicyName="no-listing", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]}))
    reader = account.client("iam", _key(account))
    got = _error(reader.list_users)
    assert got["Code"] == "AccessDenied"
    assert got["Message"] == (
        f"User: {_user_arn()} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/ with an explicit deny in an identity-based policy")


def test_user_ids_look_like_aws_and_agree_everywhere(account: Account) -> None:
    key = _key(account)
    user_id = account.iam.get_user(UserName=USER)["User"]["UserId"]
    assert re.match(AWS_UNIQUE_ID.format("AIDA"), user_id), user_id
    listed = {u["UserName"]: u["UserId"] for u in account.iam.list_users()["Users"]}
    assert listed[USER] == user_id
    assert account.client("sts", key).get_caller_identity()["UserId"] == user_id


def test_a_role_trusting_the_user_by_name_needs_no_identity_policy(account: Account) -> None:
    role = _role(account, "lab-reader", {"AWS": _user_arn()})
    assert re.match(AWS_UNIQUE_ID.format("AROA"), role["RoleId"])
    sts = account.client("sts", _key(account))  # the user has no policy at all
    got = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07")
    assert got["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:lesson-07"
    assert got["AssumedRoleUser"]["Arn"] == \
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/lab-reader/lesson-07"


def test_a_role_trusting_the_account_still_needs_an_identity_policy(
        labkit_account: Account) -> None:
    _fresh_user(labkit_account)
    role = _role(labkit_account, "lab-account", {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"})
    sts = labkit_account.client("sts", _key(labkit_account))
    got = _error(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07"))
    assert got["Code"] == "AccessDenied"
    assert got["Message"] == (
        f"User: {_user_arn()} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role['Arn']} because no identity-based policy allows the sts:AssumeRole action")
    labkit_account.iam.put_user_policy(UserName=USER, PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}))
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07")["Credentials"]


def test_assume_role_refuses_a_role_that_does_not_exist(account: Account) -> None:
    missing = f"arn:aws:iam::{ACCOUNT_ID}:role/no-such-role"
    got = _error(lambda: account.client("sts").assume_role(RoleArn=missing,
                                                           RoleSessionName="lesson-07"))
    assert got["Code"] == "AccessDenied"
    assert got["Message"] == (f"User: arn:aws:iam::{ACCOUNT_ID}:user/console-admin is not "
                              f"authorized to perform: sts:AssumeRole on resource: {missing}")


def test_assume_role_refuses_a_role_only_a_service_may_assume(account: Account) -> None:
    role = _role(account, "lab-ec2", {"Service": "ec2.amazonaws.com"})
    got = _error(lambda: account.client("sts").assume_role(RoleArn=role["Arn"],
                                                           RoleSessionName="lesson-07"))
    assert got["Code"] == "AccessDenied" and got["status"] == 403


def test_assume_role_refuses_more_than_the_max_session_duration(account: Account) -> None:
    role = _role(account, "lab-short", {"AWS": _user_arn()})
    account.iam.put_user_policy(UserName=USER, PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    sts = account.client("sts", _key(account))
    got = _error(lambda: sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07",
                                         DurationSeconds=7200))
    assert got["Code"] == "ValidationError" and got["status"] == 400
    assert got["Message"] == \
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07",
                           DurationSeconds=3600)["Credentials"]


def test_a_duplicate_user_is_refused_in_aws_words(account: Account) -> None:
    got = _error(lambda: account.iam.create_user(UserName=USER))
    assert got["Code"] == "EntityAlreadyExists"
    assert got["Message"] == f"User with name {USER} already exists."


def test_update_access_key_accepts_only_active_or_inactive(account: Account) -> None:
    key = _key(account)
    got = _error(lambda: account.iam.update_access_key(
        UserName=USER, AccessKeyId=key.access_key_id, Status="Disabled"))
    assert got["Code"] == "ValidationError"
    listed = account.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert listed[0]["Status"] == "Active"


def test_times_are_whole_seconds(account: Account) -> None:
    key = _key(account)
    created = account.iam.get_user(UserName=USER)["User"]["CreateDate"]
    listed = account.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert created.microsecond == 0
    assert [k["CreateDate"].microsecond for k in listed if k["AccessKeyId"] ==
            key.access_key_id] == [0]


def test_last_used_of_an_unknown_key_is_refused(account: Account) -> None:
    got = _error(lambda: account.iam.get_access_key_last_used(
        AccessKeyId="AKIAIOSFODNN7EXAMPLE"))
    assert got["Code"] == "AccessDenied"


def test_report_password_time_is_when_it_was_set(account: Account) -> None:
    time.sleep(1.1)  # times are whole seconds: set the password in a later second than the user
    account.iam.create_login_profile(UserName=USER, Password="Correct-Horse-9!")
    _, rows = _report(account)
    row = next(r for r in rows if r["user"] == USER)
    assert row["password_enabled"] == "true"
    assert row["password_last_changed"] > row["user_creation_time"]


# ---------------------------------------------------------------------------------------------
# A stock moto server with its defaults has no AWS managed policies: labkit's clients stand in.


@pytest.mark.slow
def test_lessons_name_aws_managed_policies_on_a_stock_moto_without_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from labkit import session

    with stock_moto(managed_policies=False) as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
        monkeypatch.setattr(session, "_current", None)
        lab = session.connect()
        assert not lab.sandbox.has_fidelity_fixes
        # A plain client fails as the lessons used to: the policy does not exist there.
        plain = boto3.session.Session(
            aws_access_key_id=lab.console_key.access_key_id,
            aws_secret_access_key=lab.console_key.reveal_secret(),
            region_name="us-east-1").client("iam", endpoint_url=url)
        assert _code(lambda: plain.get_policy(PolicyArn=READ_ONLY)) == "NoSuchEntity"

        iam = lab.client("iam")
        iam.create_user(UserName=USER)
        iam.attach_user_policy(UserName=USER, PolicyArn=READ_ONLY)  # the lesson's own call
        assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["Arn"] == READ_ONLY
        attached = iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]
        assert attached == [{"PolicyName": "IAMReadOnlyAccess", "PolicyArn": READ_ONLY}]
        iam.create_role(RoleName="lab-reader", AssumeRolePolicyDocument=_trust(
            {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{USER}"}))
        iam.attach_role_policy(RoleName="lab-reader", PolicyArn=READ_ONLY)
        assert [p["PolicyArn"] for p in iam.list_attached_role_policies(
            RoleName="lab-reader")["AttachedPolicies"]] == [READ_ONLY]
        said = capsys.readouterr().out.strip().splitlines()
        assert [line for line in said if "no AWS managed policies" in line] == said[:1]
        # The role trusts the user by name: the other stand-in (same-account trust) says its line.
        assert len(said) == 2 and "unlike AWS, wants an identity policy" in said[1]

        # The copy carries the same permissions: the user may read, not write.
        made = iam.create_access_key(UserName=USER)["AccessKey"]
        reader = lab.client_for(AccessKey(made["AccessKeyId"], made["SecretAccessKey"], USER),
                                "iam")
        assert any(u["UserName"] == USER for u in reader.list_users()["Users"])
        assert _code(lambda: reader.create_user(UserName="not-allowed")) == "AccessDenied"
        iam.detach_user_policy(UserName=USER, PolicyArn=READ_ONLY)
        assert iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"] == []


@pytest.mark.slow
def test_a_user_named_in_a_trust_policy_assumes_the_role_on_a_stock_moto_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """AWS: a trust policy naming a same-account user is enough. Stock moto also wants an identity
    policy; labkit's clients add it with the role (said once) and take it away with the role."""
    from labkit import session

    with stock_moto() as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
        monkeypatch.setattr(session, "_current", None)
        lab = session.connect()
        iam = lab.client("iam")
        iam.create_user(UserName=USER)
        made = iam.create_access_key(UserName=USER)["AccessKey"]
        user_sts = lab.client_for(AccessKey(made["AccessKeyId"], made["SecretAccessKey"], USER),
                                  "sts")
        trust = _trust({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/{USER}"})
        plain = boto3.session.Session(
            aws_access_key_id=lab.console_key.access_key_id,
            aws_secret_access_key=lab.console_key.reveal_secret(),
            region_name="us-east-1").client("iam", endpoint_url=url)
        bare = plain.create_role(RoleName="made-plainly", AssumeRolePolicyDocument=trust)
        # Stock moto's own answer, without the stand-in: refused.
        assert _code(lambda: user_sts.assume_role(RoleArn=bare["Role"]["Arn"],
                                                  RoleSessionName="plain")) == "AccessDenied"

        role = iam.create_role(RoleName="lab-reader", AssumeRolePolicyDocument=trust)["Role"]
        got = user_sts.assume_role(RoleArn=role["Arn"], RoleSessionName="lesson-07")
        assert got["Credentials"]["AccessKeyId"].startswith("ASIA")
        assert capsys.readouterr().out.count("unlike AWS, wants an identity policy") == 1
        iam.delete_role(RoleName="lab-reader")
        assert iam.list_user_policies(UserName=USER)["PolicyNames"] == []


@pytest.mark.slow
def test_a_stock_moto_with_managed_policies_uses_the_real_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from labkit import session

    with stock_moto(managed_policies=True) as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
        monkeypatch.setattr(session, "_current", None)
        iam = session.connect().client("iam")
        iam.create_user(UserName=USER)
        iam.attach_user_policy(UserName=USER, PolicyArn=READ_ONLY)
        assert iam.list_policies(Scope="Local")["Policies"] == []  # no copy was made
        assert "no AWS managed policies" not in capsys.readouterr().out


def test_the_sandbox_decodes_only_the_course_managed_policies() -> None:
    """The seven policies, read out of moto's 4 MB text without parsing all 1,400 of them (which
    left the sandbox ~10 MB larger), equal what a full parse gives; another layout falls back."""
    import importlib.util
    import json

    import moto.iam

    from labkit.sandbox import fidelity

    path = Path(moto.iam.__file__).with_name("aws_managed_policies.py")
    spec = importlib.util.spec_from_file_location("fresh_aws_managed_policies", path)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)  # moto's text as shipped, even if install() replaced it here
    text = fresh.aws_managed_policies_data
    full = json.loads(text)
    wanted = {name: full[name] for name in fidelity.MANAGED_POLICIES}
    assert fidelity._pick_policies(text, fidelity.MANAGED_POLICIES) == wanted
    one_line = json.dumps({"Other": {"Document": {}, "DefaultVersionId": "v1"}, **wanted})
    assert fidelity._pick_policies(one_line, fidelity.MANAGED_POLICIES) == wanted
