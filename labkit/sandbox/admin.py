"""The sandbox's admin API (`/labkit-api/...`, token only): health, trail, reset, seeding, clock.

Each call is one entry of ROUTES; the functions below change moto's backends directly, so a
lesson's seeding costs one request instead of dozens.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from labkit.sandbox import account_state, fidelity, state
from labkit.sandbox.activity import Trail
from labkit.sandbox.clock import CLOCK

Handler = Callable[["Admin", dict[str, Any], dict[str, Any]], dict[str, Any]]


class Admin:
    """What the admin API works on: the console identity, the trail, the instance's identity."""

    def __init__(self, console: dict[str, str], instance: str, trail: Trail,
                 started: float) -> None:
        self.console = console
        self.instance = instance
        self.trail = trail
        self.started = started

    def call(self, method: str, path: str, query: str,
             data: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to one admin call, None when there is no such call."""
        handler = ROUTES.get((method, path)) or ROUTES.get(("*", path))
        return None if handler is None else handler(self, {"method": method,
                                                          "query": query}, data)


def _health(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"labkit": True, "instance": admin.instance, "fixes": list(fidelity.FIXES),
            "pid": os.getpid(), "started": admin.started, "account": state.ACCOUNT,
            "accounts": accounts()}


def _trail(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    since = float(parse_qs(request["query"]).get("since", ["0"])[0])
    return {"events": admin.trail.since(since)}


def _reset(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    reset(admin.console)
    admin.trail.clear()
    return {"status": "ok"}


def _backdate(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    backdate(data)
    return {"status": "ok"}


def _clock(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """GET: the sandbox's time; POST {"advance": "20m"}: move it."""
    if request["method"] == "POST":
        CLOCK.advance(str(data.get("advance", "")))
    return CLOCK.describe()


def _root_key(admin: Admin, request: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    account_state.ROOT_KEY.update({k: data.get(k) for k in account_state.ROOT_KEY})
    return {"status": "ok"}


ROUTES: dict[tuple[str, str], Handler] = {
    ("*", "health"): _health,
    ("GET", "trail"): _trail,
    ("POST", "reset"): _reset,
    ("POST", "backdate"): _backdate,
    ("POST", "users"): lambda admin, request, data: seed_users(data),
    ("DELETE", "users"): lambda admin, request, data: delete_users(data),
    ("*", "clock"): _clock,
    ("POST", "issued"): lambda admin, request, data: {
        "issued": account_state.issued(data["candidates"])},
    ("POST", "root-key"): _root_key,
}


def accounts() -> list[str]:
    """The AWS accounts moto holds (one: no request can create another)."""
    from moto.iam.models import iam_backends

    return sorted(iam_backends.keys())


def bootstrap(console: dict[str, str]) -> None:
    """Create the console identity (with its fixed key) and switch IAM authentication on."""
    from moto import settings
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    name = console["user_name"]
    if name not in backend.users:
        backend.create_user(None, name, path="/", tags=[{"Key": "labkit", "Value": "console"}])
        backend.attach_user_policy("arn:aws:iam::aws:policy/AdministratorAccess", name)
        key = backend.create_access_key(name)
        # Keep the console key stable across restarts, so open terminals and kernels keep working.
        del backend.access_keys[key.access_key_id]
        key.access_key_id = console["access_key_id"]
        key.secret_access_key = console["secret_access_key"]
        account_state.remember(key.secret_access_key)
        backend.access_keys[key.access_key_id] = key
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


def reset(console: dict[str, str]) -> None:
    """Forget everything the learner made, as a fresh sandbox; the console identity stays."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    CLOCK.reset()  # a fresh account lives in real time again
    account_state.ROOT_KEY.update({"active": None, "created": None, "last_used": None})
    bootstrap(console)


def backdate(data: dict[str, Any]) -> None:
    """Set creation and last-use times, so a lesson can show keys that are months old."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    if data.get("user_created"):
        backend.get_user(data["user"]).create_date = _dt(data["user_created"])
    if data.get("access_key_id"):
        key = backend.access_keys[data["access_key_id"]]
        if data.get("created"):
            key.create_date = _dt(data["created"])
        if data.get("last_used"):
            key.last_used = AccessKeyLastUsed(_dt(data["last_used"]), data.get("service") or "iam",
                                              data.get("region") or "us-east-1")


def seed_users(data: dict[str, Any]) -> dict[str, Any]:
    """Create users with keys of given ages in one call (the audit scenario): a lesson's seeding
    then costs one request instead of dozens. Users of the same name are replaced."""
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    made = 0
    for spec in data["users"]:
        name = spec["name"]
        if name in backend.users:
            _delete_user(backend, name)
        backend.create_user(None, name, path="/")
        if spec.get("password"):
            backend.create_login_profile(name, spec["password"])
        for key_spec in spec.get("keys", []):
            key = backend.create_access_key(name)
            if not key_spec.get("active", True):
                backend.update_access_key(name, key.access_key_id, "Inactive")
            backdate({"user": name, "user_created": spec.get("created"),
                      "access_key_id": key.access_key_id, **key_spec})
            made += 1
    return {"users": len(data["users"]), "keys": made}


def delete_users(data: dict[str, Any]) -> dict[str, Any]:
    """Delete users and everything hanging off them, in one call; names that do not exist are
    skipped. Returns the names deleted."""
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    gone = [name for name in data["users"] if name in backend.users]
    for name in gone:
        _delete_user(backend, name)
    return {"deleted": gone}


def _delete_user(backend: Any, name: str) -> None:
    # What IAM's DeleteUser wants gone first (fidelity checks the same list, so a leftover here
    # fails loudly instead of leaving half a user).
    user = backend.get_user(name)
    user.password = None
    for key in list(user.access_keys):
        backend.delete_access_key(key.access_key_id, name)
    for attribute in ("signing_certificates", "ssh_public_keys", "service_specific_credentials",
                      "mfa_devices", "policies"):
        getattr(user, attribute, {}).clear()
    for arn in list(user.managed_policies):
        backend.detach_user_policy(arn, name)
    for group in backend.groups.values():
        if user in group.users:
            group.users.remove(user)
    backend.delete_user(name)


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # moto keeps naive UTC datetimes
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
