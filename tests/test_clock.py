"""The sandbox's one clock: it only moves forward, and everything time-based follows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from labkit import reports, trail
from labkit.keys import AccessKey
from labkit.sandbox.clock import Clock, DurationError, parse_duration
from labkit.settings import LabError
from tests.stock_moto import stock_moto

ROOT = Path(__file__).resolve().parent.parent
USER = "temporary-iam-user"


@pytest.mark.parametrize("text,expected", [
    ("20m", timedelta(minutes=20)), ("2h", timedelta(hours=2)), ("91d", timedelta(days=91)),
    ("1d2h", timedelta(days=1, hours=2)), (" 30S ", timedelta(seconds=30)),
    (timedelta(minutes=5), timedelta(minutes=5)),
])
def test_durations_a_learner_types(text: str | timedelta, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text,says", [
    ("-5m", "only moves forward"), ("0m", "only moves forward"),
    (timedelta(minutes=-1), "only moves forward"), ("abc", "not a duration"),
    ("5", "not a duration"), ("1d-2h", "not a duration"), ("", "not a duration"),
    ("99999999d", "more than a century"),
])
def test_bad_durations_are_refused_in_plain_words(text: str | timedelta, says: str) -> None:
    with pytest.raises(DurationError) as err:
        parse_duration(text)
    assert says in str(err.value)


def test_the_clock_only_moves_forward_and_resets_to_real_time() -> None:
    clock = Clock()
    assert not clock.simulated
    before = clock.now()
    after = clock.advance("91d")
    assert after - before >= timedelta(days=91)
    assert clock.simulated and clock.offset == timedelta(days=91)
    with pytest.raises(DurationError):
        clock.advance("-1d")
    assert clock.offset == timedelta(days=91)  # a refused move changes nothing
    clock.reset()
    assert clock.offset == timedelta(0) and not clock.simulated
    assert clock.now().microsecond == 0  # AWS reports whole seconds


def _role_for(lab, user_arn: str) -> str:
    iam = lab.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName="lab-reader", AssumeRolePolicyDocument=json.dumps(trust),
                           MaxSessionDuration=3600)["Role"]["Arn"]


def _temporary(lab, role_arn: str, seconds: int = 900) -> tuple[AccessKey, datetime]:
    got = lab.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="lesson-07",
                                        DurationSeconds=seconds)["Credentials"]
    key = AccessKey(got["AccessKeyId"], got["SecretAccessKey"], session_token=got["SessionToken"])
    return key, got["Expiration"]


@pytest.mark.slow
def test_role_credentials_expire_when_the_clock_passes_their_expiration(lab) -> None:
    role = _role_for(lab, lab.identity.arn)
    key, expiration = _temporary(lab, role)
    assert expiration - lab.now() <= timedelta(minutes=15)
    sts = lab.client_for(key, "sts")
    assert ":assumed-role/lab-reader/lesson-07" in sts.get_caller_identity()["Arn"]
    lab.advance_clock("14m")  # not yet
    assert ":assumed-role/lab-reader/" in sts.get_caller_identity()["Arn"]
    lab.advance_clock("6m")  # 20 minutes after AssumeRole: past the 15-minute Expiration
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"
    assert err.value.response["Error"]["Message"] == \
        "The security token included in the request is expired"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:
        lab.client_for(key, "iam").list_users()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"
    fresh, _ = _temporary(lab, role)  # assume the role again: new credentials work
    assert ":assumed-role/lab-reader/" in lab.client_for(fresh, "sts").get_caller_identity()["Arn"]


def test_advance_clock_ages_the_account_and_keeps_the_hosts_calendar(lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName=USER)
    made = iam.create_access_key(UserName=USER)["AccessKey"]["CreateDate"]
    after = lab.advance_clock(timedelta(hours=2))
    # The sandbox's now stays the host's now; what happened before the move is 2 hours older.
    assert after.tzinfo is not None and abs(after - datetime.now(UTC)) < timedelta(minutes=5)
    listed = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["CreateDate"]
    assert made - listed == timedelta(hours=2)
    with pytest.raises(LabError) as err:
        lab.advance_clock("-2h")
    assert "only moves forward" in str(err.value)
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["CreateDate"] == listed


def test_outside_tools_see_no_future_dates_after_an_advance(lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName=USER)
    made = iam.create_access_key(UserName=USER)["AccessKey"]
    key = AccessKey(made["AccessKeyId"], made["SecretAccessKey"], USER)
    lab.client_for(key, "sts").get_caller_identity()
    role = _role_for(lab, lab.identity.arn)
    lab.advance_clock("91d")
    host_now = datetime.now(UTC) + timedelta(seconds=5)  # what Prowler compares against
    used = iam.get_access_key_last_used(AccessKeyId=key.access_key_id)
    answered = used["ResponseMetadata"]["HTTPHeaders"]["date"]
    from email.utils import parsedate_to_datetime

    assert parsedate_to_datetime(answered) <= host_now
    assert used["AccessKeyLastUsed"]["LastUsedDate"] <= host_now - timedelta(days=90)
    created = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["CreateDate"]
    assert created <= host_now - timedelta(days=90)
    assert iam.get_role(RoleName="lab-reader")["Role"]["CreateDate"] <= host_now
    _, fresh_expiration = _temporary(lab, role)
    assert fresh_expiration <= host_now + timedelta(minutes=15)
    iam.generate_credential_report()
    report = iam.get_credential_report()
    assert report["GeneratedTime"] <= host_now
    import csv
    import io

    row = next(r for r in csv.DictReader(io.StringIO(report["Content"].decode()))
               if r["user"] == USER)
    for column in ("user_creation_time", "access_key_1_last_rotated",
                   "access_key_1_last_used_date"):
        assert datetime.fromisoformat(row[column]) <= host_now - timedelta(days=90), column


def test_key_ages_and_last_use_follow_the_clock(lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName=USER)
    made = iam.create_access_key(UserName=USER)["AccessKey"]
    key = AccessKey(made["AccessKeyId"], made["SecretAccessKey"], USER)
    lab.client_for(key, "sts").get_caller_identity()  # used today
    lab.advance_clock("91d")
    inventory = reports.key_inventory(iam)  # no `now`: the sandbox's own time
    row = inventory[inventory["user"] == USER].iloc[0]
    assert row["age_days"] == 91
    assert row["days_since_use"] == 91
    assert abs(inventory.attrs["now"] - pd.Timestamp(lab.now())) < pd.Timedelta(minutes=1)
    created = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["CreateDate"]
    assert lab.now() - created >= timedelta(days=91)


def test_the_trail_is_stamped_with_the_sandbox_time(lab) -> None:
    lab.advance_clock("91d")
    later = lab.now()
    lab.client("iam").list_users()
    events = trail.events(lab, since=later - timedelta(seconds=5))
    listed = events[events["event"] == "ListUsers"]
    assert len(listed) == 1
    assert listed.iloc[0]["time"] >= later - timedelta(seconds=5)


def test_a_reset_sets_the_clock_back_to_real_time(lab) -> None:
    from labkit import sandbox

    lab.advance_clock("91d")
    sandbox.reset(lab.sandbox)
    assert lab.sandbox.admin("GET", "clock")["offset_s"] == 0


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LABKIT_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("LABKIT_SANDBOX_URL", None)
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=ROOT)


@pytest.mark.slow
def test_sandbox_advance_and_status_on_the_command_line(sandbox_home: Path) -> None:
    from labkit import sandbox

    sandbox.reset(sandbox.ensure(sandbox_home))
    moved = _cli("sandbox", "advance", "1d2h", home=sandbox_home)
    assert moved.returncode == 0, moved.stderr
    assert len(moved.stdout.strip().splitlines()) == 1
    assert "simulated" in moved.stdout and "1 day, 2 hours" in moved.stdout
    for bad, says in (("-5m", "only moves forward"), ("soon", "not a duration")):
        refused = _cli("sandbox", "advance", bad, home=sandbox_home)
        assert refused.returncode == 2 and says in refused.stderr
        assert "Traceback" not in refused.stderr
    status = _cli("sandbox", "status", home=sandbox_home)
    assert status.returncode == 0
    assert "time:" in status.stdout and "1 day, 2 hours have passed" in status.stdout
    assert _cli("sandbox", "reset", home=sandbox_home).returncode == 0
    assert "(real time)" in _cli("sandbox", "status", home=sandbox_home).stdout


@pytest.mark.slow
def test_advance_clock_on_a_stock_moto_server_says_there_is_no_clock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import session

    with stock_moto() as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
        monkeypatch.setattr(session, "_current", None)
        lab = session.connect()
        with pytest.raises(LabError) as err:
            lab.advance_clock("20m")
        assert "no clock to move" in str(err.value)
        assert abs(lab.now() - datetime.now(UTC)) < timedelta(minutes=5)


@pytest.mark.slow
def test_session_token_credentials_expire_when_the_clock_passes_their_expiration(lab) -> None:
    made = lab.client("iam").create_access_key(UserName="console-admin")["AccessKey"]
    user = AccessKey(made["AccessKeyId"], made["SecretAccessKey"])
    got = lab.client_for(user, "sts").get_session_token(DurationSeconds=900)["Credentials"]
    session = AccessKey(got["AccessKeyId"], got["SecretAccessKey"],
                        session_token=got["SessionToken"])
    sts = lab.client_for(session, "sts")
    assert sts.get_caller_identity()["Arn"].endswith(":user/console-admin")  # signs as the user
    lab.advance_clock("16m")  # past the 15-minute Expiration
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "ExpiredToken"
