"""Attacks on a learner's sandbox from another user of a shared machine, tried as they would be.

Tests that need another OS user create a throwaway one with `useradd` (they run as root in CI)
and remove it afterwards; they skip, saying why, when not root.
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from labkit import sandbox
from labkit.sandbox import state

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="creating another OS user needs root")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    h = tmp_path / "labkit"
    yield h
    sandbox.stop(h)


@pytest.fixture
def box(home: Path) -> sandbox.Sandbox:
    return sandbox.ensure(home)


@pytest.fixture
def other_user() -> Iterator[str]:
    """A throwaway OS user, the 'other learner' on a shared machine."""
    if not ROOT or shutil.which("useradd") is None:
        pytest.skip("creating another OS user needs root and useradd")
    name = "lkx" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True)
    try:
        yield name
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)  # only that user's processes
        subprocess.run(["userdel", name], check=False)


def _iam(b: sandbox.Sandbox):
    key = b.console
    return boto3.session.Session(aws_access_key_id=key.access_key_id,
                                 aws_secret_access_key=key.reveal_secret(),
                                 region_name="us-east-1").client("iam", endpoint_url=b.url)


def _raw(url: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One HTTP request as an attacker would send it: no SDK, no valid signature."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("POST", "/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", **headers})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


FORGED = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, "
          "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)


@pytest.mark.parametrize("body", [
    "Action=ListUsers&Version=2010-05-08",
    "Action=CreateUser&Version=2010-05-08&UserName=intruder",
    "Action=DeleteAccessKey&Version=2010-05-08&UserName=console-admin&AccessKeyId={key}",
])
def test_a_public_cognito_target_opens_no_door(box: sandbox.Sandbox, body: str) -> None:
    body = body.format(key=box.console.access_key_id)
    status, payload = _raw(box.url, body, {
        "X-Amz-Target": "AWSCognitoIdentityService.GetId", "Authorization": FORGED,
        "X-Amz-Date": "20260101T000000Z"})
    assert status == 403, payload
    assert b"<Code>InvalidClientTokenId</Code>" in payload
    iam = _iam(box)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["console-admin"]
    assert len(iam.list_access_keys(UserName="console-admin")["AccessKeyMetadata"]) == 1


@pytest.mark.parametrize("headers", [
    {},
    {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
])
def test_an_unsigned_request_gets_missing_authentication_token(box: sandbox.Sandbox,
                                                               headers: dict[str, str]) -> None:
    status, payload = _raw(box.url, "Action=ListUsers&Version=2010-05-08", headers)
    assert status == 403, payload
    assert b"<Code>MissingAuthenticationToken</Code>" in payload
    assert b"console-admin" not in payload


def test_a_garbled_signature_is_refused_not_a_server_error(box: sandbox.Sandbox) -> None:
    status, payload = _raw(box.url, "Action=ListUsers&Version=2010-05-08",
                           {"Authorization": "AWS4-HMAC-SHA256 garbage"})
    assert status in (400, 403), payload
    assert b"<Code>IncompleteSignature</Code>" in payload
