"""The course as a learner meets it: every lesson in order, each run twice in one kernel, with
widget state stored as nbclient does by default; no secret in any saved result; ~/.aws untouched.
(nbval also runs each lesson alone against a fresh sandbox: see the root conftest.py.)"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
BASE64_RUN = re.compile(r"[A-Za-z0-9/+=]{40,}")


def test_there_are_eleven_lessons_named_verb_object() -> None:
    """00 to 09 follow the tutorial; 10 is the capstone."""
    from labkit.course import LESSONS as NAMES

    assert [p.stem for p in LESSONS] == list(NAMES)
    assert len(LESSONS) == 11 and LESSONS[-1].stem == "10_respond_to_a_leaked_key"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_structure(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert not nb.metadata.get("widgets"), "committed with saved widget state"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "committed with outputs"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert len(re.findall(r"^# ", markdown, re.MULTILINE)) == 1, "one H1 title"
    for heading in ("## Overview", "## Setup", "## Key points", "## What's next"):
        assert heading in markdown, heading
    assert re.search(r"\*\*Time:\*\*", markdown), "the time it takes"
    assert "labkit.start(" in code[1].source, "the second code cell connects and catches up"
    sources = "\n".join(c.source for c in code)
    for banned in ("input(", "pip install", "import *"):
        assert banned not in sources, banned
    steps = re.findall(r"^## Step (\d+) - ", markdown, re.MULTILINE)
    assert steps and steps == [str(i) for i in range(1, len(steps) + 1)], "numbered steps"
    nxt = re.search(r"## What's next.*?\]\(([^)]+)\)", markdown, re.DOTALL)
    assert nxt and (NOTEBOOKS / nxt.group(1)).exists(), "What's next links a lesson"


def _run_twice(path: Path, workdir: Path) -> tuple[nbformat.NotebookNode, list[float]]:
    """Run All, then Run All again in the same kernel, as a learner re-running a lesson."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    took = []
    with client.setup_kernel():
        for _ in range(2):
            began = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)  # raises CellExecutionError on any error
            took.append(time.perf_counter() - began)
        client.set_widgets_metadata()
    return nb, took


def _issued_secrets_in(texts: list[str], box) -> list[str]:
    candidates: list[str] = []
    for text in texts:
        for run in BASE64_RUN.findall(text):
            candidates.append(run)
            candidates += [run[i:i + 40] for i in range(len(run) - 39)]
    found = box.admin("POST", "issued", {"candidates": candidates})["issued"]
    return [candidates[i][:4] + "..." for i in found]


@pytest.mark.slow
def test_the_whole_course_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import sandbox

    home = tmp_path / "home"
    aws = home / ".aws"
    aws.mkdir(parents=True)
    # A learner's own AWS files, which the sandbox must never touch.
    (aws / "credentials").write_text("# my real keys\n[default]\naws_access_key_id = "
                                     "AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = "
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    (aws / "config").write_text("[default]\nregion = eu-west-1\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in aws.iterdir()}
    labkit_home = home / ".labkit"
    monkeypatch.setenv("MPLCONFIGDIR", str(Path.home() / ".config" / "matplotlib"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LABKIT_HOME", str(labkit_home))
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL",
                 "AWS_PROFILE", "LABKIT_SANDBOX_URL", "LABKIT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    saved: list[str] = []
    timings = {}
    try:
        for path in LESSONS:
            nb, took = _run_twice(path, NOTEBOOKS)
            timings[path.stem] = took
            saved.append(nbformat.writes(nb))
            if "widgets." in path.read_text():  # so the secret check below means something
                assert nb.metadata.get("widgets"), "nbclient stored no widget state"
        box = sandbox.ensure(labkit_home)
        assert _issued_secrets_in(saved, box) == []
        # The detector is not blind: the console identity's secret is one the sandbox issued.
        assert _issued_secrets_in([box.console.reveal_secret()], box)
        progress = json.loads((labkit_home / "progress.json").read_text())
        assert set(progress["lessons"]) == {p.stem for p in LESSONS}
        # Nobody typed `aws configure` in a terminal here: lesson 04 did it for the learner, and
        # its checkpoint records that the learner did not; every other checkpoint passed.
        typed = progress["lessons"]["04_configure_the_cli"].pop("cli_configured")
        assert typed["ok"] is False
        assert all(c["ok"] for lesson in progress["lessons"].values() for c in lesson.values())
    finally:
        sandbox.stop(labkit_home)
    # Everything the lab wrote is private: folders 0700, files 0600.
    for path in [labkit_home, *labkit_home.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path} is readable by others ({mode:o})"
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in aws.iterdir()}
    assert after == before, "the learner's ~/.aws was changed"
    report = ", ".join(f"{k[:2]}: {v[0]:.1f}s/{v[1]:.1f}s" for k, v in timings.items())
    print(f"\nlesson run times (first/second run): {report}")
