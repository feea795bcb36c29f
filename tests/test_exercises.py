"""Every "Your turn" exercise, both ways, as a learner meets it: each lesson 01-09 in a fresh
sandbox, Run All with the placeholder (no error, and no ✅ from the exercise check), then the
folded solution pasted into the exercise cell and Run All again in the same kernel (✅).
Notebooks are run in memory: nothing is written back to the committed lessons."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# Full tier: each lesson's exercises run twice through a kernel.
pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WITH_EXERCISES = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.stem[:2] != "00")
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```.*?</details>", re.DOTALL)


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _exercises(nb: nbformat.NotebookNode) -> list[tuple[int, int, str]]:
    """(exercise cell, check cell, solution) for each exercise, its shape checked."""
    out = []
    for i, cell in enumerate(nb.cells):
        if "exercise" not in _tags(cell):
            continue
        assert cell.cell_type == "code" and "..." in cell.source, "a placeholder to replace"
        check, solution = nb.cells[i + 1], nb.cells[i + 2]
        assert check.cell_type == "code" and "exercise-check" in _tags(check)
        assert solution.cell_type == "markdown"
        blocks = SOLUTION.findall(solution.source)
        assert len(blocks) == 1 and solution.source.count("```python") == 1, "one python block"
        out.append((i, i + 1, blocks[0].strip()))
    return out


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _run(client: NotebookClient, nb: nbformat.NotebookNode) -> None:
    for index, cell in enumerate(nb.cells):
        client.execute_cell(cell, index)  # raises CellExecutionError on any error


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=lambda p: p.stem)
def test_exercise_placeholder_then_solution(path: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import sandbox

    nb = nbformat.read(path, as_version=4)
    exercises = _exercises(nb)
    assert exercises, f"{path.stem} has no exercise"
    home = tmp_path / "labkit"
    monkeypatch.setenv("LABKIT_HOME", str(home))  # the kernel inherits it: a fresh sandbox
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    for name in ("LABKIT_SANDBOX_URL", "LABKIT_BACKEND", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        with client.setup_kernel():
            _run(client, nb)
            for _, check, _ in exercises:
                said = _text(nb.cells[check])
                assert said.strip() and "✅" not in said, said
            for cell, _, solution in exercises:
                nb.cells[cell].source = solution
            _run(client, nb)
            for _, check, _ in exercises:
                said = _text(nb.cells[check])
                assert said.startswith("✅"), said
    finally:
        sandbox.stop(home)
