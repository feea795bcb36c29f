"""Who did what, when: the sandbox's request history (a simulated CloudTrail), or CloudTrail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labkit.keys import mask_key_id

if TYPE_CHECKING:
    import pandas as pd
else:  # imported when the trail is first read
    from labkit.lazy import LazyModule

    pd = LazyModule("pandas")

COLUMNS = ["time", "event", "user", "key", "source", "error", "service", "region", "resource"]
SIMULATED = "simulated CloudTrail: the sandbox's own record of every request it answered"


def _frame(rows: list[dict[str, Any]], source: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS + ["key_id"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    frame.attrs["source"] = source
    return frame


def _from_sandbox(lab: Any, since: float) -> pd.DataFrame:
    # The sandbox stamps events on its own clock and presents times shifted back by its offset
    # (labkit/sandbox/clock.py): an event before `advance 91d` happened 91 days ago.
    offset = float(lab.sandbox.admin("GET", "clock").get("offset_s", 0)) \
        if "clock" in lab.sandbox.fixes else 0.0
    events = lab.sandbox.admin("GET", f"trail?since={since + offset}")["events"]
    rows = [{
        "time": datetime.fromtimestamp(e["time"] - offset, UTC),
        "event": e["event"], "user": e["user"] or None, "key_id": e["access_key_id"] or None,
        "key": mask_key_id(e["access_key_id"]) or None, "source": e["source"] or None,
        "error": e["error"] or None, "service": e["service"] or None,
        "region": e["region"] or None,
        "resource": e["params"].get("UserName") or e["params"].get("RoleName") or None,
    } for e in events]
    return _frame(rows, SIMULATED)


def _from_cloudtrail(lab: Any, since: float, user: str | None) -> pd.DataFrame:
    trail = lab.client("cloudtrail")
    params: dict[str, Any] = {"StartTime": datetime.fromtimestamp(since or 0, UTC)}
    if user:
        params["LookupAttributes"] = [{"AttributeKey": "Username", "AttributeValue": user}]
    rows = []
    for page in trail.get_paginator("lookup_events").paginate(**params):
        for e in page["Events"]:
            detail = json.loads(e.get("CloudTrailEvent") or "{}")
            key_id = e.get("AccessKeyId") or detail.get("userIdentity", {}).get("accessKeyId")
            rows.append({
                "time": e["EventTime"], "event": e["EventName"], "user": e.get("Username"),
                "key_id": key_id, "key": mask_key_id(key_id) or None,
                "source": (detail.get("userAgent") or "").split(" ", 1)[0] or None,
                "error": detail.get("errorCode"), "service": e.get("EventSource", "")
                .split(".", 1)[0] or None, "region": detail.get("awsRegion"),
                "resource": next((r.get("ResourceName") for r in e.get("Resources", [])), None),
            })
    return _frame(rows, "AWS CloudTrail (management events; they arrive about 5 minutes late)")


def events(lab: Any, *, since: datetime | float | None = None, user: str | None = None,
           key_id: str | None = None) -> pd.DataFrame:
    """The lab's activity trail as a table: time, event, user, masked key, source, error code."""
    start = since.timestamp() if isinstance(since, datetime) else float(since or 0)
    if lab.simulated and lab.sandbox is not None and not lab.sandbox.has_fidelity_fixes:
        frame = _frame([], "none: a stock moto server keeps no activity trail")
    elif lab.simulated:
        frame = _from_sandbox(lab, start)
    else:
        try:
            frame = _from_cloudtrail(lab, start, user)
        except Exception as exc:  # noqa: BLE001 - no trail is an answer, not a crash
            from labkit.errors import explain

            frame = _frame([], f"none: CloudTrail could not be read ({explain(exc).meaning})")
    if user:
        frame = frame[frame["user"] == user]
    if key_id:
        frame = frame[frame["key_id"] == key_id]
    # pandas carries `attrs` (the source) through filtering and dropping.
    return frame.drop(columns=["key_id"]).reset_index(drop=True)


def other_keys_since(lab: Any, user: str, current: Any) -> pd.DataFrame:
    """Requests by `user` signed with any key but `current` since `current` was created:
    did anything still use an old key after the rotation, and did AWS accept it?"""
    since = current.created.timestamp() if current.created else 0.0
    everything = events(lab, since=since)
    # AWS (and the sandbox) give creation times in whole seconds: start at the CreateAccessKey
    # request itself, so a call made earlier in that second does not count as "after". Of two
    # keys made in that second, `current` (the newest key of a rotation) is the later one.
    made = everything[(everything["event"] == "CreateAccessKey")
                      & (everything["resource"] == user) & everything["error"].isna()
                      & (everything["time"] < pd.Timestamp(since + 1, unit="s", tz="UTC"))]
    if len(made):
        everything = everything[everything["time"] >= made["time"].iloc[-1]]
    everything = everything[everything["user"] == user]
    others = everything[everything["key"] != mask_key_id(current.access_key_id)]
    return others.reset_index(drop=True)
