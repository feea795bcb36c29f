"""The learner types the tutorial's `aws configure` (the real CLI, its prompts answered on stdin),
with the default profile or a named one; lesson 04's checkpoint sees it, with which key, and
lessons 05-09 then run with no error, every CLI command they give included."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labkit.keys import mask_key_id

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
USER = "temporary-iam-user"


def aws_configure(key_id: str, secret: str, profile: str | None = None) -> str:
    """`aws configure [--profile NAME]` as a learner types it: four answers, output left empty."""
    command = ["aws", "configure"] + (["--profile", profile] if profile else [])
    done = subprocess.run(command, input=f"{key_id}\n{secret}\nus-east-1\n\n", text=True,
                          capture_output=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return done.stdout


def _run(path: Path, replace: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """Run a lesson in a fresh kernel (any error fails the test); `replace`: an exercise cell's
    placeholder replaced, as a learner types a solution."""
    nb = nbformat.read(path, as_version=4)
    typed = (replace or {}).get(path.stem)
    for cell in nb.cells:
        if typed is not None and "exercise" in cell.get("metadata", {}).get("tags", []):
            cell.source = typed
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _outputs(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   for o in cell.get("outputs", []))


def _cell(nb: nbformat.NotebookNode, starts: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts))


# Lesson 08's exercise, solved with the CLI as its folded solution shows (the administrator).
CLI_SOLUTION_08 = (
    "!aws iam update-access-key --user-name temporary-iam-user --access-key-id "
    "{second.key.access_key_id} --status Inactive --profile console\n"
    "!aws iam delete-access-key --user-name temporary-iam-user --access-key-id "
    "{second.key.access_key_id} --profile console")


@pytest.mark.parametrize("profile", [None, USER], ids=["default-profile", "named-profile"])
def test_after_the_learners_own_aws_configure_lessons_04_to_09_run(
        profile: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import course, sandbox
    from labkit import session as lab_session

    home = tmp_path / ".labkit"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_HOME", str(home))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    for name in ("LABKIT_BACKEND", "LABKIT_SANDBOX_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lab_session, "_current", None)
    try:
        # Lessons 02-03 (caught up): the user, its key and the .csv the learner copies from.
        key = course.start("04_configure_the_cli").key
        assert key is not None
        aws_configure(key.access_key_id, key.reveal_secret(), profile)  # env: the sandbox's
        who = subprocess.run(["aws", "sts", "get-caller-identity"]
                             + (["--profile", profile] if profile else []),
                             capture_output=True, text=True, timeout=60)
        assert json.loads(who.stdout)["Arn"].endswith(f":user/{USER}"), who.stderr

        nb = _run(NOTEBOOKS / "04_configure_the_cli.ipynb")
        said = _outputs(_cell(nb, 'lesson.verify("cli_configured")'))
        assert said.startswith("✅"), said
        assert f"[{profile or 'default'}] holds {mask_key_id(key.access_key_id)}" in said, said
        assert key.reveal_secret() not in json.dumps(nb)
        progress = json.loads((home / "progress.json").read_text())["lessons"]
        assert progress["04_configure_the_cli"]["cli_configured"]["ok"] is True

        for stem in ("05_rotate_access_keys", "06_monitor_key_age_and_usage",
                     "07_prefer_iam_roles", "08_keep_secrets_out_of_code", "09_clean_up"):
            nb = _run(NOTEBOOKS / f"{stem}.ipynb",
                      replace={"08_keep_secrets_out_of_code": CLI_SOLUTION_08})
            cli = [_outputs(c) for c in nb.cells if c.cell_type == "code" and "!aws" in c.source]
            if stem == "08_keep_secrets_out_of_code":
                checked = _outputs(_cell(nb, 'lesson.exercise("second_leak")'))
                assert checked.startswith("✅"), checked
            if stem == "09_clean_up":
                gone = _outputs(_cell(nb, "!aws iam get-user"))
                assert "(NoSuchEntity)" in gone, gone
                cli.remove(gone)
                # [default] signs again as the administrator, whatever lesson 04 made it.
                assert _outputs(_cell(nb, "!aws sts get-caller-identity")).strip().endswith(
                    ":user/console-admin")
            errors = [text for text in cli if "An error occurred" in text or "error:" in text]
            assert errors == [], (stem, errors)
    finally:
        sandbox.stop(home)
