"""labkit's Jupyter server extension, in a real `jupyter server` enabled by the shipped config file."""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import signal
import site
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labkit import sandbox
from labkit.sandbox import owner as owners
from labkit.sandbox import state
from tests.jupyter_server_run import (
    BIN, CLEARED, JUPYTER_CONFIG, REPO, Server, pid_running, start_server, stop_server, wait_for)

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


def test_the_shipped_config_file_enables_the_extension() -> None:
    config = json.loads((JUPYTER_CONFIG / "jupyter_server_config.d" / "labkit.json").read_text())
    # jupyter_server takes only jpserver_extensions from this folder: culling is the extension's.
    assert config == {"ServerApp": {"jpserver_extensions": {"labkit.serverext": True}}}
    lab = json.loads((JUPYTER_CONFIG / "jupyter_lab_config.json").read_text())
    assert lab == {"LabApp": {"expose_app_in_browser": True}}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["data-files"] == {
        "etc/jupyter/jupyter_server_config.d": [
            "jupyter-config/jupyter_server_config.d/labkit.json"],
        # JupyterLab gives page scripts its commands: lesson 04's terminal button opens one.
        "etc/jupyter": ["jupyter-config/jupyter_lab_config.json"],
        # Kernels load labkit.notebook (plain-words errors, "run the Setup cells again").
        "etc/ipython": ["jupyter-config/ipython/ipython_kernel_config.json"]}


@dataclass
class Installed:
    """labkit installed by `pip install` (not editable) in a throwaway environment."""

    venv: Path
    env: dict[str, str]

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp_path = tmp_path_factory.mktemp("pip")
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
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and k != "PYTHONPATH"}
    env["HOME"] = str(tmp_path)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python",
                                str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                                str(src)],
                               env=env, capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr[-2000:]
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import labkit; print(labkit.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    return Installed(venv, env)


@pytest.mark.slow
def test_pip_install_enables_the_extension(installed: Installed) -> None:
    """`pip install` of the package, in a throwaway environment: Jupyter lists it as enabled."""
    venv, env = installed.venv, installed.env
    assert (venv / "etc/jupyter/jupyter_server_config.d/labkit.json").exists()
    assert (venv / "etc/jupyter/jupyter_lab_config.json").exists()
    listed = subprocess.run([installed.python, "-m", "jupyter_server", "extension",
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
    kernel = subprocess.run([installed.python, "-c", probe], env=env,
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
        who = {"pid": parent.pid, "start": owners.start_time(parent.pid)}

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


def _installed_server(installed: Installed, home: Path, *args: str) -> Server:
    """`jupyter server` of the pip-installed environment, with nothing but its own config."""
    home.mkdir(parents=True)
    token = secrets.token_hex(16)
    env = dict(installed.env, HOME=str(home), LABKIT_HOME=str(home / ".labkit"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PATH="/usr/bin:/bin")
    log = home / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [installed.python, "-m", "jupyter_server", "--no-browser", "--port=0",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={home}", *(["--allow-root"] if os.getuid() == 0 else []),
             *args], env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=fh,
            stderr=subprocess.STDOUT)
    server = Server(proc, home, home / ".labkit", home / "runtime", token, log=log)
    info = server.runtime / f"jpserver-{proc.pid}.json"

    def answers() -> bool:
        try:
            server.port = json.loads(info.read_text())["port"]
            return server.api("GET", "/api/status") is not None
        except (ValueError, KeyError, OSError):
            return False

    if not wait_for(answers, 60, step=0.2):
        stop_server(server)
        raise AssertionError(server.log_text()[-3000:])
    return server


@pytest.mark.slow
def test_an_installed_server_culls_idle_kernels_by_itself(installed: Installed,
                                                          tmp_path: Path) -> None:
    """Culling from a plain `pip install`: no command-line option, no config of the test's; and
    a kernel of a server started with a bare PATH still finds this environment's `python`."""
    from jupyter_client import BlockingKernelClient

    server = _installed_server(installed, tmp_path / "learner")
    try:
        # jupyter_server starts its culler with the first kernel, and says how it is set.
        kernel = server.api("POST", "/api/kernels", {"name": "python3"})
        assert wait_for(lambda: "Culling kernels" in server.log_text(), 60), server.log_text()
        # 15 idle minutes, kernels of open tabs too.
        assert re.search(r"idle durations > 900 seconds at 60 second intervals",
                         server.log_text()), server.log_text()[-3000:]
        assert "Culling kernels even with connected clients" in server.log_text()
        # The kernel's PATH starts with the environment's bin (python, and aws where pip put it).
        client = BlockingKernelClient(connection_file=str(
            server.runtime / f"kernel-{kernel['id']}.json"))
        assert wait_for(lambda: Path(client.connection_file).exists(), 30)
        client.load_connection_file()
        client.start_channels(hb=False)
        try:
            client.wait_for_ready(timeout=120)
            reply = client.execute_interactive(
                "import shutil, os; w = shutil.which('python'), os.environ['PATH']",
                user_expressions={"w": "w"}, timeout=60)
        finally:
            client.stop_channels()
        python, path = ast.literal_eval(
            reply["content"]["user_expressions"]["w"]["data"]["text/plain"])
        assert python == f"{installed.venv}/bin/python"
        assert path == f"{installed.venv}/bin:/usr/bin:/bin"  # the server was given /usr/bin:/bin
    finally:
        stop_server(server)
        sandbox.stop(server.labkit_home)


@pytest.mark.slow
def test_an_idle_kernel_is_culled(installed: Installed, tmp_path: Path) -> None:
    """The shipped culler at work (its timeout shortened through the extension's own setting)."""
    server = _installed_server(installed, tmp_path / "learner",
                               "--LabkitExtension.cull_idle_timeout=2",
                               "--LabkitExtension.cull_interval=1")
    try:
        kernel = server.api("POST", "/api/kernels", {"name": "python3"})
        assert wait_for(lambda: server.api("GET", "/api/kernels") == [], 60), \
            server.log_text()[-3000:]
        assert re.search(rf"Culling '\w+' kernel 'python3' \({kernel['id']}\) with \d+ "
                         r"connections due to \d+ seconds of inactivity", server.log_text())
    finally:
        stop_server(server)
        sandbox.stop(server.labkit_home)
