"""The suite's two tiers (conftest.py): `pytest` is the fast loop, `pytest --full` runs everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Full tier: it collects the whole suite four times.
pytestmark = pytest.mark.slow


def _collect(*args: str) -> list[str]:
    """The test ids `pytest --collect-only` lists for `args`, as a developer would run it."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_fast_tier_leaves_out_exactly_the_slow_tests_and_the_full_tier_none() -> None:
    full, fast, slow = set(_collect("--full")), set(_collect()), set(_collect("-m", "slow"))
    assert fast and slow and full == fast | slow and not fast & slow
    lessons = sorted(p.name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) == 11  # 00-09 and the capstone, 10
    for lesson in lessons:  # every lesson through nbval in CI; one of them in the fast loop
        assert any(i.startswith(f"notebooks/{lesson}::") for i in full), lesson
    assert {i.split("::")[0] for i in fast if i.startswith("notebooks/")} == {
        "notebooks/03_create_access_keys.ipynb"}
    for folder in ("tests/browser/", "tests/hub/"):
        assert any(i.startswith(folder) for i in full) and not any(
            i.startswith(folder) for i in fast), folder
    assert "tests/test_lessons.py::test_the_whole_course_in_order" in slow
    assert "tests/test_layers.py::test_every_import_points_down" in fast


def test_naming_a_file_runs_its_slow_tests_too() -> None:
    named = _collect("tests/test_session.py")
    assert "tests/test_session.py::test_the_whole_course_on_a_stock_moto_server" in named
    assert "tests/test_session.py::test_unknown_backend_says_which_ones_exist" in named
