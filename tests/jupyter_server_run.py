"""A real `jupyter server` with labkit's extension (enabled by the shipped config file), for tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
JUPYTER_CONFIG = REPO / "jupyter-config"  # what `pip install` puts in etc/jupyter
BIN = Path(sys.executable).parent
# Variables of the test runner that would point labkit or the AWS CLI elsewhere.
CLEARED = ("LABKIT_SANDBOX_URL", "LABKIT_BACKEND", "LABKIT_SERVER_PROCESS", "AWS_ENDPOINT_URL",
           "AWS_CA_BUNDLE",
           "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
           "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
           "JUPYTER_CONFIG_PATH", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR")


@dataclass
class Server:
    """A running `jupyter server` started by `start_server`."""

    proc: subprocess.Popen[bytes]
    home: Path
    labkit_home: Path
    runtime: Path
    token: str
    port: int = 0
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, data: Any = None) -> Any:
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(self.url + path, method=method, data=body,
                                     headers={"Authorization": f"token {self.token}"})
        if method == "POST" and body is None:
            req.data = b""
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def terminal(self, command: str, until: str, timeout: float = 60) -> str:
        """Open a new terminal (REST + websocket, as JupyterLab does), type `command`, and return
        what it printed until `until` appeared."""
        import websocket

        name = self.api("POST", "/api/terminals")["name"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/terminals/websocket/{name}",
            header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            ws.send(json.dumps(["stdin", command + "\r"]))
            out, deadline = "", time.monotonic() + timeout
            while until not in out.split(command, 1)[-1] and time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg[0] == "stdout":
                    out += msg[1]
            return out
        finally:
            ws.close()
            self.api("DELETE", f"/api/terminals/{name}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """A learner's environment: their own HOME and LABKIT_HOME, labkit's Jupyter config."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(HOME=str(home), LABKIT_HOME=str(home / ".labkit"),
               JUPYTER_CONFIG_PATH=str(JUPYTER_CONFIG), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.update(extra)
    return env


def start_server(home: Path, **extra: str) -> Server:
    """`jupyter server` on a free port, as the learner whose HOME is `home`."""
    home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    log = home / "jupyter-server.log"
    env = server_env(home, **extra)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", "--no-browser", "--port=0",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={home}", *(["--allow-root"] if os.getuid() == 0 else [])],
            env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)
    server = Server(proc, home, home / ".labkit", home / "runtime", token, log=log)
    info = server.runtime / f"jpserver-{proc.pid}.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if info.exists():
            try:
                server.port = json.loads(info.read_text())["port"]
                server.api("GET", "/api/status")
                return server
            except (ValueError, KeyError, OSError):
                pass
        time.sleep(0.1)
    stop_server(server)
    raise AssertionError("jupyter server did not start:\n" + server.log_text()[-3000:])


def stop_server(server: Server, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
    """Stop the server with `sig` (SIGTERM: a clean stop; SIGKILL: a crash)."""
    if server.proc.poll() is None:
        server.proc.send_signal(sig)
        try:
            server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)
    return server.proc.returncode


def wait_for(predicate: Any, timeout: float, step: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def pid_running(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
