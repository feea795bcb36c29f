"""The benchmark's baseline: the key inventory the slow way, one call per user and per key.

`labkit.credential_report.key_inventory` answers from one credential report; this loop makes the
same table from ListUsers, ListAccessKeys, GetLoginProfile and GetAccessKeyLastUsed, so the
benchmark can time both and the tests can check they agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from labkit.credential_report import as_utc, report_label, typed_keys
from labkit.errors import error_code


def naive_key_inventory(client: Any, now: datetime | None = None) -> pd.DataFrame:
    """The same table the slow way (calls per user and per key): the benchmark's baseline."""
    now_utc = as_utc(now)
    rows: list[dict[str, Any]] = []
    for page in client.get_paginator("list_users").paginate():
        for user in page.get("Users", []):
            name = user["UserName"]
            keys = [
                k
                for key_page in client.get_paginator("list_access_keys").paginate(UserName=name)
                for k in key_page.get("AccessKeyMetadata", [])
            ]
            if not keys:
                continue
            try:
                client.get_login_profile(UserName=name)
                password = True
            except Exception as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
                password = False
            for slot, key in enumerate(sorted(keys, key=lambda k: k["CreateDate"]), start=1):
                used = client.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                last = used.get("AccessKeyLastUsed", {})
                rows.append(
                    {
                        "user": name,
                        "key_id": key["AccessKeyId"],
                        "key_slot": slot,
                        "active": key["Status"] == "Active",
                        "created": as_utc(key["CreateDate"]),
                        "age_days": 0,
                        "last_used": (
                            as_utc(last["LastUsedDate"]) if last.get("LastUsedDate") else pd.NaT
                        ),
                        "days_since_use": pd.NA,
                        "last_service": report_label(last.get("ServiceName")),
                        "last_region": report_label(last.get("Region")),
                        "arn": user["Arn"],
                        "user_created": as_utc(user["CreateDate"]),
                        "password_enabled": password,
                    }
                )
    return typed_keys(rows, now_utc)
