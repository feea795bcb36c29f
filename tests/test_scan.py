"""The secrets scanner finds planted keys (generated at run time) and nothing else."""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path

import boto3
import nbformat
import pytest
from moto import mock_aws

from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, mask_key_id, mask_secret
from labkit.scan import Finding, main, scan_paths, scan_text

_rng = random.Random()


def fake_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(_rng.choices(string.ascii_uppercase + string.digits, k=16))


def fake_secret() -> str:
    # Like a real secret: random base64 characters, with at least one of each sort.
    body = _rng.choices(string.ascii_letters + string.digits + "/+", k=36)
    return "".join(body + ["Q", "z", "7", "/"])


def fake_sha() -> str:
    return "".join(_rng.choices("0123456789abcdef", k=40))


@pytest.fixture
def key() -> tuple[str, str]:
    return fake_key_id(), fake_secret()


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.where, f.kind) for f in findings]


def assert_masked(findings: list[Finding], *secrets: str) -> None:
    for f in findings:
        for s in secrets:
            assert s[:-4] not in f.excerpt and s[:-4] not in repr(f) and s[:-4] not in str(f)


# ---------------------------------------------------------------- plain files


def test_python_file_key_and_secret_are_found_masked(tmp_path: Path, key: tuple[str, str]) -> None:
    kid, secret = key
    src = tmp_path / "app.py"
    src.write_text(
        "import boto3\n\n"
        f'client = boto3.client("iam", aws_access_key_id="{kid}",\n'
        f'                      aws_secret_access_key="{secret}")\n'
    )
    found = scan_paths([src])
    assert kinds(found) == [("line 3", "access_key_id"), ("line 4", "secret_access_key")]
    assert found[0].path == str(src)
    assert mask_key_id(kid) in found[0].excerpt
    assert found[1].excerpt == f'aws_secret_access_key="{mask_secret(secret)}")'
    assert_masked(found, kid, secret)


def test_text_file_pair_on_adjacent_lines_without_keywords(
    tmp_path: Path, key: tuple[str, str]
) -> None:
    kid, secret = key
    notes = tmp_path / "notes.txt"
    notes.write_text(f"keys for the demo\n{kid}\n{secret}\nthe end\n")
    assert kinds(scan_paths([tmp_path])) == [
        ("line 2", "access_key_id"),
        ("line 3", "secret_access_key"),
    ]


def test_console_csv_download_is_found(tmp_path: Path, key: tuple[str, str]) -> None:
    kid, secret = key
    csv = tmp_path / "temporary-iam-user_accessKeys.csv"
    csv.write_text(f"Access key ID,Secret access key\n{kid},{secret}\n")
    found = scan_paths([csv])
    assert kinds(found) == [("line 2", "access_key_id"), ("line 2", "secret_access_key")]
    assert_masked(found, secret)


def test_temporary_asia_key_is_found() -> None:
    kid = fake_key_id("ASIA")
    assert kinds(scan_text(f"export AWS_ACCESS_KEY_ID={kid}")) == [("line 1", "access_key_id")]


def test_quoted_secret_in_code_is_found_without_keyword(key: tuple[str, str]) -> None:
    _, secret = key
    found = scan_text(f'value = "{secret}"\n')
    assert kinds(found) == [("line 1", "secret_access_key")]


def test_example_key_and_secret_are_allowed() -> None:
    text = (
        f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
        f"aws_secret_access_key = {EXAMPLE_SECRET}\n"
    )
    assert scan_text(text) == []


def test_git_sha_is_not_a_secret(key: tuple[str, str]) -> None:
    kid, _ = key
    sha = fake_sha()
    text = f"secret fix landed in commit {sha}\nrev = '{sha}'\n{sha}\n"
    assert scan_text(text) == []
    # Even right below a key ID, a hex digest is not its secret (only the ID is reported).
    assert kinds(scan_text(f"{kid}\n{sha}\n")) == [("line 1", "access_key_id")]


def test_slice_of_longer_base64_and_plain_prose_are_not_secrets() -> None:
    blob = "".join(fake_secret() for _ in range(3))
    token = fake_secret()
    text = f'secret_blob = "{blob}"\nsee {token} in the printed manual\n'
    assert scan_text(text) == []


def test_quoted_names_and_ids_are_not_secrets() -> None:
    policy = "AmazonEC2RoleforSSMManagedInstanceAccess"  # 40 characters, a real policy name
    random_id = fake_secret().replace("/", "x").replace("+", "y")
    text = f'policy = "{policy}"\n{{"RequestId": "{random_id}"}}\n'
    assert scan_text(text) == []
    # The same random value under a neutral name is reported.
    assert kinds(scan_text(f'value = "{random_id}"')) == [("line 1", "secret_access_key")]


def test_longer_run_of_letters_is_not_a_key_id() -> None:
    assert scan_text(f"x{fake_key_id()}  {fake_key_id()}9") == []


def test_allow_list_skips_one_key_only(tmp_path: Path) -> None:
    old, other = fake_key_id(), fake_key_id()
    f = tmp_path / "README.md"
    f.write_text(f"deleted key: {old}\nlive key: {other}\n")
    found = scan_paths([f], allow=[old])
    assert kinds(found) == [("line 2", "access_key_id")]


def test_finding_repr_is_masked(key: tuple[str, str]) -> None:
    _, secret = key
    (finding,) = scan_text(f"password: {secret}", path="notes.md")
    assert repr(finding) == (
        "Finding(path='notes.md', where='line 1', kind='secret_access_key', "
        f"excerpt='password: {mask_secret(secret)}')"
    )


# ---------------------------------------------------------------- notebooks


def write_notebook(path: Path, nb: nbformat.NotebookNode) -> None:
    nbformat.write(nb, str(path))


def test_notebook_source_output_and_widget_state(tmp_path: Path, key: tuple[str, str]) -> None:
    kid, secret = key
    token_kid = fake_key_id()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Create an access key"),
        nbformat.v4.new_code_cell(
            "import boto3\n\nkey_id = 'placeholder'\n"
            f"session = boto3.Session(aws_access_key_id='{kid}')",
        ),
        nbformat.v4.new_code_cell(
            "print(new_key)",
            outputs=[
                nbformat.v4.new_output(
                    "stream",
                    name="stdout",
                    text=f"AccessKeyId: {token_kid}\nSecretAccessKey: {secret}\n",
                )
            ],
        ),
    ]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {
                "0f1e": {
                    "model_name": "PasswordModel",
                    "state": {"description": "Secret access key", "value": secret},
                }
            },
            "version_major": 2,
            "version_minor": 0,
        }
    }
    path = tmp_path / "02_create_access_key.ipynb"
    write_notebook(path, nb)
    found = scan_paths([path])
    assert kinds(found) == [
        ("cell 2, source line 4", "access_key_id"),
        ("cell 3, outputs", "access_key_id"),
        ("cell 3, outputs", "secret_access_key"),
        ("metadata.widgets", "secret_access_key"),
    ]
    assert found[-1].excerpt == f'"value": "{mask_secret(secret)}"'
    assert_masked(found, kid, token_kid, secret)


def test_notebook_rich_outputs_tracebacks_and_cell_metadata(tmp_path: Path) -> None:
    in_html, in_json, in_tb, in_meta = (fake_key_id() for _ in range(4))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "show()",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": f"<table><tr><td>{in_html}</td></tr></table>",
                        "application/json": {"AccessKey": {"AccessKeyId": in_json}},
                    },
                ),
                nbformat.v4.new_output(
                    "error",
                    ename="ClientError",
                    evalue="denied",
                    traceback=[f"\x1b[0;31mClientError\x1b[0m: key \x1b[1m{in_tb}\x1b[0m denied"],
                ),
            ],
            metadata={"tags": ["keep"], "note": in_meta},
        )
    ]
    path = tmp_path / "lesson.ipynb"
    write_notebook(path, nb)
    assert kinds(scan_paths([path])) == [
        ("cell 1, outputs", "access_key_id"),
        ("cell 1, outputs", "access_key_id"),
        ("cell 1, outputs", "access_key_id"),
        ("cell 1, metadata", "access_key_id"),
    ]


def test_real_moto_key_in_a_saved_output_is_found(tmp_path: Path) -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="temporary-iam-user")
        created = iam.create_access_key(UserName="temporary-iam-user")["AccessKey"]
    shown = json.dumps({k: str(v) for k, v in created.items()}, indent=1)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "key", outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": shown})]
        )
    ]
    path = tmp_path / "lesson.ipynb"
    write_notebook(path, nb)
    found = scan_paths([tmp_path])
    assert kinds(found) == [
        ("cell 1, outputs", "access_key_id"),
        ("cell 1, outputs", "secret_access_key"),
    ]
    assert_masked(found, created["SecretAccessKey"])


def test_malformed_notebook_falls_back_to_text(tmp_path: Path, key: tuple[str, str]) -> None:
    kid, _ = key
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [\n  {"source": "' + kid + '"\n')  # cut off mid-save
    assert kinds(scan_paths([path])) == [("line 2", "access_key_id")]


# ---------------------------------------------------------------- credentials files


def credentials_text(kid: str, secret: str) -> str:
    return f"[lab]\naws_access_key_id = {kid}\naws_secret_access_key = {secret}\n"


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_readable_credentials_file_is_a_finding(tmp_path: Path, key: tuple[str, str]) -> None:
    creds = tmp_path / ".aws" / "credentials"
    creds.parent.mkdir()
    creds.write_text(credentials_text(*key))
    creds.chmod(0o644)
    found = scan_paths([tmp_path])
    assert kinds(found) == [
        ("file", "readable_credentials_file"),
        ("line 2", "access_key_id"),
        ("line 3", "secret_access_key"),
    ]
    assert "0644" in found[0].excerpt
    assert f"chmod 600 {creds}" in found[0].excerpt
    assert found[2].excerpt == f"aws_secret_access_key = {mask_secret(key[1])}"


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_private_credentials_file_reports_only_the_keys(
    tmp_path: Path, key: tuple[str, str]
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(credentials_text(*key))
    creds.chmod(0o600)
    assert kinds(scan_paths([creds])) == [
        ("line 2", "access_key_id"),
        ("line 3", "secret_access_key"),
    ]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_readable_aws_config_and_lookalike_files(tmp_path: Path, key: tuple[str, str]) -> None:
    (tmp_path / ".aws").mkdir()
    config = tmp_path / ".aws" / "config"
    config.write_text("[profile lab]\nregion = us-east-1\n")
    saved = tmp_path / "backup.ini"
    saved.write_text(credentials_text(*key))
    # Lessons and docs that only talk about the format are not credentials files.
    doc = tmp_path / "docs.md"
    doc.write_text(f"[default]\naws_secret_access_key = {EXAMPLE_SECRET}\n")
    for f in (config, saved, doc):
        f.chmod(0o640)
    found = [(Path(f.path).name, f.kind) for f in scan_paths([tmp_path])]
    assert ("config", "readable_credentials_file") in found
    assert ("backup.ini", "readable_credentials_file") in found
    assert ("docs.md", "readable_credentials_file") not in found


# ---------------------------------------------------------------- walking folders


def test_skipped_folders_binary_and_big_files(tmp_path: Path) -> None:
    for folder in (".git", "node_modules", "__pycache__", ".ipynb_checkpoints", "myenv"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "leak.txt").write_text(f"key {fake_key_id()}\n")
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\0\0" + fake_key_id().encode())
    big = tmp_path / "big.log"
    with big.open("w") as f:
        f.write(f"key {fake_key_id()}\n")
        f.truncate(5 * 1024 * 1024 + 1)
    kept = tmp_path / "kept.txt"
    kept.write_text(f"key {fake_key_id()}\n")
    found = scan_paths([tmp_path])
    assert [(f.path, f.kind) for f in found] == [(str(kept), "access_key_id")]


# ---------------------------------------------------------------- the command


def test_main_reports_and_exits_1(
    tmp_path: Path, key: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    kid, secret = key
    (tmp_path / "clean.py").write_text("print('hello')\n")
    leak = tmp_path / "leak.py"
    leak.write_text(f'KEY = "{kid}"\nSECRET = "{secret}"\n')
    assert main([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'{leak}:line 1: access_key_id: KEY = "{mask_key_id(kid)}"',
        f'{leak}:line 2: secret_access_key: SECRET = "{mask_secret(secret)}"',
        "Found 2 possible secrets in 1 file.",
        out.splitlines()[-1],
    ]
    hint = out.splitlines()[-1]
    assert "deactivate" in hint and "rotate" in hint
    assert kid not in out + err and secret[:-4] not in out + err


def test_main_clean_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(3):
        (tmp_path / f"f{n}.py").write_text(f"EXAMPLE = {EXAMPLE_KEY_ID!r}\n")
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == "No secrets found in 3 files.\n"


def test_main_many_staged_files_like_pre_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for n in range(2):
        f = tmp_path / f"n{n}.txt"
        f.write_text(f"id {fake_key_id()}\n")
        files.append(str(f))
    assert main(files) == 1
    assert "Found 2 possible secrets in 2 files." in capsys.readouterr().out


def test_main_allow_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kid = fake_key_id()
    (tmp_path / "a.txt").write_text(f"old key {kid}\n")
    assert main(["--allow", kid, str(tmp_path)]) == 0
    assert main(["--allow", "not-a-key", str(tmp_path)]) == 2
    assert "access key ID" in capsys.readouterr().err


def test_main_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    out, err = capsys.readouterr()
    assert "no file or folder" in err and "Traceback" not in err and out == ""
    with pytest.raises(SystemExit) as exited:  # argparse's usage error, as for every command
        main([])
    assert exited.value.code == 2
    assert "PATH" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_main_readable_credentials_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n")
    creds.chmod(0o644)
    assert main([str(creds)]) == 1
    out = capsys.readouterr().out
    assert "Found 1 credentials file readable by others in 1 file." in out
    assert "chmod 600" in out


# --- hostile names, unreadable and binary files -----------------------------------------------

def test_a_file_name_that_is_not_utf8_is_scanned_and_printed_safely(
        tmp_path: Path, key: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    key_id, _ = key
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"notes-\xff\xfe.txt"), "w") as fh:
        fh.write(f"id = {key_id}\n")
    with open(os.path.join(folder, b"esc-\x1b[2J.txt"), "w") as fh:
        fh.write(f"id = {key_id}\n")
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "notes-\\xff\\xfe.txt" in out.out and "esc-\\x1b[2J.txt" in out.out
    assert "\x1b" not in out.out + out.err
    out.out.encode("utf-8")  # printable on any UTF-8 terminal, no lone surrogates


def test_binary_files_are_counted_as_skipped(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.bin").write_bytes(b"\0\1\2" * 100)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (tmp_path / "c.txt").write_text("hello\n")
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "No secrets found in 1 file." in out and "Skipped 2 binary files." in out


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/useradd"),
                    reason="making a file unreadable to the scanner needs another OS user (root "
                           "reads everything)")
def test_unreadable_files_are_reported_and_change_the_exit_status() -> None:
    import shutil
    import subprocess
    import tempfile
    import uuid

    user = "lkx" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                   check=True)
    folder = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        folder.chmod(0o755)
        (folder / "clean.txt").write_text("nothing here\n")
        (folder / "clean.txt").chmod(0o644)
        (folder / "private.env").write_text("AWS_ACCESS_KEY_ID=...\n")
        (folder / "private.env").chmod(0o600)  # root's: the other user cannot read it
        repo = str(Path(__file__).resolve().parents[1])
        done = subprocess.run(["runuser", "-u", user, "--", "env", f"PYTHONPATH={repo}",
                               "/usr/bin/python3", "-m", "labkit", "scan", str(folder)],
                              capture_output=True, text=True, timeout=60, cwd="/")
        assert done.returncode == 3, done.stdout + done.stderr
        assert f"could not read {folder / 'private.env'} (Permission denied)" in done.stderr
        assert "Could not read 1 file" in done.stdout
        assert "No secrets found in 1 file." in done.stdout
    finally:
        shutil.rmtree(folder)
        subprocess.run(["userdel", user], check=False)


# --- labkit's scanner beside detect-secrets (the repository's pre-commit scanner) ---------------


def _detect_secrets(paths: list[Path]) -> set[tuple[str, int]]:
    """(file name, line) of every AWS access key detect-secrets reports, with its defaults."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    found = SecretsCollection()
    with default_settings():
        for path in paths:
            found.scan_file(str(path))
    return {(Path(name).name, secret.line_number) for name, secret in found
            if secret.type == "AWS Access Key"}


def _labkit_lines(findings: list[Finding]) -> set[tuple[str, int]]:
    return {(Path(f.path).name, int(f.where.split()[-1])) for f in findings
            if f.where.startswith("line ")}


def test_labkit_finds_what_detect_secrets_finds_and_the_lessons_leaks_too(
        tmp_path: Path, key: tuple[str, str]) -> None:
    """Both scanners on the same files. labkit's scanner is kept for what it adds: the leak
    lesson 08 teaches (keys passed to boto3.client(...), which detect-secrets' "indirect
    reference" filter drops), where in a notebook a key is (which cell, source or output), and
    AWS's documented example key left alone."""
    key_id, secret = key
    files = {
        "leak.py": ('import boto3\nclient = boto3.client("s3", '
                    f'aws_access_key_id="{key_id}", aws_secret_access_key="{secret}")\n'),
        "credentials": (f"[default]\naws_access_key_id = {key_id}\n"
                        f"aws_secret_access_key = {secret}\n"),
        "settings.ini": f"[aws]\nkey = {key_id}\n",
        "docs.md": f"The tutorial's example key is {EXAMPLE_KEY_ID}.\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "credentials").chmod(0o600)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nos.environ['AWS_ACCESS_KEY_ID']", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": repr(key_id)}, execution_count=1)])])
    nbformat.write(nb, tmp_path / "analysis.ipynb")
    paths = sorted(tmp_path.iterdir())

    theirs = _detect_secrets(paths)
    ours = scan_paths([tmp_path])
    # Every line where detect-secrets sees a real AWS key, labkit's scanner reports too ...
    plain_files = {(name, line) for name, line in theirs
                   if not name.endswith((".ipynb", ".md"))}
    assert plain_files <= _labkit_lines(ours)
    assert {("credentials", 2), ("settings.ini", 2)} <= plain_files
    # ... and it also finds the key handed to boto3.client(...), lesson 08's leak ...
    assert ("leak.py", 2) in _labkit_lines(ours) and ("leak.py", 2) not in theirs
    # ... says which notebook cell holds it, and where (detect-secrets names a JSON line) ...
    assert [f.where for f in ours if f.path.endswith(".ipynb")] == ["cell 1, outputs"]
    assert any(name == "analysis.ipynb" for name, _ in theirs)
    # ... and leaves AWS's documented example key alone, which detect-secrets reports.
    assert ("docs.md", 1) in theirs
    assert not [f for f in ours if f.path.endswith("docs.md")]
    for finding in ours:
        assert key_id not in str(finding) and secret not in str(finding)
