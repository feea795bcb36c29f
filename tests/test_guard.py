"""The real-AWS guard covers every IAM call that can change something, and every resource it names
(botocore's IAM model is the list), against a stock moto server standing in for AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from labkit import guard
from labkit.guard import LAB_TAG, NotOwnedError
from tests.stock_moto import stock_moto

ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})


def test_every_parameter_of_every_changing_iam_call_is_classified() -> None:
    """A parameter botocore adds to IAM is either a resource the guard checks, or named here as
    a value: a new way to name a resource cannot slip through unnoticed."""
    operations = guard.changing_operations()
    assert {"AddUserToGroup", "AddRoleToInstanceProfile", "DeleteLoginProfile",
            "EnableMFADevice", "UploadSSHPublicKey", "ResetServiceSpecificCredential"} \
        <= operations.keys()
    unknown = {(op, p) for op, params in operations.items() for p in params
               if p not in guard.RESOURCE_PARAMS and p not in guard.VALUE_PARAMS}
    assert not unknown, f"classify these in labkit/guard.py: {sorted(unknown)}"
    assert not guard.RESOURCE_PARAMS.keys() & guard.VALUE_PARAMS
    # Calls naming no resource are refused unless they make something new.
    assert guard.NEW_THINGS <= operations.keys()
    for op in guard.NEW_THINGS:
        assert op.startswith("Create") and not set(operations[op]) & guard.RESOURCE_PARAMS.keys()


@pytest.fixture(scope="module")
def account() -> Iterator[dict[str, Any]]:
    """An 'AWS account' holding one untagged resource of every kind the guard knows, made by
    someone else (group `Admins`, instance profile `prod-web`, ...), and the lab's own user and
    role (tagged)."""
    with stock_moto() as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        iam.create_user(UserName="alice")
        iam.create_role(RoleName="prod-role", AssumeRolePolicyDocument=TRUST)
        iam.create_group(GroupName="Admins")
        iam.add_user_to_group(GroupName="Admins", UserName="alice")
        iam.create_instance_profile(InstanceProfileName="prod-web")
        iam.add_role_to_instance_profile(InstanceProfileName="prod-web", RoleName="prod-role")
        policy = iam.create_policy(PolicyName="prod-policy", PolicyDocument=POLICY)["Policy"]
        oidc = iam.create_open_id_connect_provider(
            Url="https://token.example.com", ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        saml = iam.create_saml_provider(Name="corp-sso", SAMLMetadataDocument="x" * 1000)
        iam.upload_server_certificate(ServerCertificateName="prod-cert", CertificateBody="x",
                                      PrivateKey="y")
        mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")
        iam.create_user(UserName="lab-user", Tags=[LAB_TAG])
        iam.create_role(RoleName="lab-role", AssumeRolePolicyDocument=TRUST, Tags=[LAB_TAG])
        yield {"iam": iam, "names": {
            "user": "alice", "role": "prod-role", "group": "Admins",
            "instance profile": "prod-web", "policy": policy["Arn"],
            "OpenID Connect provider": oidc, "SAML provider": saml["SAMLProviderArn"],
            "server certificate": "prod-cert",
            "MFA device": mfa["VirtualMFADevice"]["SerialNumber"],
            # kinds whose tags the guard cannot read: refused whether or not they exist
            "workload identity provider": f"arn:aws:iam::{ACCOUNT}:workload-identity/prod",
            "workload identity template": f"arn:aws:iam::{ACCOUNT}:workload-template/prod"}}


def test_every_changing_call_naming_someone_elses_resource_is_refused(
        account: dict[str, Any]) -> None:
    """Each changing call of botocore's model, with every resource parameter naming an existing
    resource the lab did not make: refused, naming that resource, before anything is sent."""
    names = account["names"]
    assert set(names) == set(guard.RESOURCE_PARAMS.values())
    checked = 0
    for op, params in sorted(guard.changing_operations().items()):
        resources = [p for p in params if p in guard.RESOURCE_PARAMS
                     and (op, p) not in guard.ATTACHMENTS]
        if not resources:
            continue
        call = {p: names[guard.RESOURCE_PARAMS[p]] if p in guard.RESOURCE_PARAMS else "x"
                for p in params}
        with pytest.raises(NotOwnedError) as err:
            guard.check_call(account["iam"], op, call)
        assert "it was not created by this lab" in str(err.value), op
        assert any(names[guard.RESOURCE_PARAMS[p]] in str(err.value) for p in resources), op
        checked += 1
    assert checked >= 80  # nearly all of IAM's ~106 changing calls name a resource


def test_calls_naming_no_resource_are_refused_unless_they_make_something_new(
        account: dict[str, Any]) -> None:
    for op, params in sorted(guard.changing_operations().items()):
        if set(params) & guard.RESOURCE_PARAMS.keys() or op in guard.NEW_THINGS:
            continue
        with pytest.raises(NotOwnedError, match="Nothing was changed"):
            guard.check_call(account["iam"], op, {p: "x" for p in params})


def test_a_guarded_client_leaves_a_preexisting_group_and_instance_profile_alone(
        account: dict[str, Any]) -> None:
    iam = account["iam"]
    client = guard.install(boto3.client(
        "iam", endpoint_url=iam.meta.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing"))
    with pytest.raises(NotOwnedError, match="IAM group Admins"):
        client.add_user_to_group(GroupName="Admins", UserName="lab-user")
    with pytest.raises(NotOwnedError, match="IAM instance profile prod-web"):
        client.add_role_to_instance_profile(InstanceProfileName="prod-web", RoleName="lab-role")
    with pytest.raises(NotOwnedError, match="IAM group Admins"):
        client.attach_group_policy(GroupName="Admins",
                                   PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert [u["UserName"] for u in iam.get_group(GroupName="Admins")["Users"]] == ["alice"]
    assert iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"] == []
    profile = iam.get_instance_profile(InstanceProfileName="prod-web")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["prod-role"]
    # The lab's own user may still be taken out of a group when the lab deletes it.
    iam.add_user_to_group(GroupName="Admins", UserName="lab-user")
    client.remove_user_from_group(GroupName="Admins", UserName="lab-user")
    assert [u["UserName"] for u in iam.get_group(GroupName="Admins")["Users"]] == ["alice"]
