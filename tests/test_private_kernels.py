"""Kernels are private: a classmate (another OS user) can neither connect to a learner's kernel's
sockets nor read its output from any port of it, in a real `jupyter server` started with the
lab's config. (The kernel's one TCP port is ipykernel's pipe for the output of forked
subprocesses: it only takes messages carrying a random token, and sends nothing.)"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from labkit import sandbox
from tests.jupyter_server_run import Server, start_server, stop_server, wait_for
from tests.test_security import other_user  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

# Run as the other user: try every socket of the kernel's connection file, say what happened.
SNOOP = textwrap.dedent("""
    import json, socket, sys
    info = json.loads(sys.argv[1])
    for name in ("iopub_port", "shell_port", "control_port", "stdin_port", "hb_port"):
        if info["transport"] == "ipc":
            s, where = socket.socket(socket.AF_UNIX), f"{info['ip']}-{info[name]}"
        else:
            s, where = socket.socket(), (info["ip"], info[name])
        try:
            s.settimeout(3)
            s.connect(where)
            s.sendall(bytes([0xff]) + bytes(8) + bytes([0x7f]))  # a ZMTP greeting
            print(name, "connected", s.recv(64)[:10])
        except PermissionError:
            print(name, "denied")
        except OSError as exc:
            print(name, "failed", type(exc).__name__)
        finally:
            s.close()
""")


# Run as the other user with pyzmq: subscribe to everything at each address, print what came.
SUBSCRIBE = textwrap.dedent("""
    import json, sys, time, zmq
    ctx = zmq.Context()
    socks = []
    for address in json.loads(sys.argv[1]):
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(address)
        socks.append(s)
    got, end = [], time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        for s in socks:
            try:
                got.append(s.recv(zmq.NOBLOCK).decode("latin-1"))
            except zmq.Again:
                pass
        time.sleep(0.02)
    print(json.dumps(got))
""")
# The environment's pyzmq, for the system's python (this environment's own python may live where
# the other user cannot run it).
SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages"))


@pytest.fixture(scope="module")
def readable_zmq() -> Iterator[Path]:
    """A copy of pyzmq the other user can read: the environment may sit in a folder only its owner
    may enter (a fresh venv in a 0700 temporary folder, as .ci/run makes)."""
    code = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        code.chmod(0o755)
        for name in ("zmq", "pyzmq.libs"):
            if (Path(SITE_PACKAGES) / name).is_dir():
                shutil.copytree(Path(SITE_PACKAGES) / name, code / name)
        for path in code.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield code
    finally:
        shutil.rmtree(code, ignore_errors=True)


@pytest.fixture
def learner(other_user: str) -> Iterator[Server]:  # noqa: F811
    """A learner's server whose home the other user may walk through (as on a hub, /home/x is
    often 0755): only the runtime folder's own protection counts."""
    base = Path(tempfile.mkdtemp(prefix="r22kernels-"))
    base.chmod(0o755)
    home = base / "learner"
    home.mkdir(mode=0o755)
    srv = start_server(home)
    try:
        yield srv
    finally:
        stop_server(srv)
        sandbox.stop(srv.labkit_home)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_another_user_can_neither_reach_nor_read_a_learners_kernel(
        learner: Server, other_user: str, readable_zmq: Path) -> None:  # noqa: F811
    kernel = learner.api("POST", "/api/kernels", {"name": "python3"})
    connection = learner.runtime / f"kernel-{kernel['id']}.json"
    assert wait_for(connection.exists, 30), learner.log_text()[-2000:]
    info = json.loads(connection.read_text())
    assert info["transport"] == "ipc", info
    assert stat.S_IMODE(learner.runtime.stat().st_mode) & 0o777 == 0o700
    from jupyter_client import BlockingKernelClient

    run = subprocess.run(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c", SNOOP,
                          json.dumps(info)], cwd="/", capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert len([x for x in run.stdout.split("\n") if x.endswith("denied")]) == 5, run.stdout
    # Subscribed to every socket of the kernel and every TCP port it listens on, the classmate
    # reads nothing while the kernel prints (pressing Show would print a secret the same way).
    pid = next(p.pid for p in psutil.Process(learner.proc.pid).children(recursive=True)
               if "ipykernel" in " ".join(p.cmdline()))
    ports = [c.laddr.port for c in psutil.Process(pid).net_connections(kind="inet")
             if c.status == psutil.CONN_LISTEN]
    addresses = [f"ipc://{info['ip']}-{info[n]}" for n in
                 ("iopub_port", "shell_port", "control_port", "stdin_port", "hb_port")]
    addresses += [f"tcp://127.0.0.1:{port}" for port in ports]
    spy = subprocess.Popen(["runuser", "-u", other_user, "--", "env", f"PYTHONPATH={readable_zmq}",
                            "/usr/bin/python3", "-c", SUBSCRIBE,
                            json.dumps(addresses), "8"], cwd="/", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels(hb=False)
    printed: list[str] = []
    try:  # the kernel works for its owner, over those sockets
        client.wait_for_ready(timeout=60)
        time.sleep(1)
        reply = client.execute_interactive(
            "import time\nfor _ in range(25):\n    print('MARKER-7f3a', flush=True)\n"
            "    time.sleep(0.2)", timeout=60,
            output_hook=lambda m: printed.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    out, err = spy.communicate(timeout=60)
    assert "MARKER-7f3a" in "".join(printed)
    assert spy.returncode == 0, err
    assert json.loads(out) == [], out
