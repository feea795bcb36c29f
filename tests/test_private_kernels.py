"""Kernels are private: a classmate (another OS user) can neither connect to a learner's kernel
nor find a TCP port of it, in a real `jupyter server` started with the lab's config."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from labkit import sandbox
from tests.jupyter_server_run import Server, start_server, stop_server, wait_for
from tests.test_security import other_user  # noqa: F401 - a fixture

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


def test_another_user_can_neither_reach_nor_find_a_learners_kernel(learner: Server,
                                                                   other_user: str) -> None:  # noqa: F811
    kernel = learner.api("POST", "/api/kernels", {"name": "python3"})
    connection = learner.runtime / f"kernel-{kernel['id']}.json"
    assert wait_for(connection.exists, 30), learner.log_text()[-2000:]
    info = json.loads(connection.read_text())
    assert info["transport"] == "ipc", info
    assert stat.S_IMODE(learner.runtime.stat().st_mode) == 0o700
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels(hb=False)
    try:  # the kernel works for its owner, over those sockets
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("print(6 * 7)", timeout=60)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    run = subprocess.run(["runuser", "-u", other_user, "--", "/usr/bin/python3", "-c", SNOOP,
                          json.dumps(info)], cwd="/", capture_output=True, text=True, timeout=60)
    lines = run.stdout.split("\n")
    assert run.returncode == 0, run.stderr
    assert len([x for x in lines if x.endswith("denied")]) == 5, run.stdout
    # And no TCP port to find: the kernel process listens on none.
    pid = next(p.pid for p in psutil.Process(learner.proc.pid).children(recursive=True)
               if "ipykernel" in " ".join(p.cmdline()))
    assert [c for c in psutil.Process(pid).net_connections(kind="inet")] == []
    assert os.path.exists(f"{info['ip']}-{info['iopub_port']}")
