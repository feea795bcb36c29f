"""The tests and bench/ refuse to run the lessons with a labkit older than the checkout's code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tools.installed import stale_install

ROOT = Path(__file__).resolve().parents[1]


def _checkout_like(tmp_path: Path) -> Path:
    """A copy of this checkout's labkit and notebooks folder, elsewhere: its kernels import the
    labkit installed in this Python (the one the suite runs with)."""
    shutil.copytree(ROOT / "labkit", tmp_path / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def test_the_installed_labkit_is_this_checkouts() -> None:
    assert stale_install(ROOT) is None


def test_a_changed_module_is_named_with_what_to_do(tmp_path: Path) -> None:
    root = _checkout_like(tmp_path)
    assert stale_install(root) is None
    with open(root / "labkit" / "keys.py", "a") as fh:
        fh.write("\n# a change not installed yet\n")
    (root / "labkit" / "brand_new.py").write_text("X = 1\n")
    said = stale_install(root)
    assert said is not None
    assert "2 file(s) differ (brand_new.py, keys.py)" in said
    assert "pip install --no-deps --force-reinstall ." in said


def test_pytest_stops_before_any_test_when_the_install_is_stale(tmp_path: Path) -> None:
    root = _checkout_like(tmp_path)
    (root / "labkit" / "keys.py").write_text("# not what is installed\n")
    shutil.copy(ROOT / "conftest.py", root / "conftest.py")
    shutil.copytree(ROOT / "tools", root / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "tests").mkdir()
    (root / "tests" / "test_any.py").write_text("def test_any():\n    assert True\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_any.py"], cwd=root, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "keys.py" in done.stdout + done.stderr
    assert "1 passed" not in done.stdout
