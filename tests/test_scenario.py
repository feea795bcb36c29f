"""Lesson 06's company account: made and removed by the sandbox in one call each, the same
account the per-user AWS calls make, and nothing a learner added to it left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from labkit import reports, scenario
from labkit.sandbox import SandboxError

NOW = datetime(2026, 3, 1, tzinfo=UTC)
NAMES = [name for name, _, _ in scenario.COMPANY]
ROOT = Path(__file__).resolve().parent.parent


def _calls(lab, action: str) -> list[str]:
    """Users named in the trail's `action` calls (the AWS requests the sandbox answered)."""
    events = lab.sandbox.admin("GET", "trail?since=0")["events"]
    return [e["params"].get("UserName", "") for e in events if e["event"] == action]


def _account(lab) -> list[tuple]:
    """The company as IAM shows it: per key its user, slot, state, age and days since use;
    per user whether it has a console password."""
    iam = lab.client("iam")
    keys = reports.key_inventory(iam, now=NOW + timedelta(hours=1))
    rows = keys[keys["user"].isin(NAMES)].sort_values(["user", "key_slot"])
    out = [(r.user, int(r.key_slot), bool(r.active), int(r.age_days),
            None if pd.isna(r.days_since_use) else int(r.days_since_use))
           for r in rows.itertuples()]
    for name in NAMES:
        try:
            iam.get_login_profile(UserName=name)
            out.append((name, "password"))
        except iam.exceptions.NoSuchEntityException:
            pass
    return out


def _expected() -> list[tuple]:
    keys = [(name, slot, active, age, idle)
            for name, _, specs in scenario.COMPANY
            for slot, (age, idle, active) in enumerate(specs, start=1)]
    return sorted(keys) + [(name, "password") for name, password, _ in scenario.COMPANY
                           if password]


def test_company_is_made_by_the_sandbox_in_one_call(lab) -> None:
    seeded = scenario.company(lab, now=NOW)
    assert seeded.backdated and seeded.keys == 7 and list(seeded.users) == NAMES
    assert _account(lab) == _expected()
    # No per-user AWS calls: the sandbox made the account itself.
    assert not set(_calls(lab, "CreateUser")) & set(NAMES)
    assert not set(_calls(lab, "CreateAccessKey")) & set(NAMES)
    # Seeding again gives the same account, not a second set of keys.
    scenario.company(lab, now=NOW)
    assert _account(lab) == _expected()


@pytest.mark.slow
def test_company_from_aws_calls_matches_the_one_call(lab, monkeypatch) -> None:
    """A sandbox from an older labkit has no `users` admin call: the AWS calls make the same."""
    admin = type(lab.sandbox).admin

    def old_sandbox(self, method, path, data=None, **kw):
        if path == "users":
            raise SandboxError("The sandbox refused users (404)")
        return admin(self, method, path, data, **kw)

    monkeypatch.setattr(type(lab.sandbox), "admin", old_sandbox)
    scenario.company(lab, now=NOW)
    assert set(_calls(lab, "CreateUser")) >= set(NAMES)  # this time by AWS calls
    assert _account(lab) == _expected()
    assert scenario.remove_company(lab)[:len(NAMES)] == [f"Deleted the user {n}." for n in NAMES]
    assert not set(_calls(lab, "DeleteUser")) ^ set(NAMES)


def test_remove_company_deletes_what_the_learner_added(lab) -> None:
    scenario.company(lab, now=NOW)
    iam = lab.client("iam")
    user = NAMES[0]
    iam.create_access_key(UserName=user)  # a second key
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}))
    iam.create_group(GroupName="auditors")
    iam.add_user_to_group(GroupName="auditors", UserName=user)
    iam.update_access_key(UserName=NAMES[1], Status="Inactive", AccessKeyId=iam.list_access_keys(
        UserName=NAMES[1])["AccessKeyMetadata"][0]["AccessKeyId"])
    steps = scenario.remove_company(lab)
    assert steps == [f"Deleted the user {n}." for n in NAMES] + \
        ["Removed the simulated root user key."]
    left = [u["UserName"] for u in iam.list_users()["Users"]]
    assert left == ["console-admin"]
    assert iam.get_group(GroupName="auditors")["Users"] == []
    assert not set(_calls(lab, "DeleteUser")) & set(NAMES)  # one admin call, no AWS calls
    # Nothing left to remove: said so, no error.
    assert scenario.remove_company(lab)[0] == f"There is no user {NAMES[0]}: nothing to delete."


def test_the_sandbox_admin_call_refuses_bad_data(lab) -> None:
    with pytest.raises(SandboxError, match="400"):
        lab.sandbox.admin("POST", "users", {"users": [{"keys": []}]})  # no name


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter with only this checkout on its path (what it imports is
    what `code` imports)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})


@pytest.mark.slow
def test_table_modules_import_pandas_only_when_a_table_is_made() -> None:
    code = ("import sys\n"
            "import labkit, labkit.course, labkit.reports, labkit.trail, labkit.scenario\n"
            "assert 'pandas' not in sys.modules, 'imported too early'\n"
            "import labkit.reports as r\n"
            "from labkit.sandbox.account_state import REPORT_HEADER\n"
            "r.credential_report_frame(REPORT_HEADER.encode() + b'\\n')\n"
            "assert 'pandas' in sys.modules\n"
            "print('ok')")
    done = _fresh_python(code)
    assert done.stdout.strip() == "ok", done.stderr[-800:]


def test_lesson_00_checks_widgets_are_installed_without_importing_them() -> None:
    code = ("import sys\n"
            "from types import SimpleNamespace as NS\n"
            "from labkit.readiness import readiness\n"
            "said = readiness(NS(identity=NS(arn='arn:aws:iam::123456789012:user/x')))\n"
            "assert 'ipywidgets' not in sys.modules, 'imported'\n"
            "print([v.ok for v in said][-1], said[-1].title)")
    done = _fresh_python(code)
    assert done.stdout.startswith("True ipywidgets 8."), done.stderr[-800:]


def test_company_after_an_advance_is_aged_from_the_sandboxs_time(lab) -> None:
    lab.advance_clock("91d")
    scenario.company(lab)  # no `now`: the sandbox's time, not the host's plus nothing
    keys = reports.key_inventory(lab.client("iam"))  # against the sandbox's answers' Date
    rows = keys[keys["user"].isin(NAMES)].sort_values(["user", "key_slot"])
    got = [(r.user, int(r.key_slot), bool(r.active), int(r.age_days),
            None if pd.isna(r.days_since_use) else int(r.days_since_use))
           for r in rows.itertuples()]
    assert got == [k for k in _expected() if k[1] != "password"]  # not 91 days too old
