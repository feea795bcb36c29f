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


# --- no forced reset by someone else --------------------------------------------------------

FLOOD = textwrap.dedent("""
    import socket, sys, time
    port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    held, made, start = [], 0, time.monotonic()
    # Hold `count` connections for `seconds`; go on (at most a minute) until `count` were made.
    while time.monotonic() < start + seconds or (made < count and time.monotonic() < start + 60):
        while len(held) < count and time.monotonic() < start + 60:
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=1))
                made += 1
            except OSError:
                time.sleep(0.01)
            if made >= count and time.monotonic() > start + seconds:
                break
        time.sleep(0.2)
        for s in held[:]:  # reopen what the sandbox closed, to keep `count` open
            try:
                s.setblocking(False)
                if s.recv(1) == b"":
                    held.remove(s); s.close()
            except BlockingIOError:
                pass
            except OSError:
                held.remove(s); s.close()
    print(made, flush=True)
""")


@pytest.fixture
def hub_fd_limit() -> Iterator[None]:
    """Start sandboxes with a JupyterHub user's usual soft limit of 1,024 open files."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_another_users_idle_connections_neither_block_nor_reset_the_sandbox(
        home: Path, other_user: str, hub_fd_limit: None) -> None:
    box = sandbox.ensure(home)
    iam = _iam(box)
    iam.create_user(UserName="temporary-iam-user")
    port = box.url.rsplit(":", 1)[1]
    attackers = [subprocess.Popen(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c",
                                   FLOOD, port, "700", "15"], cwd="/",
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        import time

        time.sleep(4)  # let the flood open its connections
        # labkit finds the same sandbox each time (a lesson's Setup cell): nothing is lost ...
        for _ in range(3):
            again = sandbox.ensure(home)
            assert again.instance == box.instance and again.pid == box.pid
            time.sleep(1)
        # ... and the owner's calls still work, with the timeouts labkit's clients use.
        from labkit.boto_session import sandbox_client_config

        key = box.console
        owner = boto3.session.Session(
            aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
            region_name="us-east-1").client("iam", endpoint_url=box.url, config=sandbox_client_config())
        for _ in range(5):
            assert [u["UserName"] for u in owner.list_users()["Users"]] == [
                "console-admin", "temporary-iam-user"]
    finally:
        made = [int(a.communicate(timeout=60)[0] or 0) for a in attackers]
    assert sum(made) >= 1400  # the attack really ran: at least 1,400 connections were opened
    assert sandbox.ensure(home).instance == box.instance


def test_a_paused_sandbox_gives_up_in_seconds_and_is_not_restarted(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from labkit import boto_session, session
    from labkit.sandbox_restart import SandboxNotAnswering

    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    monkeypatch.delenv("LABKIT_SANDBOX_URL", raising=False)
    monkeypatch.setattr(session, "_current", None)
    monkeypatch.setattr(boto_session, "SANDBOX_READ_TIMEOUT", 2.0)
    monkeypatch.setattr(sandbox, "BUSY_WAIT", 1.0)
    lab = session.connect()
    iam = lab.client("iam")
    iam.create_user(UserName="temporary-iam-user")
    pid = lab.sandbox.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(SandboxNotAnswering) as err:
            iam.get_user(UserName="temporary-iam-user")
        assert "did not answer" in str(err.value) and "nothing in it was lost" in str(err.value)
        # A new kernel (or the next Setup cell) says the same; it does not start an empty one.
        with pytest.raises(session.LabError) as err2:
            session.connect(refresh=True)
        assert "is running" in str(err2.value) and "Nothing was lost" in str(err2.value)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert iam.get_user(UserName="temporary-iam-user")["User"]["UserName"] == \
        "temporary-iam-user"
    assert sandbox.ensure(home).pid == pid


# --- files nobody should trust --------------------------------------------------------------

def test_a_pid_now_owned_by_another_user_is_never_signalled(home: Path,
                                                            other_user: str) -> None:
    victim = subprocess.Popen(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c",
                               "import time; time.sleep(60)", "labkit", "sandbox", "serve",
                               "--home", str(home)], cwd="/")
    try:
        import time

        deadline = time.monotonic() + 10
        pid = None
        while pid is None and time.monotonic() < deadline:  # runuser's child: the python
            out = subprocess.run(["pgrep", "-u", other_user, "-f", "labkit sandbox serve"],
                                 capture_output=True, text=True).stdout.split()
            pid = int(out[0]) if out else None
            time.sleep(0.05)
        assert pid
        state.prepare_home(home)
        state.write_private(home / state.STATE, {
            "status": "ready", "pid": pid, "port": 9, "url": "http://127.0.0.1:9",
            "token": "t", "instance": "i"})
        assert sandbox.stop(home) is False
        box = sandbox.ensure(home)  # a fresh sandbox, without touching that process
        assert box.pid != pid
        os.kill(pid, 0)  # still alive (raises ProcessLookupError if it was killed)
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_a_labkit_home_owned_by_someone_else_is_refused(tmp_path: Path,
                                                        other_user: str) -> None:
    planted = tmp_path / "shared"
    planted.mkdir(mode=0o700)
    (planted / state.CONSOLE).write_text('{"user_name": "x"}')
    uid = pwd.getpwnam(other_user).pw_uid
    os.chown(planted, uid, uid)
    with pytest.raises(sandbox.HomeError) as err:
        sandbox.ensure(planted)
    assert f"belongs to {other_user}, not to you" in str(err.value)
    assert "LABKIT_HOME" in str(err.value)
    assert not (planted / state.STATE).exists()


def test_a_labkit_home_others_can_write_to_is_refused(tmp_path: Path) -> None:
    wide = tmp_path / "wide"
    wide.mkdir()
    wide.chmod(0o777)
    with pytest.raises(sandbox.HomeError) as err:
        sandbox.ensure(wide)
    assert "(0777)" in str(err.value) and f"chmod 700 {wide}" in str(err.value)
    assert not (wide / state.STATE).exists()


@pytest.mark.parametrize("damage", [
    {"pid": "12a"}, {"port": "eighty"}, {"url": 5}, {"url": "http://evil.example:80"},
    {"pid": True}, {"started": "yesterday"}, {"pid": [1]},
])
def test_a_damaged_state_file_recovers_by_itself(home: Path, damage: dict[str, object]) -> None:
    box = sandbox.ensure(home)
    data = state.read_json(home / state.STATE)
    assert data
    sandbox.stop(home)
    state.write_private(home / state.STATE, dict(data, status="ready", **damage))
    again = sandbox.ensure(home)
    assert again.url.startswith("http://127.0.0.1:")
    assert _iam(again).get_user()["User"]["UserName"] == "console-admin"
    assert box.console == again.console


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"pid": ' * 100_000, ""],
                         ids=["text", "list", "deeply-nested", "empty"])
def test_a_state_file_that_is_not_an_object_recovers(home: Path, text: str) -> None:
    state.prepare_home(home)
    state.write_private_text(home / state.STATE, text)
    assert sandbox.ensure(home).url.startswith("http://127.0.0.1:")


def test_a_flood_of_bad_requests_cannot_grow_the_log_past_its_cap(box: sandbox.Sandbox,
                                                                  home: Path) -> None:
    import socket

    from labkit.sandbox.server import LOG_MAX_BYTES

    port = int(box.url.rsplit(":", 1)[1])
    line = b"GET / " + b"x" * 60_000 + b"\r\n\r\n"  # logged as "Bad request version (...)"
    for _ in range(2 * LOG_MAX_BYTES // 60_000 + 20):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(line)
            s.recv(1024)
    logs = [home / state.LOG, home / (state.LOG + ".1")]
    assert logs[1].exists()  # it did rotate: the flood wrote more than one cap's worth
    for log in logs:
        assert log.stat().st_size <= LOG_MAX_BYTES + 70_000, log
        assert oct(log.stat().st_mode & 0o777) == "0o600", log
    assert _iam(box).get_user()["User"]["UserName"] == "console-admin"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tiny file system that is already full."""
    if not ROOT:
        pytest.skip("mounting a tiny tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir(mode=0o700)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_one_plain_message_in_the_cli(full_disk: Path) -> None:
    home = full_disk / "labkit"
    env = dict(os.environ, LABKIT_HOME=str(home), PYTHONPATH=str(Path(__file__).parents[1]))
    env.pop("LABKIT_SANDBOX_URL", None)
    env.pop("LABKIT_BACKEND", None)
    done = subprocess.run([sys.executable, "-m", "labkit", "sandbox", "start"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "is full" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []  # no half files
    assert not (home / state.STATE).exists() and not (home / state.CONSOLE).exists()


def test_a_full_disk_is_one_plain_message_in_the_kernel(full_disk: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import session

    monkeypatch.setenv("LABKIT_HOME", str(full_disk / "labkit"))
    monkeypatch.delenv("LABKIT_SANDBOX_URL", raising=False)
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    monkeypatch.setattr(session, "_current", None)
    with pytest.raises(session.LabError) as err:
        session.connect()
    assert "is full" in str(err.value) and "Free some space" in str(err.value)


# --- damaged credentials files; the lab's backups ---------------------------------------------

BEFORE_SECTION = "region = eu-west-1\n[default]\nregion = us-east-1\n"


def test_a_damaged_sandbox_credentials_file_recovers_by_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import session

    home = tmp_path / "labkit"
    (home / "aws").mkdir(parents=True)
    home.chmod(0o700)
    (home / "aws" / "credentials").write_text(BEFORE_SECTION)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.delenv("LABKIT_SANDBOX_URL", raising=False)
    monkeypatch.delenv("LABKIT_BACKEND", raising=False)
    monkeypatch.setattr(session, "_current", None)
    try:
        lab = session.connect()
        assert lab.message and "settings before the first [section] (line 1)" in lab.message
        assert "moved it aside" in lab.message
        aside = home / "aws" / "credentials.damaged"
        assert aside.read_text() == BEFORE_SECTION and aside.stat().st_mode & 0o777 == 0o600
        whoami = lab.whoami(lab.session_for_profile("default"))
        assert whoami.name == "console-admin"
    finally:
        sandbox.stop(home)


def test_a_damaged_aws_credentials_file_is_one_plain_message_in_real_aws_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import session

    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(BEFORE_SECTION)
    for name in list(os.environ):
        if name.startswith(("AWS_", "LABKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_BACKEND", "aws")
    monkeypatch.setattr(session, "_current", None)
    with pytest.raises(session.LabError) as err:
        session.connect()
    assert str(tmp_path / ".aws" / "credentials") in str(err.value)
    assert "settings before the first [section] (line 1)" in str(err.value)
    assert "labkit changed nothing" in str(err.value)
    assert (tmp_path / ".aws" / "credentials").read_text() == BEFORE_SECTION


def test_removing_the_labs_profile_removes_the_backups_it_made(tmp_path: Path) -> None:
    from datetime import datetime

    from labkit.keys import AccessKey
    from labkit.profiles import configure_profile, remove_profile

    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    (aws / "mine.labkit-backup-keep").write_text("not one of the lab's backups")
    files = {"credentials_file": aws / "credentials", "config_file": aws / "config"}
    key_id = "AKIA" + uuid.uuid4().hex[:16].upper()
    secret = (uuid.uuid4().hex + uuid.uuid4().hex)[:40]
    now = datetime(2026, 1, 2, 3, 4, 5)
    configure_profile("lab", AccessKey(key_id, secret), backup=True, now=now, **files)
    rotated = secret[::-1]  # lesson 05: the profile gets the new key
    configure_profile("lab", AccessKey(key_id, rotated), backup=True, now=now, **files)
    assert any(secret in p.read_text() for p in aws.glob("*.labkit-backup-*"))
    done = remove_profile("lab", backup=True, now=now, **files)
    assert "Removed" in done.message and "backup" in done.message
    assert sorted(p.name for p in aws.iterdir()) == ["config", "credentials",
                                                     "mine.labkit-backup-keep"]
    assert "[work]" in (aws / "credentials").read_text()
    assert not any(secret in p.read_text() or rotated in p.read_text() for p in aws.iterdir())


def test_the_key_form_refuses_root_keys_in_real_aws_mode(tmp_path: Path, root_sts: str) -> None:
    """A stand-in for AWS's STS (conftest's `root_sts`) says the key belongs to the root user."""
    from labkit.lab import Identity, Lab
    from labkit.settings import Settings
    from labkit.widgets import KeyEntryForm

    aws = tmp_path / ".aws"
    cfg = Settings(backend="aws", home=tmp_path / ".labkit", credentials_file=aws / "credentials",
                   config_file=aws / "config")
    lab = Lab(settings=cfg, session=None, identity=Identity("", "", ""), endpoint_url=root_sts)
    key_id = "AKIA" + uuid.uuid4().hex[:16].upper()
    secret = (uuid.uuid4().hex + uuid.uuid4().hex)[:40]
    verdict = KeyEntryForm(lab, profile="lab").submit(key_id, secret)
    assert not verdict.ok
    assert "root user" in verdict.title and "will not save" in verdict.title
    assert not (aws / "credentials").exists() and not (aws / "config").exists()
