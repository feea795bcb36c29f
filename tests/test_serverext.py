"""labkit's Jupyter server extension, in a real `jupyter server` enabled by the shipped config file."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import sandbox
from labkit.sandbox import owner as owners
from labkit.sandbox import procs, state
from tests.jupyter_server_run import (
    BIN, JUPYTER_CONFIG, REPO, Server, pid_running, start_server, stop_server, wait_for)

CONSOLE_ARN = re.compile(r"arn:aws:iam::\d{12}:user/console-admin")
# The watchdog checks every WATCH_INTERVAL seconds; "within a few minutes" has ample room.
ORPHAN_LIMIT = 60.0


def sandbox_state(home: Path) -> dict:
    return state.read_json(home / state.STATE) or {}


def wait_ready(server: Server) -> dict:
    """The sandbox the extension started with the server (no kernel or lesson has run)."""
    ready = wait_for(lambda: sandbox_state(server.labkit_home).get("status") == "ready"
                     and (server.labkit_home / "terminal.env").exists(), 60)
    assert ready, server.log_text()[-3000:]
    return sandbox_state(server.labkit_home)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "learner")
    try:
        yield srv
    finally:
        stop_server(srv)
        sandbox.stop(srv.labkit_home)


def test_the_shipped_config_file_enables_the_extension_and_culling() -> None:
    config = json.loads((JUPYTER_CONFIG / "jupyter_server_config.d" / "labkit.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"labkit.serverext": True}
    cull = config["MappingKernelManager"]
    # Open notebook tabs keep their kernels connected: only cull_connected culls those.
    assert cull["cull_idle_timeout"] == 900 and cull["cull_connected"] is True
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["data-files"] == {
        "etc/jupyter/jupyter_server_config.d": [
            "jupyter-config/jupyter_server_config.d/labkit.json"],
        # Kernels load labkit.notebook (plain-words errors, "run the Setup cells again").
        "etc/ipython": ["jupyter-config/ipython/ipython_kernel_config.json"]}


@pytest.mark.slow
def test_pip_install_enables_the_extension(tmp_path: Path) -> None:
    """`pip install` of the package, in a throwaway environment: Jupyter lists it as enabled."""
    src = tmp_path / "src"
    for name in ("labkit", "jupyter-config"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    venv = tmp_path / "venv"
    # No pip in it (Debian's python3 may lack ensurepip); this environment's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    # This environment's packages (Jupyter, ...) for it: `--system-site-packages` would give the
    # *base* interpreter's when the tests run inside a venv. Plain paths, so their .pth files (an
    # editable labkit's among them) do not load: labkit comes from the copy installed below.
    outer = [p for p in dict.fromkeys(site.getsitepackages() + [site.getusersitepackages()])
             if p in sys.path and Path(p).is_dir()]
    inner = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    (Path(inner) / "outer_environment.pth").write_text("\n".join(outer) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_CONFIG_PATH", "PYTHONPATH", "JUPYTER_CONFIG_DIR")}
    env["HOME"] = str(tmp_path)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python",
                                str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                                str(src)],
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert (venv / "etc/jupyter/jupyter_server_config.d/labkit.json").exists()
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "jupyter_server", "extension",
                             "list"], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert re.search(r"labkit\.serverext enabled", text), text
    assert re.search(r"labkit\.serverext\s+OK", text), text
    # Its kernels load labkit.notebook (plain-words errors; "run the Setup cells again").
    assert (venv / "etc/ipython/ipython_kernel_config.json").exists()
    probe = ("from jupyter_client.manager import start_new_kernel\n"
             "km, kc = start_new_kernel(kernel_name='python3')\n"
             "reply = kc.execute_interactive('x = sorted(get_ipython().extension_manager.loaded)',"
             " user_expressions={'x': 'x'}, timeout=60)\n"
             "print(reply['content']['user_expressions']['x']['data']['text/plain'])\n"
             "km.shutdown_kernel(now=True)\n")
    kernel = subprocess.run([str(venv / "bin" / "python"), "-c", probe], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert "'labkit.notebook'" in kernel.stdout, kernel.stdout + kernel.stderr[-2000:]


@pytest.mark.slow
def test_a_new_terminal_answers_as_the_sandbox_admin_and_the_sandbox_stops_with_the_server(
        server: Server) -> None:
    data = wait_ready(server)
    assert data["owner"]["pid"] == server.proc.pid  # the server owns it
    box = data["pid"]
    assert pid_running(box)

    out = server.terminal("aws sts get-caller-identity --query Arn --output text; "
                          "command -v python aws; echo END-$((6*7))", until="END-42")

    assert CONSOLE_ARN.search(out), out
    # /etc/profile resets PATH in a login shell; the environment's python and aws are still first.
    assert f"{BIN}/python" in out and f"{BIN}/aws" in out, out
    assert not (server.home / ".aws").exists()  # the sandbox's own CLI files, never ~/.aws

    assert stop_server(server, signal.SIGTERM) is not None
    assert wait_for(lambda: not pid_running(box), 15), "the sandbox outlived its server"
    assert sandbox_state(server.labkit_home)["status"] == "stopped"
    # Stopped by the server as it stopped, not later by the sandbox's own watch.
    assert "sandbox stopped with the server" in server.log_text()
    assert "is gone" not in (server.labkit_home / state.LOG).read_text()


@pytest.mark.slow
def test_aws_configure_in_a_new_terminal_writes_the_sandbox_files(server: Server) -> None:
    wait_ready(server)
    out = server.terminal("aws configure set region eu-west-1 --profile lab; "
                          "echo END-$((6*7))", until="END-42")
    assert "END-42" in out, out
    assert "[profile lab]" in (server.labkit_home / "aws" / "config").read_text()
    assert not (server.home / ".aws").exists()


@pytest.mark.slow
def test_a_kernel_finds_the_sandbox_already_running(server: Server) -> None:
    from jupyter_client import BlockingKernelClient

    data = wait_ready(server)
    kernel = server.api("POST", "/api/kernels", {"name": "python3"})
    client = BlockingKernelClient(
        connection_file=str(server.runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels(hb=False)  # the server watches the heartbeat; we wait for replies
    try:
        client.wait_for_ready(timeout=60)
        printed: list[str] = []
        reply = client.execute_interactive(
            "import labkit.session as s\nlab = s.connect()\n"
            "print(lab.sandbox.pid, lab.sandbox.started_in, lab.whoami().name)",
            timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", "")))
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    # Attached to the server's sandbox (no start of its own), and it answers.
    assert "".join(printed).split() == [str(data["pid"]), "None", "console-admin"]


@pytest.mark.slow
def test_a_sandbox_exits_by_itself_when_its_server_is_killed(server: Server) -> None:
    box = wait_ready(server)["pid"]
    stop_server(server, signal.SIGKILL)  # no chance to stop the sandbox
    assert wait_for(lambda: not pid_running(box), ORPHAN_LIMIT, step=0.5), \
        "the sandbox outlived its killed server"
    assert "owned this sandbox is gone" in (server.labkit_home / state.LOG).read_text()


@pytest.mark.slow
def test_real_aws_mode_starts_no_sandbox_and_leaves_terminals_alone(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "learner", LABKIT_BACKEND="aws")
    try:
        out = srv.terminal("echo endpoint=${AWS_ENDPOINT_URL-unset} "
                           "owner=${LABKIT_SERVER_PROCESS-unset} END-$((6*7))", until="END-42")
    finally:
        stop_server(srv)
    assert "endpoint=unset owner=unset END-42" in out, out
    assert not srv.labkit_home.exists()


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for a Jupyter server."""
    proc = subprocess.Popen(["sleep", "300"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_server_that_finds_a_running_sandbox_adopts_it(
        tmp_path: Path, parent: subprocess.Popen[bytes]) -> None:
    home = tmp_path / ".labkit"
    try:
        box = sandbox.ensure(home)  # a kernel with no server extension: no owner
        assert "owner" not in sandbox_state(home)
        who = {"pid": parent.pid, "start": procs.start_time(parent.pid)}

        again = sandbox.ensure(home, owner=who)

        assert again.pid == box.pid and sandbox_state(home)["owner"] == who
        parent.kill()
        parent.wait()
        assert wait_for(lambda: not pid_running(box.pid), ORPHAN_LIMIT, step=0.5)
    finally:
        sandbox.stop(home)


@pytest.mark.slow
def test_release_stops_only_the_owners_sandbox(tmp_path: Path,
                                               parent: subprocess.Popen[bytes]) -> None:
    home = tmp_path / ".labkit"
    try:
        box = sandbox.ensure(home)
        me = owners.this_process()
        assert sandbox.release(home, me) is False  # nobody owns it: leave it running
        assert pid_running(box.pid)
        sandbox.ensure(home, owner=me)
        assert sandbox.release(home, {"pid": parent.pid, "start": 1}) is False
        assert sandbox.release(home, me) is True
        assert not pid_running(box.pid)
    finally:
        sandbox.stop(home)


def test_owner_identity_survives_pid_reuse() -> None:
    me = owners.this_process()
    assert owners.alive(me)
    assert not owners.alive({"pid": me["pid"], "start": me["start"] + 1})  # a reused PID
    assert owners.parse(owners.format_owner(me)) == me
    assert owners.parse("not-a-pid") is None and owners.parse(None) is None
    assert os.getpid() == me["pid"]
