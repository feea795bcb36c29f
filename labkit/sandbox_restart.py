"""Finding or starting the lab's sandbox, and restarting it when a call finds it gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from labkit import boto_session
from labkit.sandbox.state import STATE, read_json
from labkit.settings import LabError, Settings

# Seconds after a restart during which a still-refused connection is not restarted again.
RESTART_PAUSE = 10.0
_lock = threading.RLock()


class SandboxNotAnswering(LabError):
    """The sandbox process is alive but did not answer in time (paused, or swamped)."""


def own_sandbox(cfg: Settings) -> bool:
    """True when LABKIT_SANDBOX_URL names the sandbox this LABKIT_HOME started (binder/start):
    then the lab may restart it like its own."""
    return (read_json(cfg.home / STATE) or {}).get("url") == (cfg.sandbox_url or "").rstrip("/")


def ensure_sandbox(cfg: Settings) -> Any:
    """The sandbox `cfg` asks for: someone else's (attached), or this home's (found or started)."""
    from labkit import sandbox
    from labkit.sandbox.owner import parse

    with _lock:
        try:
            if cfg.sandbox_url and not own_sandbox(cfg):
                return sandbox.attach(cfg.sandbox_url, cfg.home)
            return sandbox.ensure(cfg.home, owner=parse(cfg.server_process))
        except (sandbox.HomeError, sandbox.SandboxError) as exc:
            raise LabError(str(exc)) from None


class Restarter:
    """botocore's `needs-retry` hook: on a refused connection, restart the sandbox and retry once
    (a fresh account); on a timeout (a paused or swamped sandbox, alive), give up with a plain
    message."""

    def __init__(self, cfg: Settings, endpoint_url: str | None,
                 adopt: Callable[[Any], None]) -> None:
        self.settings = cfg
        self.endpoint_url = endpoint_url
        self.adopt = adopt  # called with the fresh sandbox at the same address
        self.restarted_at = -1e9

    def __call__(self, caught_exception: Exception | None = None, **_: Any) -> int | None:
        """0 (retry at once) after a restart at the same address; None to let botocore go on."""
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        if isinstance(caught_exception, (ReadTimeoutError, ConnectTimeoutError)):
            raise SandboxNotAnswering(
                f"The sandbox at {self.endpoint_url} did not answer within "
                f"{boto_session.SANDBOX_READ_TIMEOUT:.0f} s. It may be paused or very busy; "
                "nothing in it was lost. Wait a moment and run the cell again; if it stays like "
                "this, run `python -m labkit sandbox stop`, then any lab call starts a fresh, "
                "empty one."
            ) from None
        if not isinstance(caught_exception, (EndpointConnectionError, ConnectionClosedError)):
            return None
        if self.settings.sandbox_url and not own_sandbox(self.settings):
            return None  # someone else's sandbox: not ours to restart
        if time.monotonic() - self.restarted_at < RESTART_PAUSE:
            return None  # just restarted and still unreachable: restarting again will not help
        self.restarted_at = time.monotonic()
        with _lock:
            try:
                fresh = ensure_sandbox(self.settings)
            except LabError as exc:
                print(exc)
                return None
            if fresh.message:
                print(fresh.message)
            if fresh.url != self.endpoint_url:
                print("The sandbox moved to a new address; run your lesson's Setup cell again.")
                return None
            self.adopt(fresh)
        return 0
