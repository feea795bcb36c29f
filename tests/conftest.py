"""Shared fixtures: one real sandbox server for the session, reset to a fresh account per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A LABKIT_HOME with a running sandbox, used by every test that needs the lab."""
    from labkit import sandbox

    home = tmp_path_factory.mktemp("labkit-home")
    old = {k: os.environ.get(k) for k in ("LABKIT_HOME", "LABKIT_BACKEND", "LABKIT_SANDBOX_URL")}
    os.environ["LABKIT_HOME"] = str(home)
    os.environ.pop("LABKIT_BACKEND", None)
    os.environ.pop("LABKIT_SANDBOX_URL", None)
    sandbox.ensure(home)
    yield home
    sandbox.stop(home)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def lab(sandbox_home: Path):
    """The lab connected to a fresh, empty sandbox account."""
    from labkit import sandbox
    from labkit.session import connect

    current = connect()
    sandbox.reset(current.sandbox)
    return connect()


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """labkit.session.connect() points this process's AWS_* variables at the lab (as it must in
    a kernel, for `!aws`); put them back after each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
