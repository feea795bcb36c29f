"""The CIS AWS Foundations Benchmark's access-key checks on a key table, and key ages in words."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit.credential_report import ROOT_USER, frame_now, with_ages

if TYPE_CHECKING:
    import pandas as pd
else:  # imported when a table is first made: `from labkit import reports` stays cheap
    from labkit.lazy import LazyModule

    pd = LazyModule("pandas")

FINDING_COLUMNS: dict[str, str] = {
    "user": "object",
    "key_slot": "Int64",
    "check": "object",
    "severity": "object",
    "detail": "object",
    "cis": "object",
}

SEVERITIES = ("critical", "high", "medium", "low")

# Each check's severity and its CIS AWS Foundations Benchmark recommendation number, as numbered
# in the benchmark's versions 1.4.0 to 4.0.1 (v5.0.0 renumbers them: the root key check is 1.3).
CHECKS: dict[str, tuple[str, str]] = {
    "root_access_key": ("critical", "1.4"),
    "rotation_overdue": ("high", "1.14"),
    "unused_since_creation": ("medium", "1.11"),
    "unused_key": ("medium", "1.12"),
    "two_active_keys": ("low", "1.13"),
}

ROTATION_DAYS = 90

UNUSED_DAYS = 45



def _slot_text(slot: object) -> str:
    return "" if pd.isna(slot) else f"Key {int(slot)}"  # type: ignore[call-overload]



def findings(
    frame: pd.DataFrame,
    now: datetime | None = None,
    *,
    rotation_days: int = ROTATION_DAYS,
    unused_days: int = UNUSED_DAYS,
) -> pd.DataFrame:
    """CIS AWS Foundations checks on a key frame, most severe first.

    Ages are recounted from `created` and `last_used` to `now` (default: the frame's own
    `attrs["now"]`, else the current time), so a later `now` shows what falls due. CIS and AWS
    say "rotate every 90 days or less": a key aged exactly `rotation_days` whole days is on its
    last allowed day, and is overdue from the next day. A key unused for exactly `unused_days`
    days counts as unused. Inactive keys are never overdue or unused.
    """
    needed = {"user", "key_slot", "active", "created", "last_used"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ValueError(f"The key table has no {', '.join(missing)} column(s).")
    keys = with_ages(frame, frame_now(frame, now))
    know_password = {"user_created", "password_enabled"} <= set(frame.columns)
    out: list[dict[str, Any]] = []

    def add(user: str, slot: object, check: str, detail: str) -> None:
        severity, cis = CHECKS[check]
        out.append(dict(zip(FINDING_COLUMNS, (user, slot, check, severity, detail, cis))))

    for key in keys.to_dict("records"):
        if not key["active"]:
            continue
        user, slot, age = key["user"], key["key_slot"], int(key["age_days"])
        name = _slot_text(slot)
        never_used = pd.isna(key["last_used"])
        if user == ROOT_USER:
            add(user, slot, "root_access_key",
                f"The root user has an active access key ({name.lower()}); "
                "delete it and use an IAM user or role instead.")  # fmt: skip
        if (
            know_password
            and bool(key["password_enabled"])
            and never_used
            and not pd.isna(key["user_created"])
            and abs(key["created"] - key["user_created"]) <= pd.Timedelta(days=1)
        ):
            add(user, slot, "unused_since_creation",
                f"{name} was made along with this console user and has never been used; "
                "delete it and create keys only when they are needed.")  # fmt: skip
        if never_used and age >= unused_days:
            add(user, slot, "unused_key",
                f"{name} has never been used in its {age} days; "
                f"deactivate or delete it (the limit is {unused_days} days).")  # fmt: skip
        elif not never_used and int(key["days_since_use"]) >= unused_days:
            add(user, slot, "unused_key",
                f"{name} was last used {int(key['days_since_use'])} days ago; "
                f"deactivate or delete it (the limit is {unused_days} days).")  # fmt: skip
        if age > rotation_days:
            add(user, slot, "rotation_overdue",
                f"{name} is {age} days old; rotate it (the limit is {rotation_days} days).")  # fmt: skip

    active_counts = keys[keys["active"].astype(bool)].groupby("user", sort=False).size()
    for user, count in active_counts.items():
        if count >= 2:
            add(str(user), pd.NA, "two_active_keys",
                f"{user} has {count} active keys; keep one active except while rotating.")  # fmt: skip

    result = pd.DataFrame(out, columns=list(FINDING_COLUMNS)).astype(FINDING_COLUMNS)
    order = (
        result.assign(
            _rank=result["severity"].map(SEVERITIES.index),
            _slot=result["key_slot"].fillna(0),
            _check=result["check"].map(list(CHECKS).index),
        )
        .sort_values(["_rank", "user", "_slot", "_check"], kind="stable")
        .index
    )
    result = result.loc[order].reset_index(drop=True)
    result.attrs["now"] = frame_now(frame, now)
    return result



def key_state(active: bool, age: int, rotation_days: int) -> str:
    """A key's state as the chart says it in words."""
    if not active:
        return "inactive"
    return "past the limit" if age > rotation_days else "within the limit"



def key_age_table(
    frame: pd.DataFrame, now: datetime | None = None, rotation_days: int = ROTATION_DAYS
) -> pd.DataFrame:
    """What the age chart shows, as a table: user, key slot, age in days, state."""
    keys = with_ages(frame, frame_now(frame, now)).reset_index(drop=True)
    return pd.DataFrame(
        {
            "user": keys["user"].astype(str),
            "key": keys["key_slot"].astype(int),
            "age_days": keys["age_days"].astype(int),
            "state": [
                key_state(a, int(g), rotation_days)
                for a, g in zip(keys["active"].astype(bool), keys["age_days"])
            ],
        }
    )



def key_age_summary(
    frame: pd.DataFrame, now: datetime | None = None, rotation_days: int = ROTATION_DAYS
) -> str:
    """One sentence that says what the age chart shows (its text alternative)."""
    table = key_age_table(frame, now, rotation_days)
    if table.empty:
        return "Bar chart of access key ages: there are no access keys."

    def who(state: str) -> str:
        rows = table[table["state"] == state]
        if rows.empty:
            return f"none {state}"
        names = ", ".join(f"{u} key {k} ({d} days)" for u, k, d in
                          zip(rows["user"], rows["key"], rows["age_days"]))
        return f"{len(rows)} {state}: {names}"

    return (f"Bar chart of access key ages, {len(table)} keys, against the {rotation_days}-day "
            f"rotation limit. Active, {who('past the limit')}. Active, "
            f"{who('within the limit')}. {who('inactive').capitalize()}.")
