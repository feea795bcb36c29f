"""Lesson 10, the capstone: each step's check is red for a cheaper shortcut and green for a
correct way (boto3, the real AWS CLI), says "done in an earlier run" after a restart, and every
step reaches the class progress view."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from labkit import course, incident, trail
from tests.test_profiles import aws_cli

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

LESSON = "10_respond_to_a_leaked_key"
CI, LEE, INTRUDER = incident.CI_USER, incident.COLLEAGUE, incident.INTRUDER_USER


def said(lesson: course.Lesson, step: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What the step's check cell prints."""
    capsys.readouterr()
    lesson.exercise(step)
    return capsys.readouterr().out


def green(lesson: course.Lesson, step: str, capsys: pytest.CaptureFixture[str]) -> bool:
    return said(lesson, step, capsys).startswith("✅")


def aws(*args: str) -> str:
    """The real AWS CLI, with the lab's settings (connect() exported them), as in a terminal;
    IAM commands as the administrator (`--profile console`), as the lesson's toolbox says."""
    admin = ["--profile", "console"] if args[0] == "iam" else []
    done = subprocess.run([aws_cli(), *args, *admin], env=dict(os.environ), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def lesson(lab) -> course.Lesson:
    return course.start(LESSON)


def _rotate(lesson: course.Lesson) -> None:
    """The lesson's solution to Step 1, in boto3."""
    made = lesson.client("iam").create_access_key(UserName=CI)
    lesson.switch_profiles(made, profile=CI)


def _revoke(lesson: course.Lesson) -> None:
    iam = lesson.client("iam")
    leaked = lesson.incident.leaked_key_id
    iam.update_access_key(UserName=CI, AccessKeyId=leaked, Status="Inactive")
    iam.delete_access_key(UserName=CI, AccessKeyId=leaked)


def _undo_intruder_user(lesson: course.Lesson) -> None:
    iam = lesson.client("iam")
    for key in iam.list_access_keys(UserName=INTRUDER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=INTRUDER, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=INTRUDER,
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.delete_user(UserName=INTRUDER)


def test_the_setup_seeds_the_leak_and_what_the_intruder_did(lesson: course.Lesson) -> None:
    found = lesson.incident
    assert found is not None and found.leaked_key_id in (found.repo / "deploy.sh").read_text()
    assert lesson.verify("ci_works").ok
    done = trail.events(lesson.lab, user=CI)
    by_intruder = done[done["source"] == incident.INTRUDER_AGENT]
    assert list(by_intruder["event"]) == ["GetCallerIdentity", "ListUsers", "CreateUser",
                                          "AttachUserPolicy", "CreateAccessKey",
                                          "CreateAccessKey"]
    assert list(by_intruder["resource"].dropna()) == [INTRUDER, INTRUDER, INTRUDER, LEE]
    # Lee's own key is months older than the one the intruder made: the learner can tell them.
    lee = {k["AccessKeyId"]: k["CreateDate"]
           for k in lesson.client("iam").list_access_keys(UserName=LEE)["AccessKeyMetadata"]}
    assert (lee[found.planted_key_id] - lee[found.colleague_key_id]).days >= 100
    # The scratch repository holds a live key: readable by the learner only, folders included.
    for path in [incident.folder(lesson.lab), *incident.folder(lesson.lab).rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path
    # The record beside the repository holds key IDs only, never the secret.
    record = (incident.folder(lesson.lab) / incident.RECORD).read_text()
    assert "secret" not in record.lower() and found.leaked_key_id in record


def test_run_all_with_nothing_typed_leaves_every_step_red(lesson: course.Lesson,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    for step in ("rotate", "revoke", "undo"):
        out = said(lesson, step, capsys)
        assert out.startswith("💡 Not done yet."), out


# ---------------------------------------------------------------- Step 1: rotate

def test_rotate_red_when_the_key_is_made_but_the_pipeline_still_uses_the_leaked_one(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    lesson.client("iam").create_access_key(UserName=CI)
    assert "still signs with the leaked key" in said(lesson, "rotate", capsys)


def test_rotate_red_when_the_pipeline_is_switched_to_another_identity(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    """The cheaper way: give the pipeline the administrator's own key."""
    lesson.switch_profiles(lesson.lab.console_key, profile=CI)
    out = said(lesson, "rotate", capsys)
    assert "not as ci-deployer" in out and not out.startswith("✅")


def test_rotate_red_when_the_leaked_key_is_simply_deactivated(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    lesson.client("iam").update_access_key(UserName=CI, AccessKeyId=lesson.incident.leaked_key_id,
                                           Status="Inactive")
    assert "The pipeline is down" in said(lesson, "rotate", capsys)
    assert not lesson.verify("ci_works").ok


def test_rotate_red_when_the_pipelines_user_is_deleted(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    from labkit import iam as lab_iam

    lab_iam.delete_user(lesson.lab.client("iam"), CI)
    assert "ci-deployer is gone" in said(lesson, "rotate", capsys)


def test_rotate_green_with_boto3(lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    _rotate(lesson)
    assert green(lesson, "rotate", capsys)


def test_rotate_green_with_the_cli(lesson: course.Lesson,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """`aws iam create-access-key`, then `aws configure set ... --profile ci-deployer`."""
    made = json.loads(aws("iam", "create-access-key", "--user-name", CI, "--output", "json"))
    key = made["AccessKey"]
    aws("configure", "set", "aws_access_key_id", key["AccessKeyId"], "--profile", CI)
    aws("configure", "set", "aws_secret_access_key", key["SecretAccessKey"], "--profile", CI)
    assert green(lesson, "rotate", capsys)


# ---------------------------------------------------------------- Step 2: revoke

def test_revoke_red_before_the_pipeline_has_a_new_key(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    """Deleting the leaked key first stops the attacker, and the pipeline with it."""
    _revoke(lesson)
    out = said(lesson, "revoke", capsys)
    assert "The pipeline is down" in out


def test_revoke_red_while_the_leaked_key_is_only_inactive(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    _rotate(lesson)
    lesson.client("iam").update_access_key(UserName=CI, AccessKeyId=lesson.incident.leaked_key_id,
                                           Status="Inactive")
    assert "now delete it" in said(lesson, "revoke", capsys)


def test_revoke_red_when_every_key_of_the_pipeline_goes(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    _rotate(lesson)
    iam = lesson.client("iam")
    for key in iam.list_access_keys(UserName=CI)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=CI, AccessKeyId=key["AccessKeyId"])
    assert "The pipeline is down" in said(lesson, "revoke", capsys)


def test_revoke_green_with_boto3_and_with_the_cli(lab, capsys: pytest.CaptureFixture[str]) -> None:
    lesson = course.start(LESSON)
    _rotate(lesson)
    _revoke(lesson)
    assert green(lesson, "revoke", capsys)
    lesson.start_over()
    _rotate(lesson)
    leaked = lesson.incident.leaked_key_id
    aws("iam", "update-access-key", "--user-name", CI, "--access-key-id", leaked,
        "--status", "Inactive")
    aws("iam", "delete-access-key", "--user-name", CI, "--access-key-id", leaked)
    assert green(lesson, "revoke", capsys)


# ---------------------------------------------------------------- Step 3: undo

def test_undo_red_when_only_the_intruders_user_goes(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    """The shortcut of a responder who did not read the whole trail: lee's extra key stays."""
    _rotate(lesson)
    _revoke(lesson)
    _undo_intruder_user(lesson)
    out = said(lesson, "undo", capsys)
    assert "1 thing(s) the leaked key made still exist" in out


def test_undo_red_when_the_colleague_is_deleted_too(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    from labkit import iam as lab_iam

    _undo_intruder_user(lesson)
    lab_iam.delete_user(lesson.lab.client("iam"), LEE)
    assert "lee-analyst is gone" in said(lesson, "undo", capsys)


def test_undo_red_when_every_key_of_the_colleague_goes(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    _undo_intruder_user(lesson)
    iam = lesson.client("iam")
    for key in iam.list_access_keys(UserName=LEE)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=LEE, AccessKeyId=key["AccessKeyId"])
    assert "she uses it every day" in said(lesson, "undo", capsys)


def test_undo_red_while_the_planted_key_is_only_inactive(
        lesson: course.Lesson, capsys: pytest.CaptureFixture[str]) -> None:
    _undo_intruder_user(lesson)
    lesson.client("iam").update_access_key(UserName=LEE, AccessKeyId=lesson.incident.planted_key_id,
                                           Status="Inactive")
    assert "1 thing(s)" in said(lesson, "undo", capsys)


def test_undo_green_with_the_cli(lesson: course.Lesson,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    found = lesson.incident
    for key in json.loads(aws("iam", "list-access-keys", "--user-name", INTRUDER, "--output",
                              "json"))["AccessKeyMetadata"]:
        aws("iam", "delete-access-key", "--user-name", INTRUDER, "--access-key-id",
            key["AccessKeyId"])
    aws("iam", "detach-user-policy", "--user-name", INTRUDER, "--policy-arn",
        "arn:aws:iam::aws:policy/AdministratorAccess")
    aws("iam", "delete-user", "--user-name", INTRUDER)
    aws("iam", "delete-access-key", "--user-name", LEE, "--access-key-id", found.planted_key_id)
    assert green(lesson, "undo", capsys)


# ---------------------------------------------------------------- across runs

def test_after_a_restart_the_incident_continues_and_says_done_earlier(
        lab, capsys: pytest.CaptureFixture[str]) -> None:
    first = course.start(LESSON)
    _rotate(first)
    assert green(first, "rotate", capsys)
    again = course.start(LESSON)  # a kernel restart, then the Setup cells again
    assert any("Continuing the incident" in line for line in again.caught_up)
    assert again.incident == first.incident
    out = said(again, "rotate", capsys)
    assert out.startswith("☑️ Done before this run") and "pipeline signs as" in out, out
    assert not green(again, "revoke", capsys)  # still to do, in this run


def test_each_step_is_recorded_for_the_progress_view(lab, sandbox_home,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from labkit import checks, progress

    lesson = course.start(LESSON)
    assert lesson.verify("ci_works").ok
    _rotate(lesson)
    _revoke(lesson)
    _undo_intruder_user(lesson)
    lesson.client("iam").delete_access_key(UserName=LEE,
                                           AccessKeyId=lesson.incident.planted_key_id)
    for step in ("rotate", "revoke", "undo"):
        assert green(lesson, step, capsys)
    recorded: dict[str, Any] = checks.read(sandbox_home)[0]["lessons"][LESSON]
    assert {f"exercise_{s}" for s in ("rotate", "revoke", "undo")} <= set(recorded)
    assert all(recorded[f"exercise_{s}"]["ok"] for s in ("rotate", "revoke", "undo"))
    # The instructor's view: `python -m labkit progress` has a column for the capstone.
    table, _ = progress.class_progress([sandbox_home])
    assert table[progress.column(LESSON)].iloc[0] == "4/4"  # ci_works and the three steps


def test_the_clean_up_leaves_nothing_of_the_incident(lesson: course.Lesson) -> None:
    lesson.end_incident()
    iam = lesson.client("iam")
    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert not names & set(incident.USERS)
    assert not incident.folder(lesson.lab).exists()
    assert lesson.profile_key(CI) is None
