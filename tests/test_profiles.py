"""Saving a profile changes only that profile, safely, in a format the AWS CLI reads."""

from __future__ import annotations

import os
import random
import shutil
import string
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from labkit import profiles
from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, AccessKey, KeyFormatError
from labkit.profiles import (
    ProfileFileError,
    ProfileNameError,
    RegionError,
    configure_profile,
    read_profile,
    read_region,
    remove_profile,
    validate_profile_name,
    validate_region,
)

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
NOW = datetime(2024, 5, 6, 7, 8, 9)
_rng = random.Random()


def fake_key(prefix: str = "AKIA", token: str | None = None) -> AccessKey:
    key_id = prefix + "".join(_rng.choices(string.ascii_uppercase + string.digits, k=16))
    secret = "".join(_rng.choices(string.ascii_letters + string.digits + "/+", k=36)) + "Ab9+"
    return AccessKey(key_id, secret, session_token=token)


class Files:
    def __init__(self, root: Path) -> None:
        self.folder = root / ".aws"
        self.credentials = self.folder / "credentials"
        self.config = self.folder / "config"

    @property
    def kw(self) -> dict[str, Path]:
        return {"credentials_file": self.credentials, "config_file": self.config}

    def snapshot(self) -> tuple[bytes | None, bytes | None]:
        return tuple(
            p.read_bytes() if p.exists() else None for p in (self.credentials, self.config)
        )


@pytest.fixture
def personal() -> AccessKey:
    return fake_key()


@pytest.fixture
def files(tmp_path: Path, personal: AccessKey) -> Files:
    """A learner's existing files: other profiles, comments, a nested setting."""
    f = Files(tmp_path)
    f.folder.mkdir(mode=0o755)
    f.credentials.write_text(
        "# Work laptop keys -- do not share\n"
        "[default]\n"
        f"aws_access_key_id = {EXAMPLE_KEY_ID}\n"
        f"aws_secret_access_key = {EXAMPLE_SECRET}\n"
        "\n"
        "; personal account\n"
        "[personal]\n"
        f"aws_access_key_id={personal.access_key_id}\n"
        f"aws_secret_access_key={personal.reveal_secret()}\n"
    )
    f.config.write_text(
        "[default]\n"
        "region = eu-west-1\n"
        "output = table\n"
        "\n"
        "# the single sign-on one\n"
        "[profile work]\n"
        "sso_session = corp\n"
        "sso_account_id = 123456789012\n"
        "s3 =\n"
        "    max_concurrent_requests = 20\n"
        "[sso-session corp]\n"
        "sso_start_url = https://example.awsapps.com/start\n"
    )
    f.credentials.chmod(0o600)
    f.config.chmod(0o600)
    return f


def lab_lines(key: AccessKey) -> str:
    return (
        "[lab]\n"
        f"aws_access_key_id = {key.access_key_id}\n"
        f"aws_secret_access_key = {key.reveal_secret()}\n"
    )


# ---------------------------------------------------------------- writing


def test_new_profile_is_appended_and_everything_else_kept(files: Files) -> None:
    before_cred, before_conf = files.snapshot()
    key = fake_key()
    result = configure_profile("lab", key, **files.kw)
    assert result.changed and result.profile == "lab" and result.backups == []
    assert files.credentials.read_bytes() == before_cred + lab_lines(key).encode()
    assert files.config.read_bytes() == before_conf + b"[profile lab]\nregion = us-east-1\n"


def test_same_format_as_aws_configure_set(tmp_path: Path) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    key = fake_key()
    ours, theirs = Files(tmp_path / "ours"), Files(tmp_path / "theirs")
    configure_profile("lab", key, output="json", **ours.kw)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(theirs.credentials),
        "AWS_CONFIG_FILE": str(theirs.config),
    }
    for setting, value in (
        ("aws_access_key_id", key.access_key_id),
        ("aws_secret_access_key", key.reveal_secret()),
        ("region", "us-east-1"),
        ("output", "json"),
    ):
        subprocess.run(
            [aws, "configure", "set", setting, value, "--profile", "lab"], env=env, check=True
        )
    assert ours.snapshot() == theirs.snapshot()


def test_existing_profile_is_edited_in_place(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    old = fake_key("ASIA", token="FwoGZXIvYXdzEXAMPLEtoken")
    head = "[default]\naws_access_key_id = " + EXAMPLE_KEY_ID + "\n\n"
    tail = "# next one is for the demo\n[demo]\naws_access_key_id = " + EXAMPLE_KEY_ID + "\n"
    f.credentials.write_text(
        head
        + "[lab]\n"
        + f"aws_access_key_id = {old.access_key_id}\n"
        + "# rotated every 90 days\n"
        + f"aws_secret_access_key = {old.reveal_secret()}\n"
        + f"aws_session_token = {old.session_token}\n"
        + "\n"
        + tail
    )
    new = fake_key()
    configure_profile("lab", new, **f.kw)
    assert f.credentials.read_text() == (
        head
        + "[lab]\n"
        + f"aws_access_key_id = {new.access_key_id}\n"
        + "# rotated every 90 days\n"
        + f"aws_secret_access_key = {new.reveal_secret()}\n"
        + "\n"
        + tail
    )


def test_default_profile_uses_default_section_and_keeps_output(files: Files) -> None:
    configure_profile("default", fake_key(), region="us-east-1", **files.kw)
    text = files.config.read_text()
    assert text.startswith("[default]\nregion = us-east-1\noutput = table\n\n# the single")
    assert "[profile default]" not in text


def test_session_token_and_extra_config(tmp_path: Path) -> None:
    f = Files(tmp_path)
    key = fake_key("ASIA", token="IQoJb3JpZ2luX2VjEXAMPLE/token+value==")
    configure_profile(
        "sandbox",
        key,
        output="json",
        extra_config={"endpoint_url": "http://127.0.0.1:5000"},
        **f.kw,
    )
    assert f.credentials.read_text().endswith(f"aws_session_token = {key.session_token}\n")
    assert f.config.read_text() == (
        "[profile sandbox]\nregion = us-east-1\noutput = json\n"
        "endpoint_url = http://127.0.0.1:5000\n"
    )
    back = read_profile("sandbox", **f.kw)
    assert back is not None and back.session_token == key.session_token


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    original = b"[default]\r\nregion = eu-west-1\r\n"
    f.config.write_bytes(original)
    configure_profile("lab", fake_key(), **f.kw)
    assert f.config.read_bytes() == original + b"[profile lab]\r\nregion = us-east-1\r\n"


@posix_only
def test_files_are_0600_and_new_folder_0700(tmp_path: Path) -> None:
    f = Files(tmp_path / "home")
    old_umask = os.umask(0o022)
    try:
        configure_profile("lab", fake_key(), **f.kw)
    finally:
        os.umask(old_umask)
    assert f.folder.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    assert f.credentials.stat().st_mode & 0o777 == 0o600
    assert f.config.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in f.folder.iterdir()) == ["config", "credentials"]  # no temp files


@posix_only
def test_loose_file_is_tightened_but_existing_folder_is_left(files: Files) -> None:
    files.credentials.chmod(0o644)
    configure_profile("lab", fake_key(), **files.kw)
    assert files.credentials.stat().st_mode & 0o777 == 0o600
    assert files.folder.stat().st_mode & 0o777 == 0o755


def test_running_twice_changes_nothing(files: Files) -> None:
    key = fake_key()
    configure_profile("lab", key, region="eu-west-1", **files.kw)
    inodes = [files.credentials.stat().st_ino, files.config.stat().st_ino]
    before = files.snapshot()
    again = configure_profile("lab", key, region="eu-west-1", backup=True, **files.kw)
    assert not again.changed and "unchanged" in again.message and again.backups == []
    assert files.snapshot() == before
    assert [files.credentials.stat().st_ino, files.config.stat().st_ino] == inodes


@posix_only
def test_backup_keeps_the_old_files(files: Files) -> None:
    before_cred, before_conf = files.snapshot()
    result = configure_profile("lab", fake_key(), backup=True, now=NOW, **files.kw)
    cred_backup = files.folder / "credentials.labkit-backup-20240506T070809"
    conf_backup = files.folder / "config.labkit-backup-20240506T070809"
    assert result.backups == [cred_backup, conf_backup]
    assert cred_backup.read_bytes() == before_cred and conf_backup.read_bytes() == before_conf
    assert cred_backup.stat().st_mode & 0o777 == 0o600
    assert str(cred_backup) in result.message
    second = remove_profile("lab", backup=True, now=NOW, keep_backups=True, **files.kw)
    assert second.backups[0].name == "credentials.labkit-backup-20240506T070809-2"


def test_symlinked_credentials_file_stays_a_symlink(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    real = tmp_path / "dotfiles" / "aws-credentials"
    real.parent.mkdir()
    real.write_text("[default]\nregion = us-east-1\n")
    f.credentials.symlink_to(real)
    configure_profile("lab", fake_key(), **f.kw)
    assert f.credentials.is_symlink() and "[lab]" in real.read_text()


def test_failed_read_back_puts_old_files_back(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files.snapshot()
    real_write = profiles.write_private_bytes
    calls = []

    def lossy_write(path: Path, data: bytes) -> None:
        calls.append(path)
        # The first write loses its last line, as a full disk or a sync tool might.
        real_write(path, data.rsplit(b"\n", 2)[0] + b"\n" if len(calls) == 1 else data)

    monkeypatch.setattr(profiles, "write_private_bytes", lossy_write)
    with pytest.raises(ProfileFileError, match="did not read back as written"):
        configure_profile("lab", fake_key(), **files.kw)
    assert files.snapshot() == before


def test_unreadable_file_is_refused_without_echoing_it(files: Files) -> None:
    leaked = fake_key()
    files.credentials.write_text(f"[oops]\n{leaked.reveal_secret()}\n")
    before = files.snapshot()
    with pytest.raises(ProfileFileError, match=r"line 2") as err:
        configure_profile("lab", fake_key(), **files.kw)
    assert leaked.reveal_secret() not in str(err.value)
    assert err.value.__suppress_context__
    assert files.snapshot() == before


# ---------------------------------------------------------------- removing and reading


def test_remove_restores_the_files_exactly(files: Files) -> None:
    before = files.snapshot()
    configure_profile("lab", fake_key(), output="text", **files.kw)
    result = remove_profile("lab", **files.kw)
    assert result.changed and files.snapshot() == before


def test_remove_takes_out_exactly_one_profile(files: Files) -> None:
    result = remove_profile("personal", **files.kw)
    assert result.changed
    assert files.credentials.read_text() == (
        "# Work laptop keys -- do not share\n"
        "[default]\n"
        f"aws_access_key_id = {EXAMPLE_KEY_ID}\n"
        f"aws_secret_access_key = {EXAMPLE_SECRET}\n"
        "\n"
        "; personal account\n"
    )
    before = files.snapshot()
    remove_profile("work", **files.kw)
    cred, conf = files.snapshot()
    assert cred == before[0]
    assert conf == (
        b"[default]\nregion = eu-west-1\noutput = table\n\n# the single sign-on one\n"
        b"[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
    )


def test_remove_missing_profile_changes_nothing(files: Files) -> None:
    before = files.snapshot()
    result = remove_profile("nobody", backup=True, **files.kw)
    assert not result.changed and result.backups == [] and "unchanged" in result.message
    assert files.snapshot() == before


def test_read_profile_and_region(files: Files, personal: AccessKey) -> None:
    key = fake_key()
    configure_profile("lab", key, region="ap-southeast-2", **files.kw)
    back = read_profile("lab", **files.kw)
    assert back == key and back is not None and back.reveal_secret() == key.reveal_secret()
    assert read_region("lab", config_file=files.config) == "ap-southeast-2"
    mine = read_profile("personal", **files.kw)
    assert mine is not None and mine.reveal_secret() == personal.reveal_secret()
    assert read_profile("nobody", **files.kw) is None
    assert read_region("work", config_file=files.config) is None


def test_result_never_shows_the_secret(files: Files) -> None:
    key = fake_key()
    result = configure_profile("lab", key, **files.kw)
    for shown in (repr(result), str(result), result._repr_html_()):
        assert key.reveal_secret() not in shown and key.access_key_id not in shown
    assert key.masked_id in result.message


# ---------------------------------------------------------------- refusing bad input


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("my lab", "'my-lab'"),
        ("[lab]", "bracket"),
        ("lab#1", "comment"),
        ("lab;1", "comment"),
        ("caf\u00e9", "plain letters"),
        ("x" * 65, "64 or fewer"),
        ("DEFAULT", "lower case"),
        ("lab/1", "'/'"),
    ],
)
def test_bad_profile_names_change_nothing(files: Files, name: str, words: str) -> None:
    before = files.snapshot()
    with pytest.raises(ProfileNameError, match=words) as err:
        configure_profile(name, fake_key(), **files.kw)
    assert isinstance(err.value, ValueError)
    with pytest.raises(ProfileNameError):
        remove_profile(name, **files.kw)
    assert files.snapshot() == before


def test_key_pasted_as_profile_name_is_not_echoed() -> None:
    key = fake_key()
    with pytest.raises(ProfileNameError, match="looks like an access key") as err:
        validate_profile_name(key.access_key_id)
    assert key.access_key_id not in str(err.value)


def test_good_profile_names() -> None:
    assert validate_profile_name("  temporary-iam-user  ") == "temporary-iam-user"
    assert validate_profile_name("dev_1.test@corp+x") == "dev_1.test@corp+x"
    assert validate_profile_name("x" * 64) == "x" * 64


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("us-east-9", "'us-east-9' is not an AWS region. The tutorial uses us-east-1."),
        ("", "The region is empty. The tutorial uses us-east-1."),
        ("US-EAST-1", "Region codes are written in lower case: use 'us-east-1', not 'US-EAST-1'."),
        (
            "us-east-1a",
            "'us-east-1a' is an Availability Zone, not a region. Use the region 'us-east-1'.",
        ),
        ("N. Virginia", "'N. Virginia' is a region's display name; use its code, like us-east-1."),
        ("useast1", "'useast1' is not an AWS region. The tutorial uses us-east-1."),
    ],
)
def test_bad_regions_change_nothing(files: Files, region: str, message: str) -> None:
    before = files.snapshot()
    with pytest.raises(RegionError) as err:
        configure_profile("lab", fake_key(), region=region, **files.kw)
    assert str(err.value) == message and isinstance(err.value, ValueError)
    assert files.snapshot() == before


def test_good_regions() -> None:
    for region in ("us-east-1", " eu-west-1 ", "us-gov-west-1", "cn-north-1", "us-isob-east-1"):
        assert validate_region(region) == region.strip()


def test_swapped_key_fields_change_nothing(files: Files) -> None:
    key = fake_key()
    swapped = AccessKey(key.reveal_secret(), key.access_key_id)
    before = files.snapshot()
    with pytest.raises(KeyFormatError, match="swap"):
        configure_profile("lab", swapped, **files.kw)
    assert files.snapshot() == before


def test_bad_output_and_extra_config_change_nothing(files: Files) -> None:
    before = files.snapshot()
    with pytest.raises(ValueError, match="output format"):
        configure_profile("lab", fake_key(), output="xml", **files.kw)
    with pytest.raises(ValueError, match="credentials file"):
        configure_profile(
            "lab", fake_key(), extra_config={"aws_secret_access_key": "x"}, **files.kw
        )
    assert files.snapshot() == before


# ---------------------------------------------------------------- the AWS CLI reads it


def test_aws_cli_reads_the_profile(files: Files) -> None:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    key = fake_key()
    configure_profile("lab", key, region="eu-central-1", **files.kw)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(files.folder.parent),
        "AWS_SHARED_CREDENTIALS_FILE": str(files.credentials),
        "AWS_CONFIG_FILE": str(files.config),
    }

    def get(setting: str, profile: str = "lab") -> str:
        done = subprocess.run(
            [aws, "configure", "get", setting, "--profile", profile],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert get("aws_access_key_id") == key.access_key_id
    assert get("aws_secret_access_key") == key.reveal_secret()
    assert get("region") == "eu-central-1"
    assert get("region", "default") == "eu-west-1"  # the learner's own default is untouched
    assert get("sso_session", "work") == "corp"
