"""The suite's two tiers, and a fresh sandbox for each lesson nbval runs.

Tiers: `pytest` alone runs the fast tier, for after each change (unit tests, one lesson end to
end through nbval); `pytest --full` runs everything (CI does): every lesson, nbval, the browser,
the hub, the security and start-up tests. A test is in the full tier only when it is marked
`slow` (in its file), or lives in notebooks/ (but FAST_LESSON), tests/browser/ or tests/hub/.
Naming files or tests (`pytest tests/test_serverext.py`), `-k` or `-m` runs what they select,
slow or not.

Each lesson collected by nbval runs against a fresh sandbox of its own (a new LABKIT_HOME),
so every lesson is shown to work alone, catching up on what earlier lessons would have made."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_current: dict[str, Path] = {}

ROOT = Path(__file__).resolve().parent
# The lesson nbval runs in the fast tier: the course's central step, making an access key.
FAST_LESSON = ROOT / "notebooks" / "03_create_access_keys.ipynb"
SLOW_FOLDERS = (ROOT / "notebooks", ROOT / "tests" / "browser", ROOT / "tests" / "hub")
_deselected: list[int] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="run the full tier (what CI runs): every lesson, nbval, the browser, "
                          "the hub, the security tests; without it `pytest` runs the fast tier")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: in the full tier only (`pytest --full`)")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Lessons' kernels import the installed labkit: refuse to test a copy older than the code."""
    from tools.installed import stale_install

    said = stale_install(ROOT)
    if said:
        pytest.exit(said, returncode=pytest.ExitCode.USAGE_ERROR)


def is_slow(item: pytest.Item) -> bool:
    """Whether `item` belongs to the full tier only."""
    path = Path(str(item.path)).resolve()
    if item.get_closest_marker("slow") is not None:
        return True
    return path != FAST_LESSON and any(folder in path.parents for folder in SLOW_FOLDERS)


def _chose_tests(config: pytest.Config) -> bool:
    """True when the command line named files or tests, or gave -k or -m."""
    return (config.args_source != pytest.Config.ArgsSource.TESTPATHS
            or bool(config.option.keyword) or bool(config.option.markexpr))


@pytest.hookimpl(tryfirst=True)  # before -m reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = []
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
            slow.append(item)
    if config.getoption("--full") or _chose_tests(config) or not slow:
        return
    config.hook.pytest_deselected(items=slow)
    left_out = set(slow)
    items[:] = [item for item in items if item not in left_out]
    _deselected.append(len(slow))


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    if not _deselected:
        return None
    return (f"fast tier: {_deselected[0]} slow tests left out; `pytest --full` runs everything "
            "(as CI does)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    notebook = getattr(item, "parent", None)
    if not str(getattr(notebook, "path", "")).endswith(".ipynb"):
        return
    if _current.get("notebook") == notebook.path:
        return
    _finish()
    # The kernel nbval is about to start inherits this environment.
    home = Path(tempfile.mkdtemp(prefix="labkit-lesson-"))
    _current.update(notebook=notebook.path, home=home, old=os.environ.get("LABKIT_HOME", ""))
    os.environ["LABKIT_HOME"] = str(home)


def _finish() -> None:
    home = _current.pop("home", None)
    old = _current.pop("old", None)
    _current.pop("notebook", None)
    if home is None:
        return
    from labkit import sandbox

    sandbox.stop(home)
    shutil.rmtree(home, ignore_errors=True)
    if old:
        os.environ["LABKIT_HOME"] = str(old)
    else:
        os.environ.pop("LABKIT_HOME", None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    _finish()
