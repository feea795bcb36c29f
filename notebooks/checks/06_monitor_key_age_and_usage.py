"""Lesson 06, Monitor key age and usage: its checkpoints and exercise checks.

The notebook's one-line cells (`lesson.verify(...)`, `lesson.exercise(...)`) run these; see
labkit/checkpoints.py for how they are found and run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit import checkpoints as cp, cis, iam, reports, scenario, trail
from labkit.checks import Verdict

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = cp.USER
CHECKS = cp.Checks()


def _last_report(lesson: Lesson) -> Any:
    """The key table of the credential report the learner fetched last (no new request), or a
    fresh one when there is none."""
    got = lesson.last_answer("GetCredentialReport")
    if got and got.get("Content"):
        return reports.credential_report_frame(got["Content"])
    return reports.key_inventory(lesson.lab.client("iam"))


@CHECKS.rule("inventory")
def _inventory(lesson: Lesson) -> Verdict:
    keys = _last_report(lesson)
    mine = keys[keys["user"] == USER]
    return cp.ok(len(mine) == 1 and bool(mine["active"].iloc[0]),
                 f"{USER} has one active key, as after lesson 05.",
                 f"{USER} has {len(mine)} keys.", "Run lesson 05 again.")


@CHECKS.rule("old_key_unused")
def _old_key_unused(lesson: Lesson) -> Verdict:
    profile = lesson.profile_key()
    keys = iam.list_access_keys(lesson.lab.client("iam"), USER)
    current = next((k for k in keys if profile and k.access_key_id == profile.access_key_id), None)
    if current is None:
        return Verdict(False, "Your profile's key is not a key of the user.", "Run lesson 05 again.")
    after = trail.other_keys_since(lesson.lab, USER, current)
    return cp.ok(bool(after["error"].notna().all()),
                 f"No other key worked since the rotation ({len(after)} attempts, all refused).",
                 "An old key was still used successfully after the rotation.",
                 "Find the program using it (the trail shows when and for what) and switch it over.")


@CHECKS.rule("audit")
def _audit(lesson: Lesson) -> Verdict:
    if not lesson.lab.simulated or lesson.lab.missing_fix("inactive-keys-rejected"):
        return Verdict(True, "Skipped: the company scenario runs only in the labkit sandbox.")
    found = reports.findings(_last_report(lesson))
    expected = {"root_access_key", "rotation_overdue", "two_active_keys"}
    return cp.ok(expected <= set(found["check"]),
                 "The audit found the root key, the overdue keys and the user with two active keys.",
                 "The audit missed something.", "Run Step 3 again.")


def _unused(key: dict[str, Any]) -> bool:
    """CIS 1.12's test on a key row: unused for UNUSED_DAYS days or more (or never, that long)."""
    import pandas as pd  # loaded by the lesson's tables already; not at the lesson's start

    idle = key["age_days"] if pd.isna(key["days_since_use"]) else key["days_since_use"]
    return int(idle) >= cis.UNUSED_DAYS


@CHECKS.exercise("deactivate_unused")
def _unused_deactivated(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.lab.simulated or lesson.lab.missing_fix("inactive-keys-rejected"):
        return False, "The company scenario runs only in the labkit sandbox: nothing to do here."
    iam = lesson.lab.client("iam")  # labkit's own calls: the learner's last answers stay theirs
    users = {u["UserName"] for page in iam.get_paginator("list_users").paginate()
             for u in page["Users"]}
    if not users & set(scenario.NAMES):
        return False, "Seed the company account first (Step 3)."
    gone = [name for name in scenario.NAMES if name not in users]
    if gone:
        return False, (f"The users {', '.join(gone)} were deleted: the exercise keeps every user "
                       "and deactivates keys (reversible). Run Step 3 again to seed them back.")
    # A fresh report (the exercise changed the keys); the checks need no key IDs.
    rows = reports.report_keys(iam).to_dict("records")
    made = {name: len(specs) for name, _, specs in scenario.COMPANY}
    short = [name for name in scenario.NAMES
             if sum(1 for r in rows if r["user"] == name) < made[name]]
    if short:
        return False, (f"Keys of {', '.join(short)} were deleted: deactivate instead (Status="
                       "\"Inactive\"), so a key can come back if something still needs it. Run "
                       "Step 3 again to seed them back.")
    company = [r for r in rows if r["user"] in made]
    in_use = sorted({r["user"] for r in company if not _unused(r) and not r["active"]})
    if in_use:
        return False, (f"Keys in use were deactivated: {', '.join(in_use)} used theirs within "
                       f"{cis.UNUSED_DAYS} days. Set them Active again with "
                       "iam.update_access_key(..., Status=\"Active\"); only unused keys go.")
    unused = sorted({r["user"] for r in company if _unused(r) and r["active"]})
    if unused:
        return False, (f"Still active and unused for {cis.UNUSED_DAYS}+ days: the keys of "
                       f"{', '.join(unused)}. Set them Inactive with iam.update_access_key(...).")
    return True, (f"Every company key unused for {cis.UNUSED_DAYS} days or more is inactive, the "
                  "keys in use are active, and every user is still there (CIS 1.12, benchmark "
                  "v1.4.0-v4.0.1).")


ROOT_PATTERN = '$.userIdentity.type = "Root"'


@CHECKS.rule("root_alarm")
def _root_alarm(lesson: Lesson) -> Verdict:
    # Every metric filter that counts the root user's requests, then an alarm on one of them.
    logs, cloudwatch = lesson.client("logs"), lesson.client("cloudwatch")
    counted = {(t["metricNamespace"], t["metricName"])
               for page in logs.get_paginator("describe_metric_filters").paginate()
               for f in page["metricFilters"] if ROOT_PATTERN in f.get("filterPattern", "")
               for t in f.get("metricTransformations", [])}
    if not counted:
        return Verdict(False, "No metric filter counts the root user's requests yet.",
                       "Run the put_metric_filter cell above.")
    alarms = [a for page in cloudwatch.get_paginator("describe_alarms").paginate()
              for a in page["MetricAlarms"] if (a.get("Namespace"), a.get("MetricName")) in counted]
    fires = [a for a in alarms if a.get("AlarmActions") and (
        (a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and a["Threshold"] <= 1)
        or (a["ComparisonOperator"] == "GreaterThanThreshold" and a["Threshold"] < 1))]
    if fires:
        return Verdict(True, f"CloudWatch counts every request of the root user, and the alarm "
                             f"{fires[0]['AlarmName']} notifies at the first one.")
    if alarms:
        return Verdict(False, f"The alarm {alarms[0]['AlarmName']} would not tell anyone at the "
                              "first request of the root user.",
                       "Give it an action (AlarmActions) and a threshold of 1 "
                       "(GreaterThanOrEqualToThreshold).")
    return Verdict(False, "The root user's requests are counted, but no alarm watches the count.",
                   "Run the put_metric_alarm cell above.")
