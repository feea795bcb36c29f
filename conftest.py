"""Each lesson collected by nbval runs against a fresh sandbox of its own (a new LABKIT_HOME),
so every lesson is shown to work alone, catching up on what earlier lessons would have made."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_current: dict[str, Path] = {}


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
