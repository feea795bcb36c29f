"""Checks that check exactly what was asked: each cheat a learner might try stays red, each other
correct way (boto3, the CLI in a cell, a plain boto3.Session(profile_name=...), after a kernel
restart) turns green, and work found done before this run says so instead of a plain ✅.

The lessons' own code cells run in an in-process IPython shell (`!aws ...` included), up to the
exercise; a "kernel restart" is a fresh namespace, AWS's remembered answers forgotten, and the
Setup cells run again."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from labkit import checks

pytestmark = pytest.mark.slow  # sandboxes, kernels or OS users: the full tier

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# Cells that need a browser (widgets) are left out; their work is not what these checks look at.
BROWSER_ONLY = ("widgets.", "lesson.reveal(", "form.", "lesson.quiz(")
EARLIER = "☑️ Done before this run of the lesson"


class Kernel:
    """A lesson's cells in an in-process IPython shell, with what they printed."""

    def __init__(self, stem: str) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.stem = stem
        self.shell = InteractiveShell.instance()
        cells = [c for c in nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4).cells
                 if c.cell_type == "code"]
        self.code = [c.source for c in cells]
        self.exercise = next(i for i, c in enumerate(cells)
                             if "exercise" in c.get("metadata", {}).get("tags", []))

    def run(self, source: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = self.shell.run_cell(source, store_history=False)
        result.raise_error()
        return out.getvalue()

    def until_exercise(self) -> None:
        """Run All up to the exercise cell (the learner has typed nothing yet)."""
        for source in self.code[: self.exercise]:
            if not any(mark in source for mark in BROWSER_ONLY):
                self.run(source)

    def check(self) -> str:
        return self.run(self.code[self.exercise + 1]).strip()

    def restart(self) -> None:
        """A kernel restart: nothing in memory survives; then the Setup cells run again."""
        from labkit.answers import LAST

        self.shell.reset(new_session=False)
        LAST.clear()
        for source in self.code[:2]:
            self.run(source)


@pytest.fixture
def kernel(lab) -> Iterator[type[Kernel]]:
    from IPython.core.interactiveshell import InteractiveShell

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # aws
    yield Kernel
    InteractiveShell.instance().set_custom_exc((), None)
    InteractiveShell.clear_instance()


def _progress(lab, lesson: str, name: str) -> dict:
    return checks.read(lab.settings.home)[0]["lessons"][lesson][name]


# ---------------------------------------------------------------- lesson 03: the description

def test_03_any_description_stays_red(kernel) -> None:
    k = kernel("03_create_access_keys")
    k.until_exercise()
    k.run('iam.tag_user(UserName="temporary-iam-user", Tags=[{"Key": response["AccessKey"]'
          '["AccessKeyId"], "Value": "x"}])')
    said = k.check()
    assert said.startswith("💡") and "exactly 'CLI key for the tutorial'" in said


def test_03_the_description_on_the_other_key_stays_red(kernel) -> None:
    k = kernel("03_create_access_keys")
    k.until_exercise()  # the first run: its key is saved (.csv), and kept by the next run
    first = k.run('print(response["AccessKey"]["AccessKeyId"])').strip()
    k.until_exercise()  # Run All again: Step 1 makes a second key
    k.run(f'iam.tag_user(UserName="temporary-iam-user", Tags=[{{"Key": "{first}", '
          '"Value": "CLI key for the tutorial"}])')
    said = k.check()
    assert said.startswith("💡") and "on your other key" in said


@pytest.mark.parametrize("way", ["boto3", "cli", "boto3_session"])
def test_03_the_description_any_way_turns_green(kernel, way: str) -> None:
    k = kernel("03_create_access_keys")
    k.until_exercise()
    k.run('key_id = response["AccessKey"]["AccessKeyId"]')
    k.run({
        "boto3": 'iam.tag_user(UserName="temporary-iam-user", Tags=[{"Key": key_id, '
                 '"Value": "CLI key for the tutorial"}])',
        "cli": '!aws iam tag-user --user-name temporary-iam-user --tags '
               'Key={key_id},Value="CLI key for the tutorial"',
        "boto3_session": 'import boto3\nboto3.Session(profile_name="console").client("iam")'
                         '.tag_user(UserName="temporary-iam-user", Tags=[{"Key": key_id, '
                         '"Value": "CLI key for the tutorial"}])',
    }[way])
    said = k.check()
    assert said.startswith("✅ Your key AKIA") and "CLI key for the tutorial" in said


def test_03_after_a_kernel_restart_and_on_a_second_run(kernel, lab) -> None:
    k = kernel("03_create_access_keys")
    k.until_exercise()
    k.run("saved = lesson.key.access_key_id")
    k.restart()  # `response` is gone; the key Step 2 saved is the exercise's key
    k.run('key_id = iam.list_access_keys(UserName="temporary-iam-user")'
          '["AccessKeyMetadata"][0]["AccessKeyId"]')
    k.run('iam.tag_user(UserName="temporary-iam-user", Tags=[{"Key": key_id, '
          '"Value": "CLI key for the tutorial"}])')
    assert k.check().startswith("✅ Your key")
    entry = _progress(lab, "03_create_access_keys", "exercise_key_description")
    assert entry["ok"] is True and entry["earlier"] is False
    k.restart()  # a second run with nothing typed
    said = k.check()
    assert said.startswith(EARLIER) and "CLI key for the tutorial" in said
    again = _progress(lab, "03_create_access_keys", "exercise_key_description")
    assert again["earlier"] is True and again["first"] == entry["first"]


def test_03_a_second_run_all_with_nothing_typed_says_earlier(kernel, lab) -> None:
    k = kernel("03_create_access_keys")
    k.until_exercise()
    k.run('iam.tag_user(UserName="temporary-iam-user", Tags=[{"Key": response["AccessKey"]'
          '["AccessKeyId"], "Value": "CLI key for the tutorial"}])')
    assert k.check().startswith("✅")
    k.until_exercise()  # Run All again: the described key is kept, Step 1 makes another
    said = k.check()
    assert said.startswith(EARLIER) and "your earlier key AKIA" in said and "✅" not in said
    assert _progress(lab, "03_create_access_keys", "exercise_key_description")["earlier"] is True


# ---------------------------------------------------------------- lesson 06: only the unused keys

def _company_keys(k: Kernel) -> dict[str, str]:
    return json.loads(k.run(
        "import json\nprint(json.dumps({u: [a['Status'] for a in iam.list_access_keys("
        "UserName=u)['AccessKeyMetadata']] for u in scenario.NAMES if u in "
        "{x['UserName'] for x in iam.list_users()['Users']}}))"))


def test_06_deleting_the_flagged_users_stays_red(kernel) -> None:
    k = kernel("06_monitor_key_age_and_usage")
    k.until_exercise()
    k.run("from labkit import iam as lab_iam\n"
          "for name in ('cara-analyst', 'fay-data-export'):\n"
          "    lab_iam.delete_user(lesson.lab.client('iam'), name)")
    said = k.check()
    assert said.startswith("💡") and "cara-analyst, fay-data-export were deleted" in said


def test_06_deactivating_every_company_key_stays_red(kernel) -> None:
    k = kernel("06_monitor_key_age_and_usage")
    k.until_exercise()
    k.run("for user in scenario.NAMES:\n"
          "    for key in iam.list_access_keys(UserName=user)['AccessKeyMetadata']:\n"
          "        iam.update_access_key(UserName=user, AccessKeyId=key['AccessKeyId'],"
          " Status='Inactive')")
    said = k.check()
    assert said.startswith("💡") and "Keys in use were deactivated" in said
    assert "ana-developer" in said and "ben-ci-deployer" in said


def test_06_deleting_an_unused_key_instead_stays_red(kernel) -> None:
    k = kernel("06_monitor_key_age_and_usage")
    k.until_exercise()
    k.run("for key in iam.list_access_keys(UserName='cara-analyst')['AccessKeyMetadata']:\n"
          "    iam.delete_access_key(UserName='cara-analyst', AccessKeyId=key['AccessKeyId'])")
    assert "Keys of cara-analyst were deleted" in k.check()


@pytest.mark.parametrize("way", ["boto3", "cli", "boto3_session"])
def test_06_only_the_unused_keys_any_way_turns_green(kernel, way: str) -> None:
    k = kernel("06_monitor_key_age_and_usage")
    k.until_exercise()
    assert k.check().startswith("💡 Not done yet. Still active and unused for 45+ days: the keys "
                                "of cara-analyst, fay-data-export.")
    if way == "boto3":
        k.run("for user in set(found.query(\"check == 'unused_key'\")['user']) - {'<root_account>'}:"
              "\n    for key in iam.list_access_keys(UserName=user)['AccessKeyMetadata']:\n"
              "        iam.update_access_key(UserName=user, AccessKeyId=key['AccessKeyId'],"
              " Status='Inactive')")
    elif way == "cli":
        for user in ("cara-analyst", "fay-data-export"):
            k.run(f"key_id = iam.list_access_keys(UserName='{user}')['AccessKeyMetadata'][0]"
                  "['AccessKeyId']")
            k.run(f"!aws iam update-access-key --user-name {user} --access-key-id {{key_id}} "
                  "--status Inactive")
    else:
        k.run("import boto3\nadmin = boto3.Session(profile_name='console').client('iam')\n"
              "for user in ('cara-analyst', 'fay-data-export'):\n"
              "    for key in admin.list_access_keys(UserName=user)['AccessKeyMetadata']:\n"
              "        admin.update_access_key(UserName=user, AccessKeyId=key['AccessKeyId'],"
              " Status='Inactive')")
    said = k.check()
    assert said.startswith("✅ Every company key unused for 45 days or more is inactive")
    states = _company_keys(k)
    assert states["ana-developer"] == ["Active"] and states["cara-analyst"] == ["Inactive"]


# ---------------------------------------------------------------- lesson 07: the exercise's session

def test_07_signing_with_the_lessons_earlier_session_stays_red(kernel) -> None:
    k = kernel("07_prefer_iam_roles")
    k.until_exercise()
    k.run('mine = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="exercise-07", '
          'DurationSeconds=900)')
    k.run("role_sts.get_caller_identity()['Arn']")  # the lesson's own session, lesson-07
    said = k.check()
    assert said.startswith("💡") and "signed by the session 'lesson-07', not 'exercise-07'" in said


def test_07_only_assuming_stays_red_and_nothing_typed_is_not_done(kernel) -> None:
    k = kernel("07_prefer_iam_roles")
    k.until_exercise()
    assert k.check().startswith("💡 Not done yet. AWS has not seen an AssumeRole")
    k.run('mine = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="exercise-07", '
          'DurationSeconds=900)')
    assert "now ask who you are" in k.check()


def _role_profile(lab, account: str) -> None:
    """A CLI profile that assumes the role as the exercise's session (the CLI and boto3 both
    read it): role_arn, source_profile, role_session_name."""
    with open(lab.config_file, "a") as config:
        config.write(f"\n[profile exercise-07]\nrole_arn = arn:aws:iam::{account}:role/"
                     "temporary-iam-role\nsource_profile = temporary-iam-user\n"
                     "role_session_name = exercise-07\nregion = us-east-1\n")


@pytest.mark.parametrize("way", ["boto3", "cli", "boto3_session"])
def test_07_the_exercise_session_any_way_turns_green(kernel, lab, way: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI caches assumed-role credentials in ~/.aws/cli/cache: a fresh one for this account.
    monkeypatch.setenv("HOME", str(tmp_path))
    k = kernel("07_prefer_iam_roles")
    k.until_exercise()
    if way == "boto3":
        k.run('mine = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="exercise-07", '
              'DurationSeconds=900)\nlesson.client("sts", credentials=mine["Credentials"])'
              '.get_caller_identity()["Arn"]')
    else:
        _role_profile(lab, lab.identity.arn.split(":")[4])
        k.run("!aws sts get-caller-identity --profile exercise-07" if way == "cli" else
              'import boto3\nboto3.Session(profile_name="exercise-07").client("sts")'
              '.get_caller_identity()["Arn"]')
    said = k.check()
    assert said == "✅ You signed as the assumed role temporary-iam-role, session exercise-07."


def test_07_a_second_run_with_nothing_typed_says_earlier(kernel, lab) -> None:
    k = kernel("07_prefer_iam_roles")
    k.until_exercise()
    k.run('mine = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="exercise-07", '
          'DurationSeconds=900)\nlesson.client("sts", credentials=mine["Credentials"])'
          '.get_caller_identity()["Arn"]')
    assert k.check().startswith("✅")
    k.until_exercise()
    assert k.check().startswith(EARLIER)
    assert _progress(lab, "07_prefer_iam_roles", "exercise_assumed_role_arn")["earlier"] is True


# ---------------------------------------------------------------- lesson 05: after a restart

def test_05_rotation_is_recognised_after_a_kernel_restart(kernel, lab) -> None:
    k = kernel("05_rotate_access_keys")
    k.until_exercise()
    step2 = k.run("print(new_key_id)").strip()
    k.restart()  # Setup again: `new_key_id` is gone, the profile already holds the new key
    assert "new_key_id" not in k.shell.user_ns
    verdict = k.run('print(repr(lesson.verify("rotated")))')
    assert verdict.startswith("✅ Rotation done before this kernel started"), verdict
    assert k.run('print(repr(lesson.verify("new_key_works")))').startswith("✅")
    said = k.check()  # nothing typed yet
    assert said.startswith("💡") and f"only the key from Step 2 ({step2[:4]}" in said
    k.run('old = iam.list_access_keys(UserName="temporary-iam-user")["AccessKeyMetadata"][0]'
          '["AccessKeyId"]\nnewer = iam.create_access_key(UserName="temporary-iam-user")\n'
          'lesson.switch_profiles(newer)\n'
          'iam.delete_access_key(UserName="temporary-iam-user", AccessKeyId=old)')
    assert k.check().startswith("✅ Rotated again")
    k.restart()  # done, then restarted: found done before this kernel
    assert k.check().startswith(EARLIER)


def test_05_rotation_with_a_plain_session_and_the_cli_turns_green(kernel) -> None:
    """The keys made with a plain boto3.Session(profile_name=...), the profile switched with
    `aws configure set`, the old key retired with the CLI: the checkpoints see it all."""
    k = kernel("05_rotate_access_keys")
    k.run(k.code[0])
    k.run(k.code[1])
    k.run('import boto3\nadmin = boto3.Session(profile_name="console").client("iam")\n'
          'old_id = admin.list_access_keys(UserName="temporary-iam-user")["AccessKeyMetadata"]'
          '[0]["AccessKeyId"]\n'
          'made = admin.create_access_key(UserName="temporary-iam-user")["AccessKey"]\n'
          'new_id, new_secret = made["AccessKeyId"], made["SecretAccessKey"]')
    k.run("!aws configure set aws_access_key_id {new_id} --profile temporary-iam-user\n"
          "!aws configure set aws_secret_access_key {new_secret} --profile temporary-iam-user")
    assert k.run('print(repr(lesson.verify("new_key_works")))').startswith("✅")
    k.run("!aws iam update-access-key --user-name temporary-iam-user --access-key-id {old_id} "
          "--status Inactive\n"
          "!aws iam delete-access-key --user-name temporary-iam-user --access-key-id {old_id}")
    assert k.run('print(repr(lesson.verify("rotated")))').startswith("✅ Rotation done: one")


def test_05_a_second_key_alone_is_not_a_rotation(kernel) -> None:
    k = kernel("05_rotate_access_keys")
    k.run(k.code[0])
    k.run(k.code[1])
    k.run('new = iam.create_access_key(UserName="temporary-iam-user")')
    verdict = k.run('print(repr(lesson.verify("rotated")))')
    assert verdict.startswith("❌ Your profile still uses the key this lesson started with")
    k.run("lesson.switch_profiles(new)")
    verdict = k.run('print(repr(lesson.verify("rotated")))')
    assert verdict.startswith("❌ The user still has 2 keys")


# ---------------------------------------------------------------- lessons 01 and 04: earlier runs

@pytest.mark.parametrize("stem, solution, name", [
    ("01_root_and_iam_users", "iam.update_account_password_policy(MinimumPasswordLength=14)",
     "exercise_password_policy"),
    ("04_configure_the_cli", "!aws configure set output table --profile temporary-iam-user",
     "exercise_output_table"),
])
def test_a_second_run_with_nothing_typed_says_done_earlier(kernel, lab, stem: str,
                                                          solution: str, name: str) -> None:
    k = kernel(stem)
    k.until_exercise()
    assert k.check().startswith("💡")
    k.run(solution)
    assert k.check().startswith("✅")
    first = _progress(lab, stem, name)
    assert first["earlier"] is False
    k.until_exercise()  # Run All again, the placeholder left as it is
    said = k.check()
    assert said.startswith(EARLIER) and "✅" not in said
    again = _progress(lab, stem, name)
    assert again["ok"] is True and again["earlier"] is True and again["first"] == first["first"]


def test_01_redoing_it_in_this_run_is_this_runs_work(kernel) -> None:
    k = kernel("01_root_and_iam_users")
    k.until_exercise()
    k.run("iam.update_account_password_policy(MinimumPasswordLength=16)")
    k.until_exercise()
    k.run("iam.update_account_password_policy(MinimumPasswordLength=14)")
    assert k.check().startswith("✅ The account's passwords must be at least 14")


def test_01_a_shorter_policy_stays_red(kernel) -> None:
    k = kernel("01_root_and_iam_users")
    k.until_exercise()
    k.run("iam.update_account_password_policy(MinimumPasswordLength=8)")
    assert "asks for 8 characters" in k.check()
