"""The repository itself: no secrets in any tracked file, lessons committed clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                         check=False)
    return [f for f in out.stdout.splitlines() if (REPO / f).is_file()] if out.returncode == 0 \
        else [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()
              and ".git" not in p.parts]


def test_the_scanner_finds_no_secret_in_the_repository() -> None:
    files = _tracked()
    assert len(files) > 20
    done = subprocess.run([sys.executable, "-m", "labkit", "scan", *files], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No secrets found" in done.stdout


def test_lessons_are_committed_without_outputs_or_widget_state() -> None:
    for name in (f for f in _tracked() if f.endswith(".ipynb")):
        nb = json.loads((REPO / name).read_text())
        assert "widgets" not in nb.get("metadata", {}), name
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name


def _readme_commands(section: str) -> list[str]:
    """The lines of the ```bash blocks in the README's `## section`."""
    import re

    readme = (REPO / "README.md").read_text()
    part = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [line for block in re.findall(r"```bash\n(.*?)```", part, re.DOTALL)
            for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readmes_full_test_command_in_a_fresh_venv() -> None:
    full, fast = _readme_commands("The tests")
    assert full == "pip install -r requirements.txt && pytest --full"
    assert fast == "pytest"
    run = (REPO / ".ci" / "run").read_text().splitlines()
    venv = run.index('python3 -m venv "$venv"')
    activate = run.index('source "$venv/bin/activate"')
    assert venv < activate < run.index(full)  # inside a venv made just before
    assert run[-1] == full  # the last thing CI does: its status is CI's
