"""Fixtures for end-to-end tests: a real JupyterLab server driven in Debian's Chromium.

- `lab_server` (module scope): one `jupyter lab` per test module, isolated HOME/config/runtime,
  yields a `jlab.Lab` (url, token, root, home, ...). Override the module-scoped fixtures
  `lab_env` ({VAR: value}, e.g. LABKIT_* variables) and `lab_settings` ({plugin id: {key: value}})
  in a test module to change how it starts.
- `browser` (session scope): headless Debian Chromium through Playwright's sync API.
- `page` (function scope): a fresh browser context (1400x1000). After the test the lab's sessions,
  kernels and workspaces are reset; on failure a screenshot, the browser console and the
  server log's tail are printed/saved.

Every test under tests/browser/ gets the `browser` marker. Tests skip (never fail) when
Playwright or Chromium is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import jlab

BROWSER_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # Already declared in pyproject.toml; repeated so that `-c other.ini` runs stay warning-free.
    config.addinivalue_line("markers", "browser: drives JupyterLab in Chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    # Keep each phase's report on the item, so fixtures can tell a failed test at teardown.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ---------------------------------------------------------------- browser


# chromium_path, playwright_instance and browser: tests/conftest.py (the hub test uses them too).


# ---------------------------------------------------------------- lab server


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str]:
    """Extra environment for the module's lab server (override in a test module)."""
    return {}


@pytest.fixture(scope="module")
def lab_settings() -> dict[str, dict]:
    """Extra lab user settings {plugin id: {key: value}} (override in a test module)."""
    return {}


@pytest.fixture(scope="module")
def lab_args() -> list[str]:
    """Extra `jupyter lab` options (override in a test module; e.g. terminals on)."""
    return []


@pytest.fixture(scope="module")
def lab_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    lab_env: dict[str, str],
    lab_settings: dict[str, dict],
    lab_args: list[str],
) -> Iterator[jlab.Lab]:
    base = tmp_path_factory.mktemp("jlab")
    t0 = time.monotonic()
    lab = jlab.start_lab(base, env=lab_env, settings=lab_settings, timeout=60, args=lab_args)
    print(f"\njupyter lab up at {lab.url} in {time.monotonic() - t0:.1f}s (root {lab.root})")
    try:
        yield lab
    finally:
        jlab.stop_lab(lab)
        failed = request.session.testsfailed
        if failed:
            print(f"\n--- jupyter lab log ({lab.log_path}) ---\n{lab.log()[-20000:]}")


# ---------------------------------------------------------------- page


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, lab_server: jlab.Lab) -> Iterator[object]:
    context = browser.new_context(viewport=jlab.VIEWPORT)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                shot = jlab.screenshot(pg, f"FAILED-{request.node.name}")
                print(f"\nscreenshot: {shot}")
            except jlab.PlaywrightError as exc:
                print(f"\n(no screenshot: {exc})")
            print("\n--- browser console ---\n" + "\n".join(console[-200:]))
            print(f"\n--- jupyter lab log (tail) ---\n{lab_server.log()[-8000:]}")
        context.close()
        lab_server.reset()
