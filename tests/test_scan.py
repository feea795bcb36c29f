"""The secrets scanner finds planted keys (generated at run time) and nothing else."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import nbformat
import pytest
from moto import mock_aws

from labkit.__main__ import main as cli
from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, mask_key_id, mask_secret
from labkit.scan import (
    KIND_KEY_ID,
    KIND_READABLE,
    KIND_SECRET,
    MAX_FILE_BYTES,
    Finding,
    _mask_and_crop,
    advice,
    scan_paths,
    summarize,
)

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


def scan_text(text: str, *, allow: list[str] | None = None) -> list[Finding]:
    """What the scanner finds in a Markdown file (never a credentials file) holding `text`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "notes.md")
        path.write_text(text)
        return scan_paths([path], allow=allow or [])


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


def test_finding_repr_is_masked(
    key: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret = key
    monkeypatch.chdir(tmp_path)
    Path("notes.md").write_text(f"password: {secret}")
    (finding,) = scan_paths(["notes.md"])
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
    # Text all the way (no NUL byte, which would make it binary): skipped for its size alone.
    line = f"key {fake_key_id()}\n"
    (tmp_path / "big.log").write_text(line + "x" * (MAX_FILE_BYTES - len(line)) + "\n")
    kept = tmp_path / "kept.txt"
    kept.write_text(line)
    # A file of exactly the limit is still read.
    at_limit = tmp_path / "limit.log"
    at_limit.write_text(line + "x" * (MAX_FILE_BYTES - len(line)))
    found = scan_paths([tmp_path])
    assert [(f.path, f.kind) for f in found] == [
        (str(kept), "access_key_id"), (str(at_limit), "access_key_id")
    ]


def test_main_says_which_big_file_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.log"
    big.write_text(f"key {fake_key_id()}\n" + "x" * MAX_FILE_BYTES)
    assert cli(["scan", str(tmp_path)]) == 0
    assert f"labkit scan: skipped {big} (larger than 5 MB)." in capsys.readouterr().err


# ---------------------------------------------------------------- the command


def test_main_reports_and_exits_1(
    tmp_path: Path, key: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    kid, secret = key
    (tmp_path / "clean.py").write_text("print('hello')\n")
    leak = tmp_path / "leak.py"
    leak.write_text(f'KEY = "{kid}"\nSECRET = "{secret}"\n')
    assert cli(["scan", str(tmp_path)]) == 1
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
    assert cli(["scan", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "No secrets found in 3 files.\n"


def test_main_many_staged_files_like_pre_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for n in range(2):
        f = tmp_path / f"n{n}.txt"
        f.write_text(f"id {fake_key_id()}\n")
        files.append(str(f))
    assert cli(["scan", *files]) == 1
    assert "Found 2 possible secrets in 2 files." in capsys.readouterr().out


def test_main_allow_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kid = fake_key_id()
    (tmp_path / "a.txt").write_text(f"old key {kid}\n")
    assert cli(["scan", "--allow", kid, str(tmp_path)]) == 0
    assert cli(["scan", "--allow", "not-a-key", str(tmp_path)]) == 2
    assert "access key ID" in capsys.readouterr().err


def test_main_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["scan", str(tmp_path / "nope")]) == 2
    out, err = capsys.readouterr()
    assert "no file or folder" in err and "Traceback" not in err and out == ""
    with pytest.raises(SystemExit) as exited:  # argparse's usage error, as for every command
        cli(["scan"])
    assert exited.value.code == 2
    assert "PATH" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_main_readable_credentials_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n")
    creds.chmod(0o644)
    assert cli(["scan", str(creds)]) == 1
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
    assert cli(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "notes-\\xff\\xfe.txt" in out.out and "esc-\\x1b[2J.txt" in out.out
    assert "\x1b" not in out.out + out.err
    out.out.encode("utf-8")  # printable on any UTF-8 terminal, no lone surrogates


def test_binary_files_are_counted_as_skipped(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.bin").write_bytes(b"\0\1\2" * 100)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (tmp_path / "c.txt").write_text("hello\n")
    assert cli(["scan", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "No secrets found in 1 file." in out and "Skipped 2 binary files." in out


OTHER_USER_TOOLS = ("/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/runuser",
                    "/usr/bin/python3")


@pytest.mark.skipif(os.geteuid() != 0 or not all(map(os.path.exists, OTHER_USER_TOOLS)),
                    reason="making a file unreadable to the scanner needs another OS user (root "
                           "reads everything): run as root where " + ", ".join(OTHER_USER_TOOLS)
                           + " exist (Debian's passwd, util-linux and python3 packages)")
def test_unreadable_files_are_reported_and_change_the_exit_status() -> None:
    import shutil
    import tempfile
    import uuid

    user = "lkx" + uuid.uuid4().hex[:8]
    subprocess.run(["/usr/sbin/useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    user], check=True)
    folder = Path(tempfile.mkdtemp(dir="/tmp"))
    # A copy of labkit the other user can read: the checkout may sit in a folder only its owner
    # can enter (a 0700 home folder).
    code = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        folder.chmod(0o755)
        code.chmod(0o755)
        shutil.copytree(Path(__file__).resolve().parents[1] / "labkit", code / "labkit",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in code.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (folder / "clean.txt").write_text("nothing here\n")
        (folder / "clean.txt").chmod(0o644)
        (folder / "private.env").write_text("AWS_ACCESS_KEY_ID=...\n")
        (folder / "private.env").chmod(0o600)  # root's: the other user cannot read it
        done = subprocess.run(["/usr/sbin/runuser", "-u", user, "--", "env", f"PYTHONPATH={code}",
                               "/usr/bin/python3", "-m", "labkit", "scan", str(folder)],
                              capture_output=True, text=True, timeout=60, cwd="/")
        assert done.returncode == 3, done.stdout + done.stderr
        assert f"could not read {folder / 'private.env'} (Permission denied)" in done.stderr
        assert "Could not read 1 file" in done.stdout
        assert "No secrets found in 1 file." in done.stdout
    finally:
        shutil.rmtree(folder)
        shutil.rmtree(code)
        subprocess.run(["/usr/sbin/userdel", user], check=False)


# --- labkit's scanner beside detect-secrets (the repository's pre-commit scanner) ---------------


def _detect_secrets(paths: list[Path]) -> set[tuple[str, int]]:
    """(file name, line) of every AWS access key detect-secrets reports, with its defaults.

    Run as its own process, as pre-commit runs it: importing detect-secrets replaces
    `configparser.ParsingError` for the whole interpreter (its lines are dropped), which would
    change what later tests in this process see."""
    # From the files' folder: run inside this repository, it skips files outside it.
    names = [p.name for p in paths]
    done = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", *names],
                          cwd=paths[0].parent, capture_output=True, text=True, timeout=120,
                          check=True)
    results = json.loads(done.stdout)["results"]
    return {(Path(name).name, secret["line_number"]) for name, found in results.items()
            for secret in found if secret["type"] == "AWS Access Key"}


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


# ---------------------------------------------------------------- excerpts, edge by edge


def test_excerpt_window_and_its_ellipses() -> None:
    kid = fake_key_id()
    shown = mask_key_id(kid)
    # Key at the start of a long line: cut on the right only.
    assert _mask_and_crop(f"{kid}" + " y" * 100, 0) == shown + " y" * 50 + "..."
    # Key in the middle: 50 characters of context before it, cut on both sides.
    line = "z " * 60 + kid + " w" * 60
    assert _mask_and_crop(line, 120) == "..." + "z " * 25 + shown + " w" * 25 + "..."
    # A line of exactly the window's width, ending in CR LF, is shown whole.
    fits = kid + " v" * 49 + ".."
    assert len(fits) == 120
    assert _mask_and_crop(fits + "\r\n", 0) == shown + fits[20:]
    # Control characters become spaces; pasted indentation is not counted as context.
    assert _mask_and_crop("\t\ta\x07b " + kid, 6) == "a b " + shown


def test_excerpt_position_counts_the_masked_lengths() -> None:
    kid, secret = fake_key_id(), fake_secret()
    line = "p " * 40 + f"secret = {secret} and then key {kid}" + " q" * 80
    middle = f"secret = {mask_secret(secret)} and then key {mask_key_id(kid)}"
    found = scan_text(line)
    assert [(f.kind, f.excerpt) for f in found] == [
        (KIND_KEY_ID, "...p p p " + middle + " q" * 25 + "..."),
        (KIND_SECRET, "..." + "p " * 20 + middle + " q" * 8 + "..."),
    ]


def test_excerpt_around_a_position_outside_any_key() -> None:
    kid = fake_key_id()
    # Before the key: the window starts 50 characters before the position.
    line = "w " * 60 + kid + " e" * 10
    # (the window moves left where the line ends sooner, to show 120 characters)
    assert _mask_and_crop(line, 100) == "..." + "w " * 40 + mask_key_id(kid) + " e" * 10
    # After the last key: the position moves left by what masking removed (nothing here).
    line = kid + " " + "v " * 100
    assert _mask_and_crop(line, 150) == "..." + ("v " * 60).strip() + "..."
    secret = fake_secret()
    line = secret + " " + "v " * 100
    assert _mask_and_crop(line, 170) == "..." + ("v " * 60).strip() + "..."


def test_half_pasted_secret_is_masked_in_an_excerpt() -> None:
    kid, secret = fake_key_id(), fake_secret()
    for part in (secret[:24], secret[:39]):
        found = scan_text(f"{kid} {part}")
        assert [f.excerpt for f in found] == [f"{mask_key_id(kid)} {mask_secret(part)}"]
    found = scan_text(f"{kid} {secret[:23]}")  # shorter than any secret: shown as is
    assert [f.excerpt for f in found] == [f"{mask_key_id(kid)} {secret[:23]}"]


# ---------------------------------------------------------------- what counts as a secret


def test_quoted_secret_alone_is_found_only_with_matching_quotes() -> None:
    secret = fake_secret()
    assert kinds(scan_text(f'  "{secret}" ')) == [("line 1", KIND_SECRET)]
    assert kinds(scan_text(f"  `{secret}`, ")) == [("line 1", KIND_SECRET)]
    assert scan_text(f'  "{secret}\' ') == []
    assert scan_text(f"  {secret} ") == []  # neither quoted nor assigned nor near a key


def test_lower_case_or_upper_case_run_is_not_a_secret_even_with_a_keyword() -> None:
    lower = "".join(_rng.choices("ghijklmnopqrstuvwxyz0123456789", k=40))
    upper = lower.upper()
    assert scan_text(f"secret = {lower}") == []
    assert scan_text(f"secret = {upper}") == []


def test_letters_only_secret_next_to_a_key_id_is_found() -> None:
    secret = "".join(_rng.choices(string.ascii_letters, k=39)) + "/"
    assert kinds(scan_text(f"{fake_key_id()}\n{secret}")) == [
        ("line 1", KIND_KEY_ID), ("line 2", KIND_SECRET)
    ]


def test_half_wordy_token_without_keyword_is_not_a_secret() -> None:
    # 20 of 40 characters are lower-case words: as likely a name as a secret.
    token = "abcd1Q2Wefgh3E4Rijkl5T6Ymnop7U8Iqrst9O0P"
    assert len(token) == 40 and scan_text(f'x = "{token}"') == []
    more_random = "abcd1Q2W3E4R5T6Y7U8I" + "1O0P1A2S3D4F5G6H7J8K"  # split: no literal secret
    assert kinds(scan_text(f'x = "{more_random}"')) == [("line 1", KIND_SECRET)]


def test_real_key_after_the_example_key_on_one_line() -> None:
    kid = fake_key_id()
    found = scan_text(f"{EXAMPLE_KEY_ID} {kid}", allow=[])
    assert [(f.kind, f.excerpt) for f in found] == [
        (KIND_KEY_ID, f"{mask_key_id(EXAMPLE_KEY_ID)} {mask_key_id(kid)}")
    ]
    other = fake_key_id()
    assert len(scan_text(f"{other} {kid}", allow=[other])) == 1


def test_secret_pairs_with_a_key_id_on_the_next_or_previous_line_only() -> None:
    secret, kid = f" {fake_secret()} ", fake_key_id()
    assert kinds(scan_text("\n".join([secret, kid, "other"]))) == [
        ("line 1", KIND_SECRET), ("line 2", KIND_KEY_ID)
    ]
    assert kinds(scan_text("\n".join(["other", kid, secret]))) == [
        ("line 2", KIND_KEY_ID), ("line 3", KIND_SECRET)
    ]
    # Three lines apart is too far, also across the end of the text.
    assert kinds(scan_text("\n".join([secret, "", "", kid]))) == [("line 4", KIND_KEY_ID)]


# ---------------------------------------------------------------- notebooks, every place


def test_every_place_in_a_notebook_is_read(tmp_path: Path) -> None:
    ids = [fake_key_id() for _ in range(10)]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"b_note": {"v": "é" + ids[9]}, "a_note": ids[8]},
        "cells": [
            f"odd cell {ids[0]}",
            {
                "cell_type": "code",
                "source": ["print(1)\n", f"{ids[1]}\n"],
                "outputs": [
                    f"odd output {ids[2]}",
                    {"output_type": "error", "ename": "E", "evalue": f"bad {ids[3]}",
                     "traceback": ["Traceback", f"{ids[4]} was refused"]},
                    {"output_type": "display_data", "data": {}, "metadata": {"k": ids[5]}},
                ],
                "metadata": {},
            },
            {
                "cell_type": "markdown",
                "source": "see the notes",
                "attachments": {
                    "notes.txt": {"text/plain": f"key {ids[6]}", "image/png": f"{ids[7]}"},
                    "odd": "not a bundle",
                },
            },
        ],
    }
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(nb))
    found = scan_paths([path])
    assert {f.path for f in found} == {str(path)}
    assert [(f.where, f.excerpt) for f in found] == [
        ("cell 1", f"odd cell {mask_key_id(ids[0])}"),
        ("cell 2, source line 2", mask_key_id(ids[1])),
        ("cell 2, outputs", f"odd output {mask_key_id(ids[2])}"),
        ("cell 2, outputs", f"bad {mask_key_id(ids[3])}"),
        ("cell 2, outputs", f"{mask_key_id(ids[4])} was refused"),
        ("cell 2, outputs", f'"k": "{mask_key_id(ids[5])}"'),
        ("cell 3, attachment notes.txt", f"key {mask_key_id(ids[6])}"),
        ("metadata.b_note", f'"v": "é{mask_key_id(ids[9])}"'),
        ("metadata.a_note", mask_key_id(ids[8])),
    ]


def test_notebook_metadata_keeps_its_key_order(tmp_path: Path) -> None:
    first, second = fake_key_id(), fake_key_id()
    nb = {"cells": [{"cell_type": "code", "source": "1", "metadata": {"zz": first, "aa": second}}]}
    path = tmp_path / "order.ipynb"
    path.write_text(json.dumps(nb))
    assert [f.excerpt for f in scan_paths([path])] == [
        f'"zz": "{mask_key_id(first)}",', f'"aa": "{mask_key_id(second)}"'
    ]


# ---------------------------------------------------------------- files


def test_binary_means_a_nul_byte_in_the_first_8_kib(tmp_path: Path) -> None:
    kid = fake_key_id()
    head = f"{kid}\n".encode()
    late = tmp_path / "late.log"
    late.write_bytes(head + b"x" * (8192 - len(head)) + b"\0")  # NUL at byte 8192: text
    early = tmp_path / "early.log"
    early.write_bytes(head + b"x" * (8191 - len(head)) + b"\0")  # NUL at byte 8191: binary
    assert [f.path for f in scan_paths([tmp_path])] == [str(late)]


def test_file_that_is_not_utf8_is_still_read(tmp_path: Path) -> None:
    kid = fake_key_id()
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 " + kid.encode() + b"\n")
    assert [f.excerpt for f in scan_paths([path])] == [f"caf\ufffd {mask_key_id(kid)}"]


def test_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        scan_paths([tmp_path / "nope"])
    assert str(err.value) == f"There is no file or folder called {str(tmp_path / 'nope')!r}."


def test_links_are_followed_once_and_broken_ones_skipped(tmp_path: Path) -> None:
    one, two = fake_key_id(), fake_key_id()
    (tmp_path / "a.txt").write_text(one)
    (tmp_path / "b-broken").symlink_to(tmp_path / "missing")
    (tmp_path / "c-link").symlink_to(tmp_path / "a.txt")
    (tmp_path / "d.txt").write_text(two)
    found = scan_paths([tmp_path])
    assert [(f.path, f.excerpt) for f in found] == [
        (str(tmp_path / "a.txt"), mask_key_id(one)), (str(tmp_path / "d.txt"), mask_key_id(two))
    ]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_readable_by_group_or_by_everyone_says_who(tmp_path: Path) -> None:
    folder = tmp_path / "aws"
    folder.mkdir()
    group, world = folder / "credentials", tmp_path / "credentials"
    for path, mode in ((group, 0o640), (world, 0o604)):
        path.write_text("[default]\nregion = us-east-1\n")
        path.chmod(mode)
    found = {f.path: f.excerpt for f in scan_paths([group, world])}
    assert found == {
        str(group): f"mode 0640 lets your group read it; run: chmod 600 {group}",
        str(world): f"mode 0604 lets other users read it; run: chmod 600 {world}",
    }


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_a_section_alone_does_not_make_a_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    path.write_text("[section]\nname = x\n")
    path.chmod(0o644)
    assert scan_paths([path]) == []
    lone = tmp_path / "lone.ini"
    lone.write_text(f"aws_secret_access_key = {EXAMPLE_SECRET}\n")
    lone.chmod(0o644)
    assert scan_paths([lone]) == []


# ---------------------------------------------------------------- summary, advice, help


def test_summary_and_advice_for_each_kind() -> None:
    secret = Finding("a.py", "line 1", KIND_SECRET, "x")
    key_id = Finding("b.py", "line 2", KIND_KEY_ID, "y")
    readable = Finding("credentials", "file", KIND_READABLE, "z")
    rotate = (
        "treat every real key shown as leaked: deactivate it in IAM, create a new one "
        "(rotate), then delete the old one and remove it from the file"
    )
    chmod = "run the chmod 600 shown so only you can read the credentials file"
    assert summarize([secret, key_id, readable], 7) == (
        "Found 2 possible secrets and 1 credentials file readable by others in 3 files."
    )
    assert summarize([secret], 1) == "Found 1 possible secret in 1 file."
    assert summarize([], 1) == "No secrets found in 1 file."
    assert advice([secret]) == f"What to do: {rotate}."
    assert advice([readable]) == f"What to do: {chmod}."
    assert advice([key_id, readable]) == f"What to do: {rotate}; {chmod}."


def test_help_names_the_command_and_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse's --help, as for every command
        cli(["scan", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: python -m labkit scan [-h] [--allow KEYID] PATH [PATH ...]")
    for words in (
        "Look for AWS access keys, secret keys and readable credentials files.",
        "PATH files or folders to scan",
        "--allow KEYID an access key ID not to report (for example a key you already deleted);"
        " repeatable",
    ):
        assert words in out


def test_findings_name_the_file_as_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kid = fake_key_id()
    monkeypatch.chdir(tmp_path)
    Path("notes.md").write_text(kid)
    assert [f.path for f in scan_paths([tmp_path])] == [str(tmp_path / "notes.md")]
    assert [str(f) for f in scan_paths(["notes.md"])] == [
        f"notes.md:line 1: access_key_id: {mask_key_id(kid)}"
    ]


def test_excerpt_window_between_two_keys_and_right_after_one() -> None:
    one, two = fake_key_id(), fake_key_id()
    # A position between two keys: 50 characters of context before it, 120 in all.
    line = one + " w" * 70 + two + " e" * 100
    masked = mask_key_id(one) + " w" * 70 + mask_key_id(two) + " e" * 100
    assert _mask_and_crop(line, 100) == "..." + masked[50:170].strip() + "..."
    # The position right after a key is outside it.
    line = "w " * 50 + one + " e" * 100
    masked = "w " * 50 + mask_key_id(one) + " e" * 100
    assert _mask_and_crop(line, 120) == "..." + masked[70:190].strip() + "..."


def test_secret_on_the_line_above_a_last_line_key_id() -> None:
    secret, kid = f" {fake_secret()} ", fake_key_id()
    assert kinds(scan_text(f"{secret}\n{kid}")) == [
        ("line 1", KIND_SECRET), ("line 2", KIND_KEY_ID)
    ]
