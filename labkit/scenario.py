"""A seeded company account for the audit exercise: keys of every age and habit."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from labkit import iam as lab_iam
from labkit.sandbox import SandboxError

# name, console password?, keys: (age in days, days since last use or None, active)
COMPANY: tuple[tuple[str, bool, tuple[tuple[int, int | None, bool], ...]], ...] = (
    ("ana-developer", True, ((10, 1, True),)),
    ("ben-ci-deployer", False, ((400, 2, True),)),
    ("cara-analyst", True, ((120, None, True),)),
    ("dev-build-bot", False, ((200, 3, True), (30, 1, True))),
    ("ed-former-staff", True, ((300, 250, False),)),
    ("fay-data-export", False, ((60, 50, True),)),
)
NAMES = tuple(name for name, _, _ in COMPANY)
# The (simulated) root user's key: CIS 1.4 says it should not exist at all.
ROOT_KEY_AGE, ROOT_KEY_LAST_USE = 700, 100


@dataclass(frozen=True)
class Seeded:
    """What the scenario made."""

    users: tuple[str, ...]
    keys: int
    backdated: bool
    note: str = ""

    def __str__(self) -> str:
        if self.note:
            return self.note
        how = "with backdated ages" if self.backdated else \
            "(ages could not be backdated: this server has no labkit fidelity layer)"
        return (f"Seeded the company account: {len(self.users)} users, {self.keys} access keys, "
                f"and a simulated root user key, {how}.")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _users(now: datetime) -> list[dict[str, Any]]:
    """The company as the sandbox's `users` admin call takes it (times as ISO 8601 strings)."""
    def ago(days: int | None) -> str | None:
        return None if days is None else _iso(now - timedelta(days=days))

    return [{
        "name": name, "password": "Company-Passw0rd!" if password else None,
        "created": ago(max(age for age, _, _ in specs)),
        "keys": [{"created": ago(age), "active": active, "last_used": ago(idle),
                  "service": "s3" if "data" in name else "iam", "region": "us-east-1"}
                 for age, idle, active in specs],
    } for name, password, specs in COMPANY]


def company(lab: Any, now: datetime | None = None) -> Seeded:
    """Make the company's users and keys in the sandbox, aged as the scenario says (idempotent)."""
    if not lab.simulated:
        return Seeded((), 0, False, note="Skipped: the company scenario runs only in the "
                      "sandbox, never in a real AWS account.")
    now = now or lab.now()  # the sandbox's time, which a lesson may have moved forward
    backdate = lab.sandbox is not None and lab.sandbox.has_fidelity_fixes
    if backdate:
        # The admin API takes times on the sandbox's own clock, which runs `offset` ahead of
        # the times it presents (labkit/sandbox/clock.py).
        now = now + _clock_offset(lab)
    users = _users(now)
    if backdate:
        with contextlib.suppress(SandboxError):  # a sandbox from an older labkit: as below
            # labkit's sandbox makes the account itself, in one admin call instead of about 40
            # AWS calls (lesson 06's overhead: bench/results.md).
            keys = int(lab.sandbox.admin("POST", "users", {"users": users})["keys"])
            _plant_root_key(lab, now)
            return Seeded(NAMES, keys, True)
    iam = lab.client("iam")

    def seed(user: dict[str, Any]) -> int:
        name = user["name"]
        lab_iam.delete_user(iam, name)  # re-running gives the same account again
        lab_iam.create_user(iam, name)
        if user["password"]:
            iam.create_login_profile(UserName=name, Password=user["password"])
        for spec in user["keys"]:
            key = lab_iam.create_access_key(iam, name)
            if not spec["active"]:
                iam.update_access_key(UserName=name, AccessKeyId=key.access_key_id,
                                      Status="Inactive")
            if backdate:
                lab.sandbox.admin("POST", "backdate", {
                    "user": name, "user_created": user["created"],
                    "access_key_id": key.access_key_id, **spec})
        return len(user["keys"])

    # One user per thread: the sandbox answers in parallel, so seeding takes a fraction of the time.
    with ThreadPoolExecutor(max_workers=len(COMPANY)) as pool:
        keys = sum(pool.map(seed, users))
    if backdate:
        _plant_root_key(lab, now)
    return Seeded(NAMES, keys, backdate)


def _clock_offset(lab: Any) -> timedelta:
    """How far the sandbox's own clock runs ahead of the times it presents."""
    if "clock" not in lab.sandbox.fixes:
        return timedelta(0)
    with contextlib.suppress(SandboxError):
        return timedelta(seconds=float(lab.sandbox.admin("GET", "clock").get("offset_s", 0)))
    return timedelta(0)


def _plant_root_key(lab: Any, now: datetime) -> None:
    lab.sandbox.admin("POST", "root-key", {
        "active": True, "created": _iso(now - timedelta(days=ROOT_KEY_AGE))[:19] + "+00:00",
        "last_used": _iso(now - timedelta(days=ROOT_KEY_LAST_USE))[:19] + "+00:00"})


def remove_company(lab: Any) -> list[str]:
    """Delete the company users and the simulated root key from the lab's sandbox again."""
    if not lab.simulated:
        return []
    steps: list[str] | None = None
    if lab.sandbox is not None and lab.sandbox.has_fidelity_fixes:
        with contextlib.suppress(SandboxError):  # a sandbox from an older labkit: as below
            gone = set(lab.sandbox.admin("DELETE", "users", {"users": list(NAMES)})["deleted"])
            steps = [f"Deleted the user {name}." if name in gone else
                     f"There is no user {name}: nothing to delete." for name in NAMES]
    if steps is None:
        iam = lab.client("iam")
        with ThreadPoolExecutor(max_workers=len(COMPANY)) as pool:
            steps = list(pool.map(lambda name: lab_iam.delete_user(iam, name)[-1], NAMES))
    if lab.sandbox is not None and lab.sandbox.has_fidelity_fixes:
        lab.sandbox.admin("POST", "root-key", {"active": None, "created": None,
                                               "last_used": None})
        steps.append("Removed the simulated root user key.")
    return steps
