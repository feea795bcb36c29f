"""The lab's IAM calls against the real sandbox: safe to re-run, clear when refused."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit import checks, iam


def test_creating_a_user_that_exists_finds_it(lab) -> None:
    client = lab.client("iam")
    first = iam.create_user(client)
    again = iam.create_user(client)
    assert first.new and not again.new and again.arn == first.arn
    assert str(again).startswith("Found existing IAM user temporary-iam-user")
    assert iam.attach_user_policy(client).startswith("Attached IAMReadOnlyAccess")
    assert "already attached" in iam.attach_user_policy(client)
    assert list(iam.list_attached_user_policies(client)) == ["IAMReadOnlyAccess"]


def test_deleting_a_user_that_does_not_exist_changes_nothing(lab) -> None:
    client = lab.client("iam")
    assert iam.delete_user(client, "nobody") == ["There is no user nobody: nothing to delete."]
    assert [u["UserName"] for u in client.list_users()["Users"]] == ["console-admin"]


def test_delete_user_removes_everything_in_awss_order(lab) -> None:
    client = lab.client("iam")
    iam.create_user(client)
    iam.attach_user_policy(client)
    iam.create_access_key(client)
    iam.create_access_key(client)
    client.create_login_profile(UserName=iam.USER_NAME, Password="Correct-Horse-9!")
    client.put_user_policy(UserName=iam.USER_NAME, PolicyName="extra",
                           PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                           '"Action":"iam:GetUser","Resource":"*"}]}')
    assert len(client.list_access_keys(UserName=iam.USER_NAME)["AccessKeyMetadata"]) == 2
    steps = iam.delete_user(client)
    assert steps[0] == "Deleted the console password."
    assert steps[-1] == "Deleted the user temporary-iam-user."
    assert iam.get_user(client) is None


def test_the_third_key_is_explained(lab) -> None:
    client = lab.client("iam")
    iam.create_user(client)
    iam.create_access_key(client)
    iam.create_access_key(client)
    verdict = checks.refusal("LimitExceeded", iam.create_access_key, client)
    assert verdict.ok and verdict.code == "LimitExceeded"
    assert "at most two access keys" in verdict.title


def test_deleting_a_deleted_key_is_not_an_error(lab) -> None:
    client = lab.client("iam")
    iam.create_user(client)
    key = iam.create_access_key(client)
    assert iam.delete_access_key(client, key.access_key_id).startswith("Deleted key")
    assert "already deleted" in iam.delete_access_key(client, key.access_key_id)


def test_an_invalid_status_is_refused_before_asking_aws(lab) -> None:
    with pytest.raises(ValueError, match="'Active' or 'Inactive'"):
        iam.update_access_key(lab.client("iam"), "AKIAIOSFODNN7EXAMPLE", "Disabled")


def test_refusal_is_red_when_aws_accepts(lab) -> None:
    verdict = checks.refusal("AccessDenied", lab.client("iam").list_users)
    assert not verdict.ok and "succeeded" in verdict.title


def test_explanations_name_the_code(lab) -> None:
    with pytest.raises(ClientError) as err:
        lab.client("iam").get_user(UserName="nobody")
    why = checks.explain(err.value)
    assert why.code == "NoSuchEntity" and "no such user" in why.meaning
    assert checks.failure(err.value, "Looking up").code == "NoSuchEntity"
