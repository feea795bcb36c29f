"""The sandbox's files in LABKIT_HOME: state, console identity, lock; private to the learner."""

from __future__ import annotations

import fcntl
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Re-exported: the sandbox's callers (and its tests) reach the private-file helpers here too.
from labkit.files import (  # noqa: F401
    HomeError,
    read_json,
    write_private,
    write_private_text,
)

# The sandbox's account: moto's default, as every ARN in it says.
ACCOUNT = "123456789012"
STATE = "sandbox.json"
CONSOLE = "console.json"
LOCK = "sandbox.lock"
LOG = "sandbox.log"


def prepare_home(home: Path) -> Path:
    """Create LABKIT_HOME as a private folder (0700) and check it is writable."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(_not_writable(home, exc)) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise HomeError(_not_writable(home, None))
    check_private(home)
    return home


def check_private(home: Path) -> None:
    """Refuse a LABKIT_HOME someone else owns or can write to: files planted there (a console
    identity, a state file naming their server) would be trusted."""
    try:
        info = home.stat()
    except OSError as exc:
        raise HomeError(_not_writable(home, exc)) from None
    if info.st_uid != os.getuid():
        try:
            import pwd

            owner = pwd.getpwuid(info.st_uid).pw_name
        except (KeyError, ImportError):
            owner = f"user ID {info.st_uid}"
        raise HomeError(
            f"The lab will not use {home}: it belongs to {owner}, not to you, so its files "
            "could have been put there by someone else. Point LABKIT_HOME at a new folder of "
            "your own, for example: export LABKIT_HOME=$HOME/.labkit"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise HomeError(
            f"The lab will not use {home}: its permissions ({mode:04o}) let other users "
            "read or change its files (your sandbox's keys). Check that every file in it is "
            f"yours, then run: chmod 700 {home}  (or point LABKIT_HOME at a new folder)."
        )


def _not_writable(home: Path, exc: OSError | None) -> str:
    why = f" ({exc.strerror})" if exc and exc.strerror else ""
    return (
        f"The lab cannot write its files to {home}{why}. "
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit"
    )


_URL_RE = re.compile(r"^https://127\.0\.0\.1:\d{1,5}$")
# The sandbox's TLS certificate, which clients pin (labkit.sandbox.tls makes it).
CERT = "sandbox-cert.pem"


def _in_home(path: str, home: Path) -> bool:
    """True for HOME's certificate file, however HOME was spelt when it was written."""
    try:
        return Path(path).name == CERT and Path(path).parent.resolve() == home.resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def read_state(home: Path) -> dict[str, Any] | None:
    """sandbox.json with every field checked; a damaged field is dropped (the lab then starts a
    fresh sandbox instead of failing), so no later code meets a wrong type."""
    data = read_json(home / STATE)
    if data is None:
        return None
    clean: dict[str, Any] = {}
    for name in ("status", "instance", "token"):
        if isinstance(data.get(name), str):
            clean[name] = data[name]
    for name, top in (("pid", None), ("port", 65535), ("port_hint", 65535)):
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= (top or value):
            clean[name] = value
    if isinstance(data.get("url"), str) and _URL_RE.match(data["url"]):
        clean["url"] = data["url"]
    if isinstance(data.get("ca"), str) and _in_home(data["ca"], home):
        clean["ca"] = data["ca"]  # only the certificate in the learner's own folder
    if isinstance(data.get("started"), (int, float)) and not isinstance(data["started"], bool):
        clean["started"] = float(data["started"])
    if clean.get("status") == "ready" and not all(
            k in clean for k in ("pid", "url", "token", "instance", "ca")):
        clean["status"] = "damaged"
    return clean


def read_console(home: Path) -> dict[str, str] | None:
    """console.json if it holds a well-formed key pair, else None (a new one is then made)."""
    data = read_json(home / CONSOLE)
    names = ("user_name", "access_key_id", "secret_access_key")
    if not data or not all(isinstance(data.get(n), str) and data[n] for n in names):
        return None
    if not re.fullmatch(r"AKIA[A-Z0-9]{16}", data["access_key_id"]) or \
            len(data["secret_access_key"]) != 40:
        return None
    return {n: data[n] for n in names}


@contextmanager
def locked(home: Path) -> Iterator[None]:
    """Hold the learner's sandbox lock, so two kernels starting at once get one sandbox."""
    fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
