"""The learner's sandbox AWS account: find it, start it, check it, reset it, stop it.

One sandbox per LABKIT_HOME, shared by every kernel and terminal of the learner. Its state file
(0600) says where it listens and holds the token of its admin API.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from labkit.files import HomeError
from labkit.sandbox import external, state
from labkit.sandbox import owner as owners
from labkit.sandbox.fidelity import FIXES
from labkit.sandbox.handle import (
    CONSOLE_USER,
    TOKEN_HEADER,
    Sandbox,
    SandboxError,
    console_key,
    request,
)

__all__ = ["CONSOLE_USER", "TOKEN_HEADER", "HomeError", "Sandbox", "SandboxError", "attach",
           "console_key", "ensure", "release", "request", "reset", "status", "stop"]

START_TIMEOUT = 30.0
RESTARTED = (
    "Your sandbox had stopped, so the lab started a new one. What you made in it before is "
    "gone; each lesson's first cell rebuilds what that lesson needs."
)

_children: dict[int, subprocess.Popen[bytes]] = {}


def _new_console() -> dict[str, str]:
    upper = string.ascii_uppercase + string.digits
    b64 = string.ascii_letters + string.digits + "+/"
    return {
        "user_name": CONSOLE_USER,
        "access_key_id": "AKIA" + "".join(secrets.choice(upper) for _ in range(16)),
        "secret_access_key": "".join(secrets.choice(b64) for _ in range(40)),
    }


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False  # our own child that exited (reaped now, not a zombie)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return owners.running(pid)


def _is_sandbox_process(pid: int, home: Path) -> bool:
    """True only for this learner's sandbox of this LABKIT_HOME: a PID in a state file may have
    been reused by someone else's program, and must never be signalled then."""
    if pid in _children:
        return True
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.uids().real != os.getuid():
            return False
        cmd = proc.cmdline()
    except psutil.Error:
        return False
    return "labkit" in cmd and "serve" in cmd and cmd[-2:] == ["--home", str(home)]


def _healthy(data: dict[str, Any], timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        status, payload = request(data["url"], "GET", "/labkit-api/health", token=data["token"],
                                   timeout=timeout, ca=data.get("ca"))
        info = json.loads(payload) if status == 200 else None
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException):
        return None
    if not isinstance(info, dict) or info.get("instance") != data.get("instance"):
        return None  # another program (or another sandbox) holds the port now
    return info


# How long a running sandbox may take to answer before labkit says it is not answering.
BUSY_WAIT = 8.0
NOT_ANSWERING = (
    "Your sandbox is running (process {pid}) but did not answer within {wait:.0f} s: it may be "
    "paused or very busy. Nothing was lost. Wait a moment and run the cell again; if it stays "
    "like this, `python -m labkit sandbox stop` and then any lab call start a fresh, empty "
    "sandbox."
)


def attach_running(home: Path, wait: float = 0.0) -> Sandbox | None:
    """The sandbox recorded in HOME if it answers. If its process is alive but does not answer
    within `wait` seconds, SandboxError: a busy or paused sandbox is not a dead one."""
    data = state.read_state(home)
    console = state.read_console(home)
    if not data or not console or data.get("status") != "ready" or not _alive(data.get("pid")):
        return None
    info = _healthy(data)
    if info is None and wait and _is_sandbox_process(data["pid"], home):
        info = _healthy(data, timeout=wait)
        if info is None and _alive(data["pid"]):
            raise SandboxError(NOT_ANSWERING.format(pid=data["pid"], wait=BUSY_WAIT))
    if info is None:
        return None
    return Sandbox(url=data["url"], console=console_key(console), instance=data["instance"],
                   home=home, token=data["token"], pid=data["pid"],
                   fixes=tuple(info.get("fixes", ())), ca=data.get("ca"))


def ensure(home: Path, owner: owners.Owner | None = None) -> Sandbox:
    """The learner's running sandbox, started (or restarted, with a message) when needed.

    With an `owner` (the Jupyter server, see labkit.serverext), the sandbox exits by itself once
    that process is gone."""
    state.prepare_home(home)
    found = attach_running(home, wait=BUSY_WAIT)
    if not found:
        with state.locked(home):
            # another kernel may have started it while we waited
            found = attach_running(home, wait=BUSY_WAIT)
            if not found:
                previous = state.read_state(home) or {}
                _stop_process(previous.get("pid"), home)
                sandbox = _start(home, int(previous.get("port") or 0), owner)
                if previous.get("status") == "ready":
                    sandbox = replace(sandbox, message=RESTARTED)
                return sandbox
    _adopt(home, found, owner)
    return found


def _start(home: Path, port_hint: int, owner: owners.Owner | None = None) -> Sandbox:
    began = time.perf_counter()
    console = state.read_console(home)
    if not console:
        console = _new_console()
        state.write_private(home / state.CONSOLE, console)
    launch = {"status": "starting", "instance": secrets.token_hex(8),
              "token": secrets.token_urlsafe(24), "port_hint": port_hint}
    if owner:
        launch["owner"] = owner  # the sandbox watches it (labkit.sandbox.server._watch_owner)
    state.write_private(home / state.STATE, launch)
    log_path = home / state.LOG
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit", "sandbox", "serve", "--home", str(home)],
            stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, cwd=home, start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(fd)
    _children[proc.pid] = proc
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        data = state.read_json(home / state.STATE) or {}
        if data.get("instance") == launch["instance"] and data.get("status") == "ready":
            if _healthy(data) is None:
                _stop_process(proc.pid, home)
                raise SandboxError(
                    f"The sandbox started but cannot be reached at {data['url']}: is the "
                    "loopback network (127.0.0.1) switched off here? Tell your instructor.")
            return Sandbox(url=data["url"], console=console_key(console),
                           instance=data["instance"], home=home, token=data["token"],
                           pid=data["pid"], fixes=FIXES, ca=data.get("ca"),
                           started_in=time.perf_counter() - began)
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    _stop_process(proc.pid, home)
    raise SandboxError(
        "The sandbox did not start. The end of its log (" + str(log_path) + ") says:\n"
        + _tail(log_path)
    )


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(pid: int | None, home: Path, timeout: float = 5.0) -> bool:
    """Stop HOME's sandbox process; any other process (another user's, a reused PID) is left."""
    if not pid or not _alive(pid) or not _is_sandbox_process(pid, home):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a paused (SIGSTOP) sandbox must wake up to exit
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it exited meanwhile
    return True


def stop(home: Path) -> bool:
    """Stop the learner's sandbox; True when one was running."""
    if not home.is_dir():
        return False
    with state.locked(home):
        data = state.read_state(home) or {}
        stopped = _stop_process(data.get("pid"), home)
        if data:
            state.write_private(home / state.STATE, dict(data, status="stopped"))
        return stopped


def _adopt(home: Path, found: Sandbox, owner: owners.Owner | None) -> None:
    """Make `owner` the running sandbox's owner (a server that found it already running)."""
    if not owner:
        return  # a plain kernel or script leaves the sandbox's owner as it is
    if (state.read_json(home / state.STATE) or {}).get("owner") == owner:
        return  # already its owner (every kernel of the server asks): no need to lock
    with state.locked(home):
        data = state.read_json(home / state.STATE) or {}
        if data.get("instance") == found.instance and data.get("owner") != owner:
            # The running sandbox rereads its state file, so it watches the new owner from now on.
            state.write_private(home / state.STATE, dict(data, owner=owner))


def release(home: Path, owner: owners.Owner) -> bool:
    """Stop the learner's sandbox if `owner` owns it (a server that stops); True when stopped."""
    if not home.is_dir():
        return False
    data = state.read_json(home / state.STATE) or {}
    if owners.valid(data.get("owner")) != owner:
        return False  # another server has taken it over, or nobody owns it: leave it running
    return stop(home)


def status(home: Path) -> dict[str, Any] | None:
    """What is known of the learner's sandbox: url, pid, uptime; None when none is running."""
    found = attach_running(home) if home.is_dir() else None
    if not found:
        return None
    data = state.read_state(home) or {}
    return {"url": found.url, "pid": found.pid, "instance": found.instance,
            "uptime_s": round(time.time() - float(data.get("started", time.time())), 1),
            "console_user": found.console.user_name, "log": str(home / state.LOG)}


def reset(sandbox: Sandbox) -> None:
    """Empty the sandbox (a fresh account); the console identity is made again."""
    if sandbox.has_fidelity_fixes:
        sandbox.admin("POST", "reset")
    else:
        from labkit.sandbox.managed_policies import forget

        status_, _ = request(sandbox.url, "POST", "/moto-api/reset", b"", sandbox.token)
        if status_ != 200:
            raise SandboxError(f"The moto server at {sandbox.url} refused to reset ({status_}).")
        forget(sandbox.url)  # the managed-policy copies went with everything else
        external.bootstrap(sandbox.url, sandbox.home, force=True)


def attach(url: str, home: Path) -> Sandbox:
    """A sandbox someone else started (binder/start, an instructor, a test): labkit or stock moto."""
    return external.attach(url, home)
