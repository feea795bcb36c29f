"""Saving a profile changes only that profile, safely, in a format the AWS CLI reads."""

from __future__ import annotations

import html
import os
import random
import re
import string
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import botocore.configloader
import pytest

from labkit import aws_ini, profiles
from labkit.files import HomeError
from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, AccessKey, KeyFormatError
from labkit.profiles import (
    ProfileFileError,
    ProfileNameError,
    RegionError,
    configure_profile,
    read_profile,
    remove_profile,
    validate_profile_name,
    validate_region,
)

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
NOW = datetime(2024, 5, 6, 7, 8, 9)


def aws_cli() -> str:
    """The AWS CLI installed beside the Python running the tests (requirements.txt has it)."""
    aws = Path(sys.executable).parent / "aws"
    assert aws.is_file(), f"No AWS CLI in {aws.parent}: pip install -r requirements.txt"
    return str(aws)
_rng = random.Random()


def cli_region(name: str, config_file: Path) -> str | None:
    """The region the AWS CLI and boto3 (botocore's own reader) find for profile `name`."""
    profiles = botocore.configloader.load_config(str(config_file))["profiles"]
    return profiles.get(name, {}).get("region")


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


@pytest.mark.slow
def test_same_format_as_aws_configure_set(tmp_path: Path) -> None:
    aws = aws_cli()
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
    assert cli_region("lab", files.config) == "ap-southeast-2"
    mine = read_profile("personal", **files.kw)
    assert mine is not None and mine.reveal_secret() == personal.reveal_secret()
    assert read_profile("nobody", **files.kw) is None
    assert cli_region("work", files.config) is None


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


@pytest.mark.slow
def test_aws_cli_reads_the_profile(files: Files) -> None:
    aws = aws_cli()
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


# ---------------------------------------------------------------- repairs and failures


@posix_only
def test_rerun_on_unchanged_files_repairs_loose_modes(files: Files) -> None:
    key = fake_key()
    configure_profile("lab", key, **files.kw)
    before = files.snapshot()
    inodes = [files.credentials.stat().st_ino, files.config.stat().st_ino]
    files.credentials.chmod(0o644)
    files.config.chmod(0o640)
    again = configure_profile("lab", key, **files.kw)
    assert again.changed
    assert files.snapshot() == before
    assert files.credentials.stat().st_mode & 0o777 == 0o600
    assert files.config.stat().st_mode & 0o777 == 0o600
    # Only the mode changed: same files, not rewritten copies.
    assert [files.credentials.stat().st_ino, files.config.stat().st_ino] == inodes


def _fail_nth_fsync(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the n-th os.fsync of a file fail, as a full disk would."""
    real = os.fsync
    calls = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == n:
            raise OSError(28, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    # Folder syncs go through os.fsync too; count only file writes.
    monkeypatch.setattr("labkit.files._fsync_folder", lambda folder: None)


def test_failed_second_write_puts_the_first_file_back(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files.snapshot()
    _fail_nth_fsync(monkeypatch, 2)  # the credentials file is written, the config file fails
    with pytest.raises(HomeError, match="is full"):  # said in plain words by labkit's writer
        configure_profile("lab", fake_key(), **files.kw)
    assert files.snapshot() == before
    assert sorted(p.name for p in files.folder.iterdir()) == ["config", "credentials"]


def test_failed_write_of_new_files_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = Files(tmp_path)
    _fail_nth_fsync(monkeypatch, 2)
    with pytest.raises(HomeError, match="is full"):
        configure_profile("lab", fake_key(), **f.kw)
    assert f.snapshot() == (None, None)
    assert list(f.folder.iterdir()) == []  # no temporary file either


def test_failed_remove_puts_both_files_back(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    configure_profile("lab", fake_key(), **files.kw)
    before = files.snapshot()
    _fail_nth_fsync(monkeypatch, 2)
    with pytest.raises(HomeError, match="is full"):
        remove_profile("lab", **files.kw)
    assert files.snapshot() == before
    assert sorted(p.name for p in files.folder.iterdir()) == ["config", "credentials"]


def test_profile_is_appended_after_a_last_line_without_newline(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text(f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}")
    f.config.write_text("[profile lab]\nregion = us-east-1")
    key = fake_key()
    configure_profile("lab", key, output="json", **f.kw)
    assert f.credentials.read_text() == (
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n" + lab_lines(key)
    )
    assert f.config.read_text() == "[profile lab]\nregion = us-east-1\noutput = json\n"


def test_secret_pasted_as_profile_name_is_refused_without_echo(files: Files) -> None:
    secret = fake_key().reveal_secret()
    before = files.snapshot()
    for name in (secret, f"  {secret}\n"):
        with pytest.raises(ProfileNameError) as err:
            configure_profile(name, fake_key(), **files.kw)
        assert str(err.value) == (
            "That looks like an access key, not a profile name. A profile name is a short "
            "label such as 'lab'; the key goes in the key fields."
        )
        assert secret not in str(err.value) and secret[:10] not in str(err.value)
    assert files.snapshot() == before
    # Forty characters in one case only read as a name, not as a key ...
    for name in ("abcdefghi1" * 4, "ABCDEFGHI1" * 4):
        assert validate_profile_name(name) == name
    # ... but mixed case reads as a key even without a digit: the one rule labkit uses for
    # "looks like a secret" everywhere (the key form's, which is the stricter).
    with pytest.raises(ProfileNameError, match="looks like an access key"):
        validate_profile_name("Abcdefghij" * 4)


# ---------------------------------------------------------------- what the learner is told


def test_result_shows_what_was_done_without_the_key(files: Files) -> None:
    key = fake_key()
    result = configure_profile("lab", key, backup=True, now=NOW, **files.kw)
    cred, conf = files.credentials, files.config
    backups = [
        files.folder / "credentials.labkit-backup-20240506T070809",
        files.folder / "config.labkit-backup-20240506T070809",
    ]
    assert str(result) == result.message == (
        f"Saved profile 'lab' (key {key.masked_id}, region us-east-1) in {cred} and {conf}. "
        f"Backups: {backups[0]}, {backups[1]}."
    )
    assert repr(result) == (
        f"ProfileResult(profile='lab', changed=True, credentials_file='{cred}', "
        f"config_file='{conf}', backups={[str(b) for b in backups]!r}, "
        f"message={result.message!r})"
    )
    row = "<tr><th style='text-align:left'>{}</th><td><code>{}</code></td></tr>"
    assert result._repr_html_() == (
        f"<p>{html.escape(result.message)}</p><table class='labkit-profile'>"
        + row.format("profile", "lab")
        + row.format("changed", "yes")
        + row.format("credentials file", cred)
        + row.format("config file", conf)
        + row.format("backup", backups[0])
        + row.format("backup", backups[1])
        + "</table>"
    )
    again = configure_profile("lab", key, **files.kw)
    assert again.message == (
        f"Profile 'lab' already holds key {key.masked_id}, region us-east-1: unchanged."
    )
    assert "<td><code>no (unchanged)</code></td>" in again._repr_html_()


def test_html_result_escapes_paths(tmp_path: Path) -> None:
    f = Files(tmp_path / "<b>&")
    result = configure_profile("lab", fake_key(), **f.kw)
    assert "&lt;b&gt;&amp;" in result._repr_html_() and "<b>&" not in result._repr_html_()


def test_a_key_left_in_the_config_file_is_pointed_out(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_text(f'[profile "lab"]\naws_access_key_id = {EXAMPLE_KEY_ID}\n')
    result = configure_profile("lab", fake_key(), **f.kw)
    assert result.message.startswith("Saved profile 'lab' (key AKIA")
    assert result.message.endswith(
        " Note: the config file also has a key for 'lab'; the credentials file wins, "
        "but delete the one in the config file so no stale key is left lying around."
    )
    plain = configure_profile("other", fake_key(), **f.kw)
    assert "Note:" not in plain.message


def test_remove_says_where_it_removed_from(files: Files) -> None:
    configure_profile("lab", fake_key(), **files.kw)
    result = remove_profile("lab", backup=True, now=NOW, keep_backups=True, **files.kw)
    backups = [
        files.folder / "credentials.labkit-backup-20240506T070809",
        files.folder / "config.labkit-backup-20240506T070809",
    ]
    assert result.message == (
        f"Removed profile 'lab' from {files.credentials} and {files.config}. "
        f"Backups: {backups[0]}, {backups[1]}."
    )
    assert result.backups == backups
    only = remove_profile("personal", **files.kw)
    assert only.message == f"Removed profile 'personal' from {files.credentials}."
    none = remove_profile("nobody", **files.kw)
    assert none.message == (
        f"There is no profile 'nobody' in {files.credentials} or {files.config}: unchanged."
    )


def test_third_backup_of_the_same_second_gets_its_own_name(files: Files) -> None:
    for _ in range(3):
        remove_profile("lab", **files.kw)
        configure_profile("lab", fake_key(), backup=True, now=NOW, **files.kw)
    names = sorted(p.name for p in files.folder.iterdir() if "credentials.labkit" in p.name)
    assert names == [
        "credentials.labkit-backup-20240506T070809",
        "credentials.labkit-backup-20240506T070809-2",
        "credentials.labkit-backup-20240506T070809-3",
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("café", "The profile name 'café' contains 'é'. Use only plain letters (a-z, A-Z), "
         "digits and - _ . @ +."),
        ("my  lab\tx", "The profile name 'my  lab\\tx' has a space in it, which the AWS files "
         "cannot hold. Use a dash instead: 'my-lab-x'."),
        ("a" * 39 + " b", "The profile name '" + "a" * 37 + "...' has a space in it, which the "
         "AWS files cannot hold. Use a dash instead: '" + "a" * 39 + "-b'."),
        ("la]b", "The profile name 'la]b' has a square bracket; the files use [brackets] to mark "
         "where a profile starts. Leave them out: the CLI adds them."),
        ("#lab", "The profile name '#lab' has '#' or ';', which start a comment in the AWS "
         "files. Leave them out."),
        ("x" * 65, "The profile name is 65 characters long; keep it to 64 or fewer."),
        ("lab/1=2", "The profile name 'lab/1=2' contains '/' '='. Use only letters, digits and "
         "- _ . @ +."),
        (None, "The profile name is empty. Type a short name such as 'lab'."),
    ],
)
def test_bad_profile_names_say_exactly_what_to_do(name: object, message: str) -> None:
    with pytest.raises(ProfileNameError) as err:
        validate_profile_name(name)
    assert str(err.value) == message


def test_key_pasted_as_region_is_not_echoed() -> None:
    key = fake_key()
    for text in (key.access_key_id, key.reveal_secret()):
        with pytest.raises(RegionError) as err:
            validate_region(text)
        assert str(err.value) == (
            "That looks like an access key, not a region. The tutorial uses us-east-1."
        )
    with pytest.raises(RegionError) as err:
        validate_region(None)
    assert str(err.value) == "The region is empty. The tutorial uses us-east-1."
    with pytest.raises(RegionError) as err:
        validate_region("x" * 41)
    assert str(err.value) == f"'{'x' * 37}...' is not an AWS region. The tutorial uses us-east-1."
    with pytest.raises(RegionError, match="display name"):
        validate_region("Europe(Paris)")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Endpoint URL": "x"}, "'Endpoint URL' is not a config setting name (like endpoint_url)."),
        ({"AWS_ACCESS_KEY_ID": "x"}, "aws_access_key_id belongs in the credentials file; pass "
         "the key to configure_profile instead."),
        ({"aws_session_token": "x"}, "aws_session_token belongs in the credentials file; pass "
         "the key to configure_profile instead."),
        ({"region": "eu-west-1"}, "Pass region as its own argument, not in extra_config."),
        ({"output": "json"}, "Pass output as its own argument, not in extra_config."),
        ({"retry_mode": " "}, "The value for retry_mode must be one non-empty line."),
        ({"retry_mode": "a\nb"}, "The value for retry_mode must be one non-empty line."),
        ({"retry_mode": "a\rb"}, "The value for retry_mode must be one non-empty line."),
    ],
)
def test_bad_extra_config_says_what_is_wrong(
    tmp_path: Path, extra: dict[str, str], message: str
) -> None:
    f = Files(tmp_path)
    with pytest.raises(ValueError) as err:
        configure_profile("lab", fake_key(), extra_config=extra, **f.kw)
    assert str(err.value) == message
    assert not f.folder.exists()


def test_extra_config_and_output_are_trimmed(tmp_path: Path) -> None:
    f = Files(tmp_path)
    configure_profile("lab", fake_key(), output=" text ",
                      extra_config={" Retry_Mode ": " standard "}, **f.kw)
    assert f.config.read_text() == (
        "[profile lab]\nregion = us-east-1\noutput = text\nretry_mode = standard\n"
    )
    with pytest.raises(ValueError) as err:
        configure_profile("lab", fake_key(), output="xml", **f.kw)
    assert str(err.value) == (
        "'xml' is not an AWS CLI output format. Use one of: json, yaml, yaml-stream, text, table."
    )


def test_session_token_with_a_line_break_is_refused(tmp_path: Path) -> None:
    f = Files(tmp_path)
    with pytest.raises(ValueError) as err:
        configure_profile("lab", fake_key("ASIA", token="abc\ndef"), **f.kw)
    assert str(err.value) == "The session token has a space or line break inside; copy it again."
    configure_profile("lab", fake_key("ASIA", token="  "), **f.kw)  # blank: no token
    assert "aws_session_token" not in f.credentials.read_text()


# ---------------------------------------------------------------- files the CLI cannot read


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[a]\nx = 1\n[a]\ny = 2\n", "has the same [section] twice (line 3)"),
        ("[a]\nx = 1\nx = 2\n", "has the same setting twice in one section (line 3)"),
        ("x = 1\n[a]\n", "has settings before the first [section] (line 1)"),
        ("[a]\nx = 1\njust words\n", "has a line that is not 'name = value' (line 3)"),
    ],
)
def test_damaged_config_file_is_refused_with_its_line(
    tmp_path: Path, text: str, says: str
) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_text(text)
    with pytest.raises(ProfileFileError) as err:
        configure_profile("lab", fake_key(), **f.kw)
    assert str(err.value) == (
        f"{f.config} {says}, so the AWS CLI cannot read it. labkit changed nothing; "
        "fix that line or move the file aside, then try again."
    )
    assert not f.credentials.exists()


def test_byte_order_mark_and_non_utf8_are_refused(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text("\ufeff[default]\n", encoding="utf-8")
    with pytest.raises(ProfileFileError) as err:
        configure_profile("lab", fake_key(), **f.kw)
    assert str(err.value) == (
        f"{f.credentials} starts with an invisible byte-order mark (Notepad adds one), which the "
        "AWS CLI cannot read. labkit changed nothing; save it as UTF-8 without BOM."
    )
    f.credentials.write_bytes(b"[default]\nname = caf\xe9\n")
    with pytest.raises(ProfileFileError) as err:
        read_profile("default", **f.kw)
    assert str(err.value) == (
        f"{f.credentials} is not UTF-8 text, so the AWS CLI may not read it either. "
        "labkit changed nothing; save it as UTF-8 and try again."
    )
    f.credentials.unlink()
    f.credentials.mkdir()
    with pytest.raises(ProfileFileError) as err:
        configure_profile("lab", fake_key(), **f.kw)
    assert str(err.value) == f"Cannot read {f.credentials}: Is a directory."


# ---------------------------------------------------------------- reading as the CLI does


def test_config_sections_match_as_botocore_matches_them(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    ids = [fake_key().access_key_id for _ in range(7)]
    sections = ["[profile lab]", '[profile "lab"]', "[profilelab]", "[profile lab extra]",
                "[profile 'open]", "[lab]", "[profile default]"]
    # Keys in the config file: read_profile falls back to it when the credentials file has none.
    f.config.write_text("".join(f"{s}\naws_access_key_id = {i}\n" for s, i in zip(sections, ids)))
    botocore_reads = botocore.configloader.load_config(str(f.config))["profiles"]
    for name, expected in (("lab", ids[1]), ("default", ids[6])):  # the last match wins
        key = read_profile(name, **f.kw)
        assert key is not None and key.access_key_id == expected
        assert botocore_reads[name]["aws_access_key_id"] == expected
    assert read_profile("open", **f.kw) is None and "open" not in botocore_reads
    assert read_profile("lab", credentials_file=tmp_path / "a", config_file=tmp_path / "b") is None
    configure_profile("lab", fake_key(), region="eu-west-1", **f.kw)
    text = f.config.read_text()
    assert text.count("region = eu-west-1") == 2 and text.count("region =") == 2


def test_read_profile_falls_back_to_the_config_file(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text("[lab]\nregion = x\n")
    f.config.write_text(
        f"[profile lab]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
        f"aws_secret_access_key = {EXAMPLE_SECRET}\naws_session_token =\n"
    )
    key = read_profile("lab", **f.kw)
    assert key is not None and key.access_key_id == EXAMPLE_KEY_ID
    assert key.reveal_secret() == EXAMPLE_SECRET and key.session_token is None
    f.config.write_text(f"[profile lab]\naws_access_key_id = {EXAMPLE_KEY_ID}\n")
    only_id = read_profile("lab", **f.kw)
    assert only_id is not None and only_id.reveal_secret() == ""
    assert read_profile("lab", credentials_file=tmp_path / "a", config_file=tmp_path / "b") is None


def test_editing_keeps_comments_continuations_and_spelling(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    key = fake_key()
    f.credentials.write_text(
        "[lab]\n"
        "AWS_ACCESS_KEY_ID: OLDVALUE\n"
        "  ; an indented comment\n"
        "aws_secret_access_key = old\n"
        "    continued\n"
        "  also continued\n"
        "; about the next one\n"
        "[next]\n"
        "x = 1\n"
    )
    f.config.write_text("[profile lab]\nregion=us-east-1\n\n# end\n")
    configure_profile("lab", key, **f.kw)
    assert f.credentials.read_text() == (
        "[lab]\n"
        f"aws_access_key_id = {key.access_key_id}\n"
        "  ; an indented comment\n"
        f"aws_secret_access_key = {key.reveal_secret()}\n"
        "; about the next one\n"
        "[next]\n"
        "x = 1\n"
    )
    assert f.config.read_text() == "[profile lab]\nregion=us-east-1\n\n# end\n"  # byte for byte


def test_windows_line_endings_in_an_edited_profile(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_bytes(b"[profile lab]\r\nregion = eu-west-1\r\n[x]\r\ny = 1\r\n")
    configure_profile("lab", fake_key(), output="json", **f.kw)
    assert f.config.read_bytes() == (
        b"[profile lab]\r\nregion = us-east-1\r\noutput = json\r\n[x]\r\ny = 1\r\n"
    )


def test_removing_keeps_comments_after_the_profile(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text(
        "[lab]\n# inside\nx = 1\n  continued\n# about next\n[next]\ny = 2\n[lab2]\nz = 3\n"
    )
    remove_profile("lab", **f.kw)
    assert f.credentials.read_text() == "# about next\n[next]\ny = 2\n[lab2]\nz = 3\n"


# ---------------------------------------------------------------- more edges of editing


def test_one_line_crlf_file_gets_crlf_lines(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_bytes(b"[default]\r\n")
    configure_profile("lab", fake_key(), **f.kw)
    assert f.config.read_bytes() == b"[default]\r\n[profile lab]\r\nregion = us-east-1\r\n"


def test_last_lines_without_newline_in_longer_files(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text("[a]\nx = 1\ny = 2")
    f.config.write_text("[profile lab]\nregion = us-east-1\ncli_pager = less")
    key = fake_key()
    configure_profile("lab", key, output="json", **f.kw)
    assert f.credentials.read_text() == "[a]\nx = 1\ny = 2\n" + lab_lines(key)
    assert f.config.read_text() == (
        "[profile lab]\nregion = us-east-1\ncli_pager = less\noutput = json\n"
    )


def test_changed_last_value_without_newline_gets_one(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_text("[profile lab]\noutput = text\nregion = eu-west-1")
    configure_profile("lab", fake_key(), **f.kw)
    assert f.config.read_text() == "[profile lab]\noutput = text\nregion = us-east-1\n"


def test_value_with_equals_signs_is_compared_whole(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    original = "[profile lab]\nregion = us-east-1\nendpoint_url=http://h/?a=b\n"
    f.config.write_text(original)
    configure_profile("lab", fake_key(), extra_config={"endpoint_url": "http://h/?a=b"}, **f.kw)
    assert f.config.read_text() == original  # already right: kept byte for byte


def test_the_temporary_file_is_hidden_beside_its_target(
    tmp_path: Path, replaced: list[tuple[str, str]]
) -> None:
    seen = replaced
    f = Files(tmp_path)
    configure_profile("lab", fake_key(), **f.kw)
    assert [(Path(s).parent, Path(d)) for s, d in seen] == [
        (f.folder, f.credentials), (f.folder, f.config)
    ]
    assert [Path(s).name.startswith(f".{Path(d).name}.") for s, d in seen] == [True, True]
    assert all(s.endswith(".tmp") for s, _ in seen)


def test_remove_from_the_config_file_alone(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_text("[profile lab]\nregion = eu-west-1\n[profile x]\nregion = eu-west-2\n")
    result = remove_profile("lab", **f.kw)
    assert f.config.read_text() == "[profile x]\nregion = eu-west-2\n"
    assert (result.profile, result.credentials_file, result.config_file) == (
        "lab", f.credentials, f.config
    )
    assert result.changed and result.message == f"Removed profile 'lab' from {f.config}."


def test_read_profile_with_only_a_config_file(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.config.write_text(f"[profile lab]\naws_access_key_id = {EXAMPLE_KEY_ID}\n")
    key = read_profile("lab", **f.kw)
    assert key is not None and key.access_key_id == EXAMPLE_KEY_ID


def test_damaged_files_are_named_when_reading_or_removing(tmp_path: Path) -> None:
    f = Files(tmp_path)
    f.folder.mkdir()
    f.credentials.write_text("[a]\nnot a setting\n")
    f.config.write_text("[profile lab]\nnot a setting\n")
    says = "has a line that is not 'name = value' (line 2), so the AWS CLI cannot read it."
    with pytest.raises(ProfileFileError, match=re.escape(f"{f.credentials} {says}")):
        remove_profile("lab", **f.kw)
    with pytest.raises(ProfileFileError, match=re.escape(f"{f.credentials} {says}")):
        read_profile("lab", **f.kw)
    with pytest.raises(ProfileFileError, match=re.escape(f"{f.config} {says}")):
        read_profile("lab", credentials_file=tmp_path / "none", config_file=f.config)


def test_profile_still_there_after_removing_puts_files_back(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_profile("lab", fake_key(), **files.kw)
    before = files.snapshot()
    real = aws_ini.remove_sections

    def misses_the_config(text: str, name: str, *, config: bool) -> str:
        # As if the config file's section were missed: only a comment changes there.
        return text + "# edited\n" if config else real(text, name, config=config)

    monkeypatch.setattr(aws_ini, "remove_sections", misses_the_config)
    with pytest.raises(ProfileFileError) as err:
        remove_profile("lab", **files.kw)
    assert str(err.value) == (
        f"Profile 'lab' was still in {files.config} after removing it. "
        "labkit put the old files back."
    )
    assert files.snapshot() == before


def test_a_new_default_profile_gets_the_default_section(tmp_path: Path) -> None:
    f = Files(tmp_path)
    key = fake_key()
    configure_profile("default", key, **f.kw)
    assert f.config.read_text() == "[default]\nregion = us-east-1\n"
    assert f.credentials.read_text() == lab_lines(key).replace("[lab]", "[default]")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a" * 38 + " b", "The profile name '" + "a" * 38 + " b' has a space in it, which the "
         "AWS files cannot hold. Use a dash instead: '" + "a" * 38 + "-b'."),
        ("[lab", "The profile name '[lab' has a square bracket; the files use [brackets] to mark "
         "where a profile starts. Leave them out: the CLI adds them."),
    ],
)
def test_forty_characters_are_shown_whole_and_one_bracket_is_enough(
    name: str, message: str
) -> None:
    with pytest.raises(ProfileNameError) as err:
        validate_profile_name(name)
    assert str(err.value) == message
    with pytest.raises(RegionError) as region:
        validate_region("x" * 40)
    assert str(region.value) == f"'{'x' * 40}' is not an AWS region. The tutorial uses us-east-1."


def test_the_tutorial_region_is_valid_without_loading_botocores_endpoints() -> None:
    """Every profile the lab writes uses us-east-1: no 1 MB endpoints file loaded for it."""
    from labkit import profiles

    profiles.known_regions.cache_clear()
    assert validate_region(" us-east-1 ") == "us-east-1"
    assert profiles.known_regions.cache_info().misses == 0
    assert validate_region("eu-west-2") == "eu-west-2"  # others are still checked
    assert profiles.known_regions.cache_info().misses == 1
