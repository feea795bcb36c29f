"""Shared fixtures: one real sandbox server for the session, reset to a fresh account per test."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
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
def replaced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every `os.replace(src, dst)` made during the test, as strings; the renames still happen."""
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return seen


@pytest.fixture
def lab(sandbox_home: Path):
    """The lab connected to a fresh, empty sandbox account, with fresh CLI files: profiles an
    earlier test saved would hold keys of users this account never had."""
    from labkit import sandbox
    from labkit.session import connect

    current = connect()
    sandbox.reset(current.sandbox)
    for path in (current.credentials_file, current.config_file):
        path.unlink(missing_ok=True)
    return connect(refresh=True)  # writes [console] and [default] again


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """labkit.session.connect() points this process's AWS_* variables at the lab (as it must in
    a kernel, for `!aws`); put them back after each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


ROOT_STS = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn>"
            b"<UserId>123456789012</UserId><Account>123456789012</Account>"
            b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
            b"</ResponseMetadata></GetCallerIdentityResponse>")


@pytest.fixture
def root_sts() -> Iterator[str]:
    """The URL of a stand-in for AWS's STS that says every key belongs to the root user (neither
    moto nor the sandbox ever answers GetCallerIdentity so)."""

    class Sts(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(ROOT_STS)))
            self.end_headers()
            self.wfile.write(ROOT_STS)

        def log_message(self, *args: object) -> None:
            pass

    web = HTTPServer(("127.0.0.1", 0), Sts)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{web.server_address[1]}"
    web.shutdown()


# ---------------------------------------------------------------- Chromium (browser and hub tests)
# One Playwright for the whole run: a second sync_playwright() while one is alive fails.

@pytest.fixture(scope="session")
def chromium_path() -> str:
    from tests.browser import jlab

    path = jlab.find_chromium()
    if path is None:
        pytest.skip(f"Chromium not found at {jlab.DEFAULT_CHROMIUM}: apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python not installed: pip install playwright")
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance, chromium_path: str) -> Iterator[object]:
    from tests.browser import jlab

    try:
        b = jlab.launch_chromium(playwright_instance, chromium_path)
    except jlab.PlaywrightError as exc:  # e.g. missing shared libraries in a slim image
        pytest.skip(f"Chromium at {chromium_path} did not start: {exc}")
    try:
        yield b
    finally:
        b.close()
