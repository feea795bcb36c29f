"""A classmate on the same machine (a second OS user, no keys of the victim's) gets nothing.

Each test tries one way in as issue 22 found it, with a throwaway OS user (`useradd`, `runuser`;
they skip when not root), and checks that nothing was gained: no connection served, no memory
kept, no account, no last-used change, no trail entry.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config

from labkit import sandbox
from labkit.sandbox import gate, state
from labkit.sandbox.tls import client_context
from tests.test_security import _iam, box, home, other_user  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

# Run as the other user with the system's python (no labkit): connect from ADDRESS to the port,
# send the request (its body: BODY_MB megabytes of "x"), print what came back.
ATTACK = textwrap.dedent("""
    import socket, sys
    address, port, request, body_mb = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(address, 0))
    except OSError as exc:
        print("refused:", exc); sys.exit()
    try:
        s.sendall(request.encode().decode("unicode_escape").encode("latin-1"))
        chunk = b"x" * (1 << 20)
        for _ in range(body_mb):
            s.sendall(chunk)
        got = s.recv(65536)
        print("answered:", got[:200]) if got else print("closed")
    except OSError as exc:
        print("closed:", type(exc).__name__)
""")

FLOOD_FROM = textwrap.dedent("""
    import socket, sys, time
    address, port = sys.argv[1], int(sys.argv[2])
    count, seconds = int(sys.argv[3]), float(sys.argv[4])
    held, made, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        while len(held) < count and time.monotonic() < end:
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=1,
                                                     source_address=(address, 0)))
                made += 1
            except OSError:
                time.sleep(0.01)
        for s in held[:]:
            try:
                s.setblocking(False)
                if s.recv(1) == b"":
                    held.remove(s); s.close()
            except BlockingIOError:
                pass
            except OSError:
                held.remove(s); s.close()
        time.sleep(0.05)
    print(made, flush=True)
""")


def _port(box: sandbox.Sandbox) -> str:
    return box.url.rsplit(":", 1)[1]


def _attack(user: str, box: sandbox.Sandbox, request: str, address: str = "127.0.0.1",
            body_mb: int = 0) -> str:
    """What another OS user gets back for one raw request to the sandbox."""
    run = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", ATTACK, address,
                          _port(box), request, str(body_mb)], cwd="/", capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def _forged(key_id: str, extra: str = "") -> str:
    body = "Action=ListUsers&Version=2010-05-08"
    return (f"POST / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-Amz-Date: 20260101T000000Z\\r\\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={key_id}/20260101/evil<img src=x>/iam/"
            f"aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}\\r\\n{extra}"
            f"Content-Type: application/x-www-form-urlencoded\\r\\n"
            f"Content-Length: {len(body)}\\r\\n\\r\\n{body}")


def _owner_client(box: sandbox.Sandbox):
    """The owner's IAM client, allowed 2 seconds to connect and 2 to read, no retries."""
    key = box.console
    return boto3.session.Session(
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
        region_name="us-east-1").client("iam", endpoint_url=box.url, verify=box.ca, config=Config(
            connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1}))


def _https(box: sandbox.Sandbox) -> http.client.HTTPSConnection:
    """A connection to the sandbox as the owner's own processes make it (its certificate)."""
    host, port = box.url.removeprefix("https://").split(":")
    return http.client.HTTPSConnection(host, int(port), timeout=10, context=client_context(box.ca))


def _rss(box: sandbox.Sandbox) -> int:
    return psutil.Process(box.pid).memory_info().rss


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "127.1.2.3"])
def test_another_users_connection_is_closed_unanswered_from_any_loopback_address(
        box: sandbox.Sandbox, other_user: str, address: str) -> None:
    got = _attack(other_user, box, _forged(box.console.access_key_id), address)
    assert got.startswith("closed"), got  # not even an error answer
    assert _iam(box).get_user()["User"]["UserName"] == "console-admin"


def test_a_connection_flood_from_127_0_0_2_leaves_the_owner_answered(
        box: sandbox.Sandbox, other_user: str) -> None:
    iam = _owner_client(box)
    iam.create_user(UserName="temporary-iam-user")
    flood = subprocess.Popen(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c",
                              FLOOD_FROM, "127.0.0.2", _port(box), "700", "12"], cwd="/",
                             stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # let the flood open its connections
        for _ in range(10):  # answered, each with 2 s to connect and 2 s to read, no retry
            assert [u["UserName"] for u in iam.list_users()["Users"]] == [
                "console-admin", "temporary-iam-user"]
            # No thread serves the flood: the sandbox runs its usual handful.
            assert psutil.Process(box.pid).num_threads() < 30
            time.sleep(0.5)
    finally:
        made = int(flood.communicate(timeout=60)[0] or 0)
    assert made >= 700  # the attack really ran


def test_a_huge_body_is_never_read(box: sandbox.Sandbox, other_user: str) -> None:
    before = _rss(box)
    request = _forged(box.console.access_key_id).replace("Content-Length: 35",
                                                         f"Content-Length: {300 << 20}")
    assert _attack(other_user, box, request, "127.0.0.2", body_mb=300).startswith("closed")
    # Even the owner's own processes get AWS's 413 at once, without the body being read.
    conn = _https(box)
    conn.putrequest("POST", "/")
    for name, value in (("Content-Type", "application/x-www-form-urlencoded"),
                        ("Content-Length", str(300 << 20)), ("X-Amz-Date", "20260101T000000Z")):
        conn.putheader(name, value)
    conn.endheaders()  # the body would follow: the sandbox answers first
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    assert resp.status == 413 and b"<Code>RequestEntityTooLarge</Code>" in payload, payload
    assert resp.getheader("Connection") == "close"
    assert _rss(box) - before < 20 << 20  # no body kept (it was 1 GB)
    assert gate.MAX_BODY < 300 << 20


def test_no_account_is_created_by_a_header(box: sandbox.Sandbox, other_user: str) -> None:
    for n in range(3):
        got = _attack(other_user, box, _forged(
            "AKIAIOSFODNN7EXAMPLE", f"x-moto-account-id: 1000000000{n:02d}\\r\\n"), "127.0.0.2")
        assert got.startswith("closed"), got
    # The owner's own unsigned or forged requests create none either; a signed one naming
    # another account lands in the sandbox's one account.
    for n in range(20):
        status, payload = _owner_raw(box, {"x-moto-account-id": f"2000000000{n:02d}"})
        assert status == 403 and b"<Code>InvalidClientTokenId</Code>" in payload
    iam = _owner_client(box)
    iam.meta.events.register("before-sign.iam", lambda request, **_: request.headers.add_header(
        "x-moto-account-id", "300000000000"))
    with pytest.raises(iam.exceptions.ClientError) as err:
        iam.create_user(UserName="temporary-iam-user")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert [u["UserName"] for u in _iam(box).list_users()["Users"]] == ["console-admin"]
    assert box.admin("GET", "health")["accounts"] == [state.ACCOUNT]


def _owner_raw(box: sandbox.Sandbox, headers: dict[str, str],
               key_id: str = "AKIAIOSFODNN7EXAMPLE") -> tuple[int, bytes]:
    conn = _https(box)
    try:
        conn.request("POST", "/", body="Action=ListUsers&Version=2010-05-08", headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Amz-Date": "20260101T000000Z",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/20260101/evil<img src=x>/iam/"
                             f"aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
            **headers})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_real_key_id_with_a_wrong_secret_leaves_no_trace(box: sandbox.Sandbox,
                                                           other_user: str) -> None:
    admin = _iam(box)
    admin.create_user(UserName="temporary-iam-user")
    key = admin.create_access_key(UserName="temporary-iam-user")["AccessKey"]
    victim = boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1").client("sts", endpoint_url=box.url, verify=box.ca)
    victim.get_caller_identity()
    used = admin.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    trail_before = box.admin("GET", "trail?since=0")["events"]
    got = _attack(other_user, box, _forged(key["AccessKeyId"]), "127.0.0.2")
    assert got.startswith("closed"), got
    # The same forgery from the owner's own user is refused too, before moto sees it.
    for _ in range(5):
        status, payload = _owner_raw(box, {}, key["AccessKeyId"])
        assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in payload, payload
    after = admin.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert after == used and after["Region"] == "us-east-1"
    trail_after = box.admin("GET", "trail?since=0")["events"]
    new = [e for e in trail_after if e not in trail_before]
    assert all(e["access_key_id"] != key["AccessKeyId"] for e in new), new
    assert "evil" not in str(trail_after)


# Run as the other user: take the port as soon as it is free, answer every connection as a plain
# HTTP server would (a forwarder would do the same), and print every byte received.
SQUAT = textwrap.dedent("""
    import json, socket, sys, time
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 30
    while True:
        try:
            s.bind(("127.0.0.1", port)); break
        except OSError:
            if time.monotonic() > deadline: print("never bound", flush=True); sys.exit(1)
            time.sleep(0.005)
    s.listen(50)
    print("bound", flush=True)
    s.settimeout(0.2)
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        data = b""
        try:
            while len(data) < 65536:
                chunk = c.recv(65536)
                if not chunk: break
                data += chunk
                c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
        except OSError:
            pass
        got.append(data.decode("latin-1"))
        c.close()
    print(json.dumps(got), flush=True)
""")


def test_a_squatter_on_the_old_port_reads_no_request(box: sandbox.Sandbox, home: Path,
                                                     other_user: str) -> None:
    import os

    secret_user = _iam(box).create_user(UserName="temporary-iam-user")["User"]["UserName"]
    squatter = subprocess.Popen(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c",
                                 SQUAT, _port(box), "15"], cwd="/", stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        sandbox.stop(home)  # as a crash, `kill -9` or the learner's own `sandbox stop` would
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "bound"
        # The lab's boto3 clients pin the sandbox's certificate: nothing is sent to the squatter.
        key = box.console
        pinned = boto3.session.Session(
            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
            region_name="us-east-1").client("iam", endpoint_url=box.url, verify=box.ca,
                                            config=Config(retries={"total_max_attempts": 1}))
        from botocore.exceptions import SSLError

        with pytest.raises(SSLError):
            pinned.create_access_key(UserName=secret_user)
        # A terminal's `aws` (AWS_CA_BUNDLE, as the lab exports it) refuses it too.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=box.url, AWS_CA_BUNDLE=str(box.ca),
                   AWS_ACCESS_KEY_ID=key.access_key_id,
                   AWS_SECRET_ACCESS_KEY=key.reveal_secret(), AWS_DEFAULT_REGION="us-east-1")
        cli = subprocess.run(["aws", "iam", "create-access-key", "--user-name", secret_user],
                             env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode != 0 and "SSL" in cli.stderr, cli.stderr
    finally:
        out, err = squatter.communicate(timeout=60)
    received = json.loads(out.strip().splitlines()[-1])
    assert len(received) >= 2, (out, err)  # both clients did reach the squatter's port ...
    for data in received:  # ... and it read a TLS hello, never a request
        assert "CreateAccessKey" not in data and "Authorization" not in data, data[:300]
        assert key.access_key_id not in data and "HTTP/1.1" not in data


def test_temporary_credentials_pass_the_gate_only_with_their_own_token(
        box: sandbox.Sandbox) -> None:
    admin = _iam(box)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{state.ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}]})
    arn = admin.create_role(RoleName="temporary-iam-role", AssumeRolePolicyDocument=trust)[
        "Role"]["Arn"]
    key = box.console
    sts = boto3.session.Session(
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
        region_name="us-east-1").client("sts", endpoint_url=box.url, verify=box.ca)
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="gate-test")["Credentials"]

    def whoami(token: str) -> Any:
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=token, region_name="us-east-1").client(
            "sts", endpoint_url=box.url, verify=box.ca).get_caller_identity()

    arn = whoami(creds["SessionToken"])["Arn"]
    assert arn.endswith(":assumed-role/temporary-iam-role/gate-test")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        whoami(creds["SessionToken"][:-4] + "AAAA")
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
