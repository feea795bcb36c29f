"""The IAM credential report as AWS writes it (AWS's documentation of its columns): a
`<root_account>` row, last-used region and service, the user's keys in slots 1 and 2, every time
on the host's calendar (labkit/sandbox/clock.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moto.utilities.utils import get_partition

from labkit.sandbox.account_state import REPORT_HEADER as HEADER
from labkit.sandbox.clock import CLOCK

_DATE = "%Y-%m-%dT%H:%M:%S+00:00"
_NO_KEY = ["false", "N/A", "N/A", "N/A", "N/A"]


def _at(moment: datetime) -> str:
    return CLOCK.presented(moment).strftime(_DATE)


def _key_fields(key: Any | None) -> list[str]:
    if key is None:
        return list(_NO_KEY)
    used = key.last_used  # moto's AccessKeyLastUsed, or None
    return ["true" if key.status == "Active" else "false", _at(key.create_date),
            *([_at(used.timestamp), used.region, used.service] if used
              else ["N/A", "N/A", "N/A"])]


def user_row(user: Any) -> str:
    """One IAM user's row."""
    # AWS's documentation: access_key_1 is the user's (first) key, access_key_2 "a second
    # access key"; a user left with one key has it in slot 1, whichever was deleted.
    slots = {i + 1: k for i, k in enumerate(user.access_keys)}
    if user.password:
        password = ["true", _at(user.password_last_used)
                    if user.password_last_used else "no_information",
                    _at(getattr(user, "labkit_password_changed", user.create_date)), "N/A"]
    else:
        password = ["false", "N/A", "N/A", "N/A"]
    cert_fields: list[str] = []
    for cert in [*user.signing_certificates.values(), None, None][:2]:
        cert_fields += (["true" if cert.status == "Active" else "false",
                         _at(cert.upload_date)] if cert else ["false", "N/A"])
    return ",".join([user.name, user.arn, _at(user.create_date), *password,
                     "true" if user.mfa_devices else "false",
                     *_key_fields(slots.get(1)), *_key_fields(slots.get(2)), *cert_fields])


def _root_at(stamp: str | None) -> str:
    # The admin API takes the root key's times on the sandbox's clock, as moto keeps its own.
    return _at(datetime.fromisoformat(stamp)) if stamp else "N/A"


def root_row(account_id: str, partition: str, root_key: dict[str, Any],
             account_created: datetime) -> str:
    """The `<root_account>` row, with the simulated root key a lesson may plant."""
    key = list(_NO_KEY)
    if root_key["active"] is not None:
        used = root_key["last_used"]
        key = ["true" if root_key["active"] else "false", _root_at(root_key["created"]),
               _root_at(used), "us-east-1" if used else "N/A", "iam" if used else "N/A"]
    return ",".join(["<root_account>", f"arn:{partition}:iam::{account_id}:root",
                     _at(account_created), "not_supported", "no_information",
                     "not_supported", "not_supported", "false", *key,
                     *_NO_KEY, "false", "N/A", "false", "N/A"])


def report(backend: Any, root_key: dict[str, Any], account_created: datetime) -> str:
    """The whole report's CSV text for one account."""
    partition = get_partition(backend.region_name)
    return "\n".join([HEADER, root_row(backend.account_id, partition, root_key, account_created)]
                     + [user_row(u) for u in backend.users.values()]) + "\n"
