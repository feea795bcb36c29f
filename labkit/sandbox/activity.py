"""The sandbox's activity trail: who did what, when, kept in memory for the trail lesson."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from labkit.sandbox import state
from labkit.sandbox.clock import CLOCK

_AUTH_RE = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([^/]+)/([^/]+)/")
_CODE_RE = re.compile(rb"<Code>([^<]+)</Code>")
_JSON_CODE_RE = re.compile(rb'"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"')
# Request parameters worth showing in an activity trail (never a secret).
_TRAIL_PARAMS = ("UserName", "PolicyArn", "RoleArn", "RoleName", "RoleSessionName", "Status",
                 "AccessKeyId", "GroupName", "PolicyName")


class Trail:
    """Who did what, when: a bounded in-memory history of the sandbox's AWS requests."""

    def __init__(self, limit: int = 50_000) -> None:
        self.events: deque[dict[str, Any]] = deque(maxlen=limit)
        self.lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def since(self, t: float) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["time"] >= t]

    def clear(self) -> None:
        with self.lock:
            self.events.clear()


def event(environ: dict[str, Any], body: bytes, status: int, response: bytes) -> dict[str, Any]:
    from moto.iam.models import iam_backends

    auth = _AUTH_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    key_id, region, service = auth.groups() if auth else ("", "", "")
    query = body.decode("utf-8", "replace") if body and b"Action=" in body \
        else environ.get("QUERY_STRING", "")
    params = parse_qs(query)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    action = (params.get("Action") or [target.rsplit(".", 1)[-1] if target else ""])[0]
    user = ""
    if key_id:
        key = iam_backends[state.ACCOUNT]["aws"].access_keys.get(key_id)
        user = key.user_name if key is not None and key.user_name else ""
    session = ""
    if key_id.startswith("ASIA"):  # temporary credentials: whose session, as CloudTrail's ARN
        from moto.sts.models import sts_backends

        backend = sts_backends[state.ACCOUNT]["aws"]
        assumed = backend.get_assumed_role_from_access_key(key_id)
        session = assumed.arn if assumed is not None else ""
        issued = getattr(backend, "sessions", {}).get(key_id)  # GetSessionToken's: the user's
        if issued is not None:  # as CloudTrail names them: the user, and a federated user's ARN
            user, session = issued.user_name, issued.arn if issued.federated is not None else ""
    code = ""
    if status >= 400:
        m = _CODE_RE.search(response) or _JSON_CODE_RE.search(response)
        code = m.group(1).decode() if m else str(status)
    return {
        "time": sandbox_time(),
        "event": action or environ.get("REQUEST_METHOD", ""),
        "service": service,
        "region": region,
        "access_key_id": key_id,
        "user": user,
        "session": session,
        "source": environ.get("HTTP_USER_AGENT", "").split(" ", 1)[0],
        "status": status,
        "error": code,
        "params": {k: v[0] for k, v in params.items() if k in _TRAIL_PARAMS},
    }


def sandbox_time() -> float:
    """Now on the sandbox's clock, as a UNIX time (the trail keeps sub-second order)."""
    return time.time() + CLOCK.offset.total_seconds()
