"""boto3 sessions for the lab (one shared botocore data loader), and the sandbox's timeouts."""

from __future__ import annotations

import threading
from typing import Any

from labkit.plain_json import plain_json_loader

REGION = "us-east-1"
# Seconds a sandbox call may take before labkit gives up (a healthy sandbox answers in ms).
SANDBOX_CONNECT_TIMEOUT = 3.0
SANDBOX_READ_TIMEOUT = 15.0

_lock = threading.Lock()
_loader: Any = None


def sandbox_client_config() -> Any:
    """Client settings for the sandbox: short timeouts, so a paused sandbox fails in seconds."""
    from botocore.config import Config

    return Config(connect_timeout=SANDBOX_CONNECT_TIMEOUT, read_timeout=SANDBOX_READ_TIMEOUT,
                  retries={"total_max_attempts": 3, "mode": "legacy"})


def new_session(*, profile_name: str | None = None, config: dict[str, str] | None = None,
                **credentials: Any) -> Any:
    """A boto3 session; all of them share one botocore data loader, so a new session's first
    client takes milliseconds instead of a tenth of a second (the service models load once)."""
    global _loader
    import boto3
    import botocore.session

    core = botocore.session.Session(profile=profile_name)
    for name, value in (config or {}).items():
        core.set_config_variable(name, value)
    with _lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
            _loader.file_loader = plain_json_loader()
        else:
            core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core, region_name=REGION, **credentials)
