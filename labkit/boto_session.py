"""boto3 sessions for the lab (one shared botocore data loader), and the sandbox's timeouts."""

from __future__ import annotations

import os
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
            _loader = listed_loader(core.get_component("data_loader").search_paths)
        core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core, region_name=REGION, **credentials)


# The file in LABKIT_HOME where a kernel finds which services botocore has (see listed_loader).
SERVICE_LISTING = "botocore-services.json"


def listed_loader(search_paths: list[str]) -> Any:
    """botocore's data loader, reading plain dicts, that keeps its list of services in
    LABKIT_HOME: botocore lists them by walking its folders (about 5,000 system calls per kind of
    file) in every new process, which took 0.1-0.3 s of each lesson's first cell, more while
    another thread imports pandas. The list is walked again when botocore or a folder changes."""
    import botocore
    from botocore.loaders import Loader

    from labkit.files import read_json, write_private
    from labkit.settings import settings

    class ListedLoader(Loader):  # type: ignore[misc]
        def list_available_services(self, type_name: str) -> list[str]:
            paths = list(dict.fromkeys(self.search_paths))
            key = [botocore.__version__, [[p, _mtime(p)] for p in paths]]
            cache = settings().home / SERVICE_LISTING
            with _lock:
                known = read_json(cache) or {}
                if known.get("key") != key:
                    known = {"key": key}
                if isinstance(known.get(type_name), list):
                    return list(known[type_name])
                found = super().list_available_services(type_name)
                known[type_name] = found
                try:
                    write_private(cache, known)
                except OSError:
                    pass  # no LABKIT_HOME to keep it in: walked again next time, nothing lost
                return list(found)

    return ListedLoader(extra_search_paths=list(search_paths), file_loader=plain_json_loader(),
                        include_default_search_paths=False)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
