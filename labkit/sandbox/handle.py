"""A sandbox as its clients see it: where it listens, its console identity, its admin API.

Shared by labkit.sandbox (the learner's own sandbox) and labkit.sandbox.external (one someone
else started), so neither imports the other's internals.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labkit.keys import AccessKey, mask_secret

CONSOLE_USER = "console-admin"
TOKEN_HEADER = "X-Labkit-Token"


class SandboxError(RuntimeError):
    """The sandbox cannot be reached or started; the message says what to do."""


@dataclass(frozen=True, repr=False)
class Sandbox:
    """A running sandbox: where it listens, who the console identity is, what it can do."""

    url: str
    console: AccessKey
    instance: str
    home: Path
    token: str | None = None
    pid: int | None = None
    fixes: tuple[str, ...] = ()
    external: bool = False
    message: str | None = None
    started_in: float | None = field(default=None, compare=False)
    ca: str | None = None  # the sandbox's TLS certificate, which its clients pin

    @property
    def has_fidelity_fixes(self) -> bool:
        """True when the server runs labkit's fidelity layer (False on a stock moto server)."""
        return bool(self.fixes)

    def admin(self, method: str, path: str, data: Any = None) -> Any:
        """Call the sandbox's guarded admin API (`/labkit-api/...`) with JSON `data`."""
        body = None if data is None else json.dumps(data)
        status, payload = request(self.url, method, "/labkit-api/" + path, body, self.token,
                                  ca=self.ca)
        if status != 200:
            raise SandboxError(f"The sandbox refused {path} ({status}): {payload[:200]!r}")
        return json.loads(payload) if payload else None

    def __repr__(self) -> str:
        kind = "stock moto" if self.external and not self.has_fidelity_fixes else "labkit sandbox"
        token = f", token={mask_secret(self.token)!r}" if self.token else ""
        return f"Sandbox({kind} at {self.url}, console={self.console!r}{token})"


def request(url: str, method: str, path: str, body: Any = None, token: str | None = None,
             timeout: float = 2.0, headers: dict[str, str] | None = None,
             ca: str | None = None) -> tuple[int, bytes]:
    """One HTTP(S) request to a sandbox (or a moto server): its status and body. Over https
    only the certificate `ca` is trusted. The connection is kept for the next request (the
    sandbox keeps it open too: one TLS handshake, not one per admin call); a failure to
    connect or to read is an OSError, as http.client raises them."""
    import urllib3

    hdrs = dict(headers or {})
    if token:
        hdrs[TOKEN_HEADER] = token
    try:
        resp = _pool(url, ca).request(method, path, body=body, headers=hdrs, retries=False,
                                      timeout=urllib3.Timeout(connect=timeout, read=timeout))
    except urllib3.exceptions.HTTPError as exc:  # refused, reset, timed out, TLS refused
        raise OSError(f"{url}: {exc}") from exc
    return resp.status, resp.data


_pools: dict[tuple[str, str | None], Any] = {}
_pools_lock = threading.Lock()


def _pool(url: str, ca: str | None) -> Any:
    """The kept connections to `url` (a few; a dropped one is replaced before it is used)."""
    import urllib3

    with _pools_lock:
        pool = _pools.get((url, ca))
        if pool is None:
            parts = urlsplit(url)
            host = parts.hostname or "127.0.0.1"
            if parts.scheme == "https":
                from labkit.sandbox.tls import client_context

                pool = urllib3.HTTPSConnectionPool(host, parts.port or 443, maxsize=4,
                                                   ssl_context=client_context(ca))
            else:
                pool = urllib3.HTTPConnectionPool(host, parts.port or 80, maxsize=4)
            _pools[(url, ca)] = pool
        return pool


def console_key(data: dict[str, str]) -> AccessKey:
    """The console identity's key from its saved form (console.json, external.json)."""
    return AccessKey(data["access_key_id"], data["secret_access_key"], data["user_name"])
