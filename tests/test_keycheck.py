"""The key check itself (labkit.keycheck.verify_key), without any widget, against the sandbox.

Real AWS is stood in for by moto with labkit's fidelity fixes (tests/stock_moto.py). Neither moto
nor the sandbox ever answers GetCallerIdentity with the root user, so the root cases use a tiny
STS that does (conftest's `root_sts`): it stands in for AWS, not for the sandbox.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from labkit import checks, keycheck
from labkit.keycheck import misplaced_secret, scrub, verify_key
from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET
from labkit.lab import Identity, Lab
from labkit.profiles import read_profile
from labkit.settings import Settings
from labkit.verdicts import Verdict
from tests.stock_moto import stock_moto

USER = "temporary-iam-user"
ARN = f"arn:aws:iam::123456789012:user/{USER}"


@dataclass
class Pair:
    key_id: str
    secret: str


def new_key_id() -> str:
    return "AKIA" + uuid.uuid4().hex[:16].upper()


def new_secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))


@pytest.fixture
def pair(lab: Any) -> Pair:
    """The tutorial's user with one access key, in a fresh sandbox account."""
    iam = lab.client("iam")
    iam.create_user(UserName=USER)
    got = iam.create_access_key(UserName=USER)["AccessKey"]
    return Pair(got["AccessKeyId"], got["SecretAccessKey"])


def requests_seen(lab: Any) -> int:
    """How many AWS requests the sandbox has answered (its trail)."""
    return len(lab.sandbox.admin("GET", "trail?since=0")["events"])


def progress(home: Path, lesson: str) -> dict[str, bool]:
    return {name: got["ok"] for name, got in checks.read(home)[0]["lessons"][lesson].items()}


def assert_secret_kept(verdicts: list[Verdict], secret: str) -> None:
    """No verdict, in any form a notebook shows or saves, holds the secret."""
    for verdict in verdicts:
        for shown in (verdict.title, verdict.detail, repr(verdict), verdict._repr_html_()):
            assert secret not in shown


# ---------------------------------------------------------------- asking AWS (the sandbox)


def test_a_good_pair_works_and_records_its_checkpoint(lab: Any, pair: Pair,
                                                      sandbox_home: Path) -> None:
    verdicts = verify_key(lab, f"  {pair.key_id}\n", f"\t{pair.secret}\r\n", region=" us-east-1 ",
                          lesson="keycheck-good")
    assert [v.ok for v in verdicts] == [True]
    assert verdicts[0].title == (f"This key pair works: it belongs to {USER} ({ARN}) in account "
                                 "123456789012.")
    assert pair.key_id not in verdicts[0].detail and pair.key_id[-4:] in verdicts[0].detail
    assert "Warning" not in verdicts[0].detail
    assert_secret_kept(verdicts, pair.secret)
    assert progress(sandbox_home, "keycheck-good") == {"key_verified": True}


def test_a_wrong_secret_is_signature_does_not_match(lab: Any, pair: Pair,
                                                    sandbox_home: Path) -> None:
    wrong = pair.secret[:-1] + ("A" if pair.secret[-1] != "A" else "B")
    verdicts = verify_key(lab, pair.key_id, wrong, lesson="keycheck-wrong")
    assert len(verdicts) == 1 and not verdicts[0].ok
    assert verdicts[0].code == "SignatureDoesNotMatch"
    assert "wrong secret access key" in verdicts[0].title
    assert_secret_kept(verdicts, wrong)
    assert_secret_kept(verdicts, pair.secret)
    assert progress(sandbox_home, "keycheck-wrong") == {"key_verified": False}


def test_an_unknown_key_is_invalid_client_token_id(lab: Any, pair: Pair) -> None:
    unknown = new_secret()
    verdicts = verify_key(lab, new_key_id(), unknown)
    assert [(v.ok, v.code) for v in verdicts] == [(False, "InvalidClientTokenId")]
    assert "does not recognise this access key ID" in verdicts[0].title
    assert_secret_kept(verdicts, unknown)


@pytest.mark.parametrize(("swap", "says"), [
    (True, "Did you swap the two fields?"),
    (False, "40 characters long; this one has 39"),
])
def test_a_pair_that_cannot_be_right_is_refused_without_asking_aws(
        lab: Any, pair: Pair, sandbox_home: Path, swap: bool, says: str) -> None:
    before = requests_seen(lab)
    key_id, secret = (pair.secret, pair.key_id) if swap else (pair.key_id, pair.secret[:-1])
    verdicts = verify_key(lab, key_id, secret, profile="lab", lesson="keycheck-format")
    assert len(verdicts) == 1 and not verdicts[0].ok
    assert says in verdicts[0].title
    assert verdicts[0].detail == "Nothing was sent to AWS."
    assert requests_seen(lab) == before
    assert_secret_kept(verdicts, pair.secret)
    assert progress(sandbox_home, "keycheck-format") == {"profile_configured": False}
    # The same check with the pair right does reach AWS: the count above can change.
    assert verify_key(lab, pair.key_id, pair.secret)[0].ok
    assert requests_seen(lab) > before


@pytest.mark.parametrize(("region", "profile", "says"), [
    ("us-east-1a", "lab", "Availability Zone"),
    ("US-EAST-1", "lab", "lower case"),
    ("", "lab", "region is empty"),
    ("us-east-1", "my lab", "space"),
    ("us-east-1", "", "profile name is empty"),
])
def test_a_bad_region_or_profile_name_is_refused_without_asking_aws(
        lab: Any, pair: Pair, region: str, profile: str, says: str) -> None:
    before = requests_seen(lab)
    files = lab.credentials_file.read_bytes(), lab.config_file.read_bytes()
    verdicts = verify_key(lab, pair.key_id, pair.secret, region=region, profile=profile)
    assert [v.ok for v in verdicts] == [False]
    assert says in verdicts[0].title
    assert requests_seen(lab) == before
    assert (lab.credentials_file.read_bytes(), lab.config_file.read_bytes()) == files


def test_a_profile_is_saved_only_for_a_pair_that_works(lab: Any, pair: Pair,
                                                       sandbox_home: Path) -> None:
    files = {"credentials_file": lab.credentials_file, "config_file": lab.config_file}
    assert sandbox_home in lab.credentials_file.parents  # the sandbox's files, never ~/.aws
    refused = verify_key(lab, pair.key_id, pair.secret[::-1], profile="keycheck",
                         lesson="keycheck-profile")
    assert refused[-1].code == "SignatureDoesNotMatch"
    assert read_profile("keycheck", **files) is None
    assert progress(sandbox_home, "keycheck-profile") == {"key_verified": False,
                                                          "profile_configured": False}

    verdicts = verify_key(lab, pair.key_id, pair.secret, region="eu-west-1", profile="keycheck",
                          lesson="keycheck-profile")
    assert [v.ok for v in verdicts] == [True, True]
    assert verdicts[0].title.startswith("This key pair works")
    assert verdicts[1].title.startswith("Saved profile 'keycheck'")
    assert "--profile keycheck" in verdicts[1].detail
    stored = read_profile("keycheck", **files)
    assert stored is not None and stored.access_key_id == pair.key_id
    assert stored.reveal_secret() == pair.secret
    # as the AWS CLI reads it
    profiles = botocore.configloader.load_config(str(lab.config_file))["profiles"]
    assert profiles["keycheck"]["region"] == "eu-west-1"
    assert_secret_kept(verdicts, pair.secret)
    assert progress(sandbox_home, "keycheck-profile") == {"key_verified": True,
                                                          "profile_configured": True}


def test_a_profile_that_cannot_be_written_is_a_red_line_after_the_green_one(
        lab: Any, pair: Pair, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the aws folder should be\n")
    offline_files = Lab(settings=Settings(backend="sandbox", home=blocked), session=None,
                        identity=Identity("", "", ""), endpoint_url=lab.endpoint_url)
    verdicts = verify_key(offline_files, pair.key_id, pair.secret, profile="keycheck")
    assert [v.ok for v in verdicts] == [True, False]
    assert verdicts[1].title.startswith("Saving profile 'keycheck' failed")
    assert_secret_kept(verdicts, pair.secret)


# ---------------------------------------------------------------- real AWS (stand-ins)


def aws_lab(endpoint: str, home: Path) -> Lab:
    """The lab in real-AWS mode, its ~/.aws files in `home`, talking to `endpoint`."""
    aws = home / ".aws"
    cfg = Settings(backend="aws", home=home / ".labkit", credentials_file=aws / "credentials",
                   config_file=aws / "config")
    return Lab(settings=cfg, session=None, identity=Identity("", "", ""), endpoint_url=endpoint)


def test_in_real_aws_mode_a_good_pair_is_saved_with_a_backup_of_the_file(tmp_path: Path) -> None:
    import boto3
    import requests

    with stock_moto(managed_policies=False, aws_like=True) as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        iam.create_user(UserName=USER)
        got = iam.create_access_key(UserName=USER)["AccessKey"]
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=5,
                      headers={"Content-Type": "text/plain"})
        lab = aws_lab(url, tmp_path)
        (tmp_path / ".aws").mkdir()
        (tmp_path / ".aws" / "credentials").write_text(
            f"[work]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
            f"aws_secret_access_key = {EXAMPLE_SECRET}\n")
        wrong = verify_key(lab, got["AccessKeyId"], got["SecretAccessKey"][::-1], profile="lab")
        verdicts = verify_key(lab, got["AccessKeyId"], got["SecretAccessKey"], profile="lab")
    assert wrong[-1].code == "SignatureDoesNotMatch"
    assert [v.ok for v in verdicts] == [True, True], verdicts
    assert "Backups:" in verdicts[1].title
    assert list((tmp_path / ".aws").glob("credentials.labkit-backup-*"))
    stored = read_profile("lab", credentials_file=lab.credentials_file,
                          config_file=lab.config_file)
    assert stored is not None and stored.access_key_id == got["AccessKeyId"]
    assert "[work]" in lab.credentials_file.read_text()  # the learner's own profile stays
    assert_secret_kept(wrong + verdicts, got["SecretAccessKey"])


def test_root_keys_are_refused_on_real_aws_and_nothing_is_saved(root_sts: str,
                                                                tmp_path: Path) -> None:
    lab = aws_lab(root_sts, tmp_path)
    secret = new_secret()
    verdicts = verify_key(lab, new_key_id(), secret, profile="lab")
    assert verdicts == [keycheck.ROOT_REFUSED]
    assert "will not save or use them" in verdicts[0].title
    assert not (tmp_path / ".aws").exists()
    assert_secret_kept(verdicts, secret)


def test_root_keys_in_the_sandbox_work_with_a_warning(root_sts: str, tmp_path: Path) -> None:
    lab = Lab(settings=Settings(backend="sandbox", home=tmp_path / ".labkit"), session=None,
              identity=Identity("", "", ""), endpoint_url=root_sts)
    secret = new_secret()
    verdicts = verify_key(lab, new_key_id(), secret)
    assert [v.ok for v in verdicts] == [True]
    assert "arn:aws:iam::123456789012:root" in verdicts[0].title
    assert "Warning: these are the root user's keys" in verdicts[0].detail
    assert_secret_kept(verdicts, secret)


# ---------------------------------------------------------------- what the form relies on


@pytest.mark.parametrize(("text", "box", "says"), [
    (EXAMPLE_SECRET, "access key ID", "Did you swap the two fields?"),
    (f"{EXAMPLE_KEY_ID},{EXAMPLE_SECRET}", "access key ID", "belongs only in the Secret"),
    (f"{EXAMPLE_KEY_ID},{EXAMPLE_SECRET}", "region", "belongs only in the Secret"),
    (EXAMPLE_SECRET, "profile name", "belongs only in the Secret"),
])
def test_a_secret_typed_in_the_wrong_box_is_named(text: str, box: str, says: str) -> None:
    verdict = misplaced_secret(text, box)
    assert verdict is not None and not verdict.ok
    assert says in verdict.title
    assert f"The {box} box was emptied" in verdict.detail
    assert_secret_kept([verdict], EXAMPLE_SECRET)


@pytest.mark.parametrize("text", [EXAMPLE_KEY_ID, "us-east-1", "temporary-iam-user", "", None])
def test_what_belongs_in_a_box_is_not_a_misplaced_secret(text: str | None) -> None:
    assert misplaced_secret(text, "region") is None


def test_scrub_masks_every_copy_of_the_secret() -> None:
    said = Verdict(False, f"sending {EXAMPLE_SECRET} failed", f"again: {EXAMPLE_SECRET} ",
                   code="X")
    clean = scrub(said, f" {EXAMPLE_SECRET}\n")
    assert clean == Verdict(False, "sending ****************EKEY failed",
                            "again: ****************EKEY ", code="X")
    assert scrub(said, "") is said
