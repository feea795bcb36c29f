"""Using a sandbox someone else started: a labkit sandbox, or a stock moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.keys import AccessKey
from labkit.sandbox import state
from labkit.sandbox.handle import CONSOLE_USER, Sandbox, SandboxError, console_key, request

EXTERNAL = "external.json"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
_ADMIN_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def attach(url: str, home: Path) -> Sandbox:
    """Check what answers at `url` and make it usable as the learner's sandbox."""
    state.prepare_home(home)
    url = url.rstrip("/")
    own = state.read_state(home) or {}
    token = own.get("token") if own.get("url") == url else None
    ca = own.get("ca") if own.get("url") == url else None
    try:
        status, payload = request(url, "GET", "/labkit-api/health", token=token, ca=ca)
    except OSError:
        raise SandboxError(
            f"Nothing answers at LABKIT_SANDBOX_URL={url}. Start the sandbox there, or unset "
            "LABKIT_SANDBOX_URL so that the lab starts its own."
        ) from None
    try:
        info = json.loads(payload)
    except ValueError:
        info = None
    if status == 200 and isinstance(info, dict) and info.get("labkit"):
        console = state.read_console(home)
        if not console:
            raise SandboxError(f"The sandbox at {url} was started with another LABKIT_HOME; "
                               "set LABKIT_HOME to the folder that started it.")
        return Sandbox(url=url, console=console_key(console),
                       instance=info["instance"], home=home, token=token, pid=info.get("pid"),
                       fixes=tuple(info.get("fixes", ())), external=True, ca=ca)
    if status == 403 and b"admin API" in payload:
        raise SandboxError(f"The sandbox at {url} belongs to another LABKIT_HOME; set LABKIT_HOME "
                           "to the folder that started it (its owner's token is there).")
    status, payload = request(url, "GET", "/moto-api/reset-auth")
    if status != 400 or b"reset Moto Auth" not in payload:
        raise SandboxError(f"{url} answers, but it is not a moto server. Point "
                           "LABKIT_SANDBOX_URL at a moto server, or unset it.")
    console = bootstrap(url, home)
    return Sandbox(url=url, console=console, instance="stock-moto", home=home, external=True)


def _reset_auth(url: str, count: str) -> None:
    status, _ = request(url, "POST", "/moto-api/reset-auth", count.encode(),
                         headers={"Content-Type": "text/plain"})
    if status != 200:
        raise SandboxError(f"The moto server at {url} refused to switch authentication ({status}).")


def _iam(url: str, key: AccessKey | None) -> Any:
    import boto3

    creds = {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": key.reveal_secret()} \
        if key else {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.session.Session(region_name="us-east-1", **creds).client("iam", endpoint_url=url)


def bootstrap(url: str, home: Path, force: bool = False) -> AccessKey:
    """Make (or find again) the console identity on a stock moto server, then switch auth on."""
    from botocore.exceptions import ClientError

    known = state.read_json(home / EXTERNAL) or {}
    saved = known.get(url)
    if saved and not force:
        key = console_key(saved)
        iam = _iam(url, key)
        try:
            listed = iam.list_access_keys(UserName=key.user_name)["AccessKeyMetadata"]
            if any(k["AccessKeyId"] == key.access_key_id for k in listed):
                _reset_auth(url, "0")
                return key
        except ClientError:
            pass
    _reset_auth(url, "inf")  # authentication off while the console identity is made
    try:
        iam = _iam(url, None)
        try:
            iam.create_user(UserName=CONSOLE_USER, Tags=[{"Key": "labkit", "Value": "console"}])
        except iam.exceptions.EntityAlreadyExistsException:
            for old in iam.list_access_keys(UserName=CONSOLE_USER)["AccessKeyMetadata"]:
                iam.delete_access_key(UserName=CONSOLE_USER, AccessKeyId=old["AccessKeyId"])
        try:
            iam.attach_user_policy(UserName=CONSOLE_USER, PolicyArn=ADMIN_POLICY)
        except ClientError:  # a moto without AWS managed policies
            iam.put_user_policy(UserName=CONSOLE_USER, PolicyName="AdministratorAccess",
                                PolicyDocument=_ADMIN_DOCUMENT)
        made = iam.create_access_key(UserName=CONSOLE_USER)["AccessKey"]
    finally:
        _reset_auth(url, "0")
    known[url] = {"user_name": CONSOLE_USER, "access_key_id": made["AccessKeyId"],
                  "secret_access_key": made["SecretAccessKey"]}
    state.write_private(home / EXTERNAL, known)
    return console_key(known[url])
