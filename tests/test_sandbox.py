"""The sandbox process: started once per learner, found again, restarted, private, guarded."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit import sandbox
from labkit.sandbox import state


def _get(box: sandbox.Sandbox, path: str, token: str | None = None, method: str = "GET",
         body: bytes | None = None) -> tuple[int, bytes]:
    return sandbox.request(box.url, method, path, body, token, ca=box.ca)


def _iam(box: sandbox.Sandbox):
    key = box.console
    return boto3.session.Session(aws_access_key_id=key.access_key_id,
                                 aws_secret_access_key=key.reveal_secret(),
                                 region_name="us-east-1").client("iam", endpoint_url=box.url,
                                                                 verify=box.ca)


def _kill(pid: int | None) -> None:
    assert pid
    os.kill(pid, 9)
    deadline = time.monotonic() + 10
    while sandbox._alive(pid) and time.monotonic() < deadline:  # also reaps our own child
        time.sleep(0.01)


@pytest.fixture
def home(tmp_path: Path):
    h = tmp_path / "labkit"
    yield h
    sandbox.stop(h)


@pytest.mark.slow
def test_first_use_starts_a_private_sandbox_on_loopback(home: Path) -> None:
    box = sandbox.ensure(home)
    assert box.url.startswith("https://127.0.0.1:")
    assert box.has_fidelity_fixes and "inactive-keys-rejected" in box.fixes
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in (state.STATE, state.CONSOLE, state.LOG):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    # The console identity is an administrator, and its secret is masked when shown.
    assert box.console.reveal_secret() not in repr(box)
    assert _iam(box).get_user()["User"]["UserName"] == "console-admin"


@pytest.mark.slow
def test_a_second_kernel_finds_the_same_sandbox(home: Path) -> None:
    first = sandbox.ensure(home)
    again = sandbox.ensure(home)
    assert again.instance == first.instance and again.url == first.url
    assert again.started_in is None  # attached, not started


@pytest.mark.slow
def test_two_kernels_starting_at_once_get_one_sandbox(home: Path) -> None:
    code = ("import sys; from pathlib import Path; from labkit import sandbox; "
            "print(sandbox.ensure(Path(sys.argv[1])).instance)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE,
                              text=True) for _ in range(3)]
    instances = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(instances) == 1 and "" not in instances
    assert sandbox.ensure(home).instance in instances


@pytest.mark.slow
def test_a_killed_sandbox_is_restarted_with_a_message_and_the_same_port(home: Path) -> None:
    box = sandbox.ensure(home)
    _iam(box).create_user(UserName="temporary-iam-user")
    _kill(box.pid)
    again = sandbox.ensure(home)
    assert again.instance != box.instance
    assert again.message and "started a new one" in again.message
    assert again.url == box.url  # same address: open terminals and clients keep working
    # Same console key, fresh account: what the learner made is gone.
    with pytest.raises(ClientError) as err:
        _iam(again).get_user(UserName="temporary-iam-user")
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"


@pytest.mark.slow
def test_stale_state_with_port_taken_by_another_program(home: Path) -> None:
    box = sandbox.ensure(home)
    port = int(box.url.rsplit(":", 1)[1])
    _kill(box.pid)

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"not a sandbox")

        def log_message(self, *args: object) -> None:
            pass

    deadline = time.monotonic() + 10
    while True:  # the dead server's socket can take a moment to be released
        try:
            other = HTTPServer(("127.0.0.1", port), Other)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        again = sandbox.ensure(home)
        assert again.url != box.url
        assert again.message and "started a new one" in again.message
        assert _iam(again).get_user()["User"]["UserName"] == "console-admin"
    finally:
        other.shutdown()


@pytest.mark.slow
def test_a_state_file_naming_a_dead_pid_is_replaced(home: Path) -> None:
    state.prepare_home(home)
    state.write_private(home / state.STATE, {"status": "ready", "pid": 2**22 + 7,
                                             "url": "https://127.0.0.1:9", "token": "x",
                                             "instance": "gone", "port": 0,
                                             "ca": str(home / state.CERT)})
    box = sandbox.ensure(home)
    assert box.instance != "gone" and box.message


def test_an_unwritable_labkit_home_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(sandbox.HomeError) as err:
        sandbox.ensure(blocker / "labkit")
    assert "LABKIT_HOME" in str(err.value) and "cannot write" in str(err.value)


@pytest.mark.slow
def test_admin_api_needs_the_sandbox_token(home: Path) -> None:
    box = sandbox.ensure(home)
    _iam(box).create_user(UserName="temporary-iam-user")
    for path, method in [("/moto-api/reset", "POST"), ("/labkit-api/reset", "POST"),
                         ("/moto-api/data.json", "GET"), ("/labkit-api/trail", "GET")]:
        code, _ = _get(box, path, token=None, method=method, body=b"")
        assert code == 403, path
        code, _ = _get(box, path, token="wrong-token", method=method, body=b"")
        assert code == 403, path
    # Nothing was reset by the refused calls.
    assert _iam(box).get_user(UserName="temporary-iam-user")["User"]["UserName"]
    code, body = _get(box, "/labkit-api/health", token=box.token)
    assert code == 200 and json.loads(body)["instance"] == box.instance


@pytest.mark.slow
def test_reset_empties_the_account_but_keeps_the_console_identity(home: Path) -> None:
    box = sandbox.ensure(home)
    _iam(box).create_user(UserName="temporary-iam-user")
    sandbox.reset(box)
    names = [u["UserName"] for u in _iam(box).list_users()["Users"]]
    assert names == ["console-admin"]


@pytest.mark.slow
def test_stop_and_status(home: Path) -> None:
    assert sandbox.status(home) is None
    box = sandbox.ensure(home)
    info = sandbox.status(home)
    assert info and info["pid"] == box.pid and info["url"] == box.url
    assert sandbox.stop(home) is True
    assert sandbox.status(home) is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(box.url.rsplit(":", 1)[1])), timeout=1)


@pytest.mark.slow
def test_requests_are_not_logged_with_secrets(home: Path) -> None:
    box = sandbox.ensure(home)
    made = _iam(box).create_user(UserName="temporary-iam-user")
    assert made
    key = _iam(box).create_access_key(UserName="temporary-iam-user")["AccessKey"]
    log = (home / state.LOG).read_text()
    assert key["SecretAccessKey"] not in log
    assert box.console.reveal_secret() not in log


@pytest.mark.slow
def test_health_is_not_confused_by_http_errors(home: Path) -> None:
    box = sandbox.ensure(home)
    from labkit.sandbox.tls import client_context

    conn = http.client.HTTPSConnection("127.0.0.1", int(box.url.rsplit(":", 1)[1]), timeout=2,
                                       context=client_context(box.ca))
    conn.request("GET", "/labkit-api/nope", headers={"X-Labkit-Token": box.token or ""})
    assert conn.getresponse().status == 404


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("unshare") or os.geteuid() != 0,
                    reason="needs root and unshare to take the network away")
def test_no_loopback_network_is_a_plain_message(tmp_path: Path) -> None:
    # In a network namespace whose loopback is down, nothing can reach 127.0.0.1.
    env = dict(os.environ, LABKIT_HOME=str(tmp_path / "labkit"))
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "labkit", "sandbox", "start"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "cannot be reached at https://127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr
