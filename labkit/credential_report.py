"""The IAM credential report as a table of access keys, and the account's key inventory from it."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit.errors import error_code
from labkit.keys import mask_key_id

if TYPE_CHECKING:
    import pandas as pd
else:  # imported when a table is first made: `from labkit import reports` stays cheap
    from labkit.lazy import LazyModule

    pd = LazyModule("pandas")

ROOT_USER = "<root_account>"

# Values the credential report writes where a date or service would be.
NO_VALUE = frozenset({"", "N/A", "no_information", "not_supported"})

REPORT_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)

# One row per access key; the same columns whichever way the keys were gathered.
KEY_COLUMNS: dict[str, str] = {
    "user": "object",
    "key_id": "object",
    "key_slot": "int64",
    "active": "bool",
    "created": "datetime64[ns, UTC]",
    "age_days": "int64",
    "last_used": "datetime64[ns, UTC]",
    "days_since_use": "Int64",
    "last_service": "object",
    "last_region": "object",
    "arn": "object",
    "user_created": "datetime64[ns, UTC]",
    "password_enabled": "bool",
}

# Above this many users with keys, one ListAccessKeys call each costs more than the IDs are worth.
MAX_USERS_FOR_KEY_IDS = 200

REPORT_POLL_SECONDS = 0.05

REPORT_TIMEOUT_SECONDS = 10.0



class CredentialReportTimeout(TimeoutError):
    """IAM did not finish the credential report in time."""



def as_utc(now: datetime | None) -> pd.Timestamp:
    """The given time (naive means UTC) or the current time, as a UTC Timestamp."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")



def frame_now(frame: pd.DataFrame, now: datetime | None) -> pd.Timestamp:
    """`now` if given, else the `now` the frame was built with, else the current time."""
    if now is None:
        now = frame.attrs.get("now")
    return as_utc(now)



def _when(text: str) -> pd.Timestamp:
    """A report date as a UTC Timestamp; NaT for N/A, no_information and not_supported."""
    text = text.strip()
    if text in NO_VALUE:
        return pd.NaT
    try:
        return as_utc(pd.Timestamp(text))
    except ValueError as exc:
        raise ValueError(f"The credential report has a date IAM never writes: {text!r}") from exc



def _flag(text: str) -> bool:
    """A report true/false; not_supported (the root user's password) counts as False."""
    return text.strip().lower() == "true"



def report_label(text: str | None) -> str | None:
    """A service or region name, or None where the report has N/A or not_supported."""
    if text is None:
        return None
    text = text.strip()
    return None if text in NO_VALUE else text



def typed_keys(rows: list[dict[str, Any]], now: pd.Timestamp) -> pd.DataFrame:
    """Key rows as a frame with KEY_COLUMNS' dtypes and ages counted to `now`."""
    frame = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
    for column in ("created", "last_used", "user_created"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = with_ages(frame, now).astype(KEY_COLUMNS)
    # Object columns hold None, never NaN, so `is None` checks in lessons behave.
    for column in ("key_id", "last_service", "last_region"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame.attrs["now"] = now
    return frame



def with_ages(frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """A copy of a key frame with age_days and days_since_use counted to `now`."""
    out = frame.copy()
    day = pd.Timedelta(days=1)
    # Clocks differ by seconds: a key made "after" now is zero days old, not minus one.
    created = pd.to_datetime(out["created"], utc=True)
    out["age_days"] = ((now - created) // day).clip(lower=0).astype("int64")
    used = pd.to_datetime(out["last_used"], utc=True)
    out["days_since_use"] = ((now - used) // day).clip(lower=0).astype("Int64")
    return out



def _report_text(report: bytes | str) -> str:
    """The report as text, whatever form the SDK handed it over in."""
    if isinstance(report, (bytes, bytearray)):
        return bytes(report).decode("utf-8-sig")
    return report.lstrip("\ufeff")



def credential_report_frame(report: bytes | str, now: datetime | None = None) -> pd.DataFrame:
    """One row per existing access key in a raw IAM credential report (CSV bytes or text)."""
    now_utc = as_utc(now)
    text = _report_text(report)
    if not text.strip():
        raise ValueError("The credential report is empty; IAM always writes at least a header.")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in REPORT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            "This does not look like an IAM credential report; it has no "
            + ", ".join(missing[:3])
            + (" ..." if len(missing) > 3 else "")
            + " column."
        )
    rows: list[dict[str, Any]] = []
    for record in table.to_dict("records"):
        for slot in (1, 2):
            prefix = f"access_key_{slot}_"
            created = _when(record[prefix + "last_rotated"])
            # A key exists exactly when it has a rotation date; inactive keys keep theirs.
            if pd.isna(created):
                continue
            rows.append(
                {
                    "user": record["user"],
                    "key_id": None,
                    "key_slot": slot,
                    "active": _flag(record[prefix + "active"]),
                    "created": created,
                    "age_days": 0,
                    "last_used": _when(record[prefix + "last_used_date"]),
                    "days_since_use": pd.NA,
                    "last_service": report_label(record[prefix + "last_used_service"]),
                    "last_region": report_label(record[prefix + "last_used_region"]),
                    "arn": record["arn"],
                    "user_created": _when(record["user_creation_time"]),
                    "password_enabled": _flag(record["password_enabled"]),
                }
            )
    return typed_keys(rows, now_utc)



def _fetch_report(iam: Any) -> dict[str, Any]:
    """GenerateCredentialReport until COMPLETE, then GetCredentialReport."""
    deadline = time.monotonic() + REPORT_TIMEOUT_SECONDS
    while iam.generate_credential_report().get("State") != "COMPLETE":
        if time.monotonic() >= deadline:
            raise CredentialReportTimeout(
                f"IAM did not finish the credential report within {REPORT_TIMEOUT_SECONDS:g} "
                "seconds. Wait a minute and run this cell again."
            )
        time.sleep(REPORT_POLL_SECONDS)
    return iam.get_credential_report()



def _second(value: object) -> pd.Timestamp:
    return as_utc(pd.Timestamp(value)).floor("s")  # type: ignore[arg-type]



def _match_slots(rows: pd.DataFrame, listed: list[dict[str, Any]]) -> dict[int, str]:
    """Key IDs by slot: CreateDate equal to last_rotated to the second, else in order."""
    by_slot: dict[int, str] = {}
    left = sorted(listed, key=lambda k: _second(k["CreateDate"]))
    slots = sorted(zip(rows["key_slot"].astype(int), rows["created"]))
    for slot, created in slots:
        match = next((k for k in left if _second(k["CreateDate"]) == created.floor("s")), None)
        if match is not None:
            by_slot[slot] = match["AccessKeyId"]
            left.remove(match)
    for slot, _ in slots:
        if slot not in by_slot and left:
            by_slot[slot] = left.pop(0)["AccessKeyId"]
    return by_slot



def report_keys(iam: Any, now: datetime | None = None) -> pd.DataFrame:
    """Every access key in the account from one fresh credential report (on the boto3 IAM client
    `iam`), without key IDs: all that the CIS checks need. Ages count to `now`, by default the
    time the account answered."""
    report = _fetch_report(iam)
    frame = credential_report_frame(report["Content"], now or _server_time(report))
    generated = report.get("GeneratedTime")
    frame.attrs["generated"] = None if generated is None else as_utc(generated)
    return frame



def key_inventory(iam: Any, now: datetime | None = None) -> pd.DataFrame:
    """Every access key in the account from one credential report (on the boto3 IAM client
    `iam`), with the key IDs of up to MAX_USERS_FOR_KEY_IDS users, masked."""
    frame = report_keys(iam, now)
    users = [u for u in frame["user"].unique() if u != ROOT_USER]
    if 0 < len(users) <= MAX_USERS_FOR_KEY_IDS:
        key_ids = frame["key_id"].tolist()
        for user in users:
            try:
                listed = [
                    k
                    for page in iam.get_paginator("list_access_keys").paginate(UserName=user)
                    for k in page.get("AccessKeyMetadata", [])
                ]
            except Exception as exc:
                # The user was deleted after the report was made: their keys went with them.
                if error_code(exc) == "NoSuchEntity":
                    continue
                raise
            rows = frame[frame["user"] == user]
            by_slot = _match_slots(rows, listed)
            for index, slot in zip(rows.index, rows["key_slot"]):
                if int(slot) in by_slot:
                    key_ids[frame.index.get_loc(index)] = mask_key_id(by_slot[int(slot)])
        frame["key_id"] = pd.Series(key_ids, index=frame.index, dtype=object)
    return frame



def _server_time(response: dict[str, Any]) -> datetime | None:
    """When the account answered (its Date header): the sandbox's clock, which a lesson may have
    moved forward, or AWS's time. None when the answer has no date."""
    from email.utils import parsedate_to_datetime

    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
