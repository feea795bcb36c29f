"""Helpers that start a real JupyterLab server and drive it in Chromium through Playwright.

Plain functions, no pytest in here, so a failing browser test can be replayed by hand:

    from tests.browser import jlab
    lab = jlab.start_lab(Path("/tmp/x"))
    ...                              # sync_playwright(), jlab.launch_chromium(p), open_notebook...
    jlab.stop_lab(lab)

Everything targets JupyterLab 4 (checked against 4.6) with ipywidgets 8 / jupyterlab_widgets 3.
No network is needed or used: Chromium is Debian's (/usr/bin/chromium, never a Playwright
download) and the lab server has its news feed, update check and PyPI extension manager off.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # the fixtures skip before any page helper can run

    class PlaywrightError(Exception):  # type: ignore[no-redef]
        pass

    PlaywrightTimeoutError = PlaywrightError  # type: ignore[misc,assignment]

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in a container: the setuid/namespace sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}

WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
SAVE_WIDGET_STATE_COMMAND = "@jupyter-widgets/jupyterlab-manager:saveWidgetState"

# User settings written into the temporary JUPYTER_CONFIG_DIR before the server starts, so that
# no run asks about (or fetches) the Jupyter news feed and every cell stays in the DOM.
DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # The default "contentVisibility" windowing lets off-screen cells skip rendering; with
    # "none" every cell is laid out, so text queries and screenshots see the whole notebook.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}

# ---------------------------------------------------------------- selectors (JupyterLab 4)
SPLASH = "#jupyterlab-splash"
MAIN_DOCK = "#jp-main-dock-panel"
# The notebook in the current (active) tab of the main area.
CURRENT_NOTEBOOK = f"{MAIN_DOCK} .jp-NotebookPanel:not(.lm-mod-hidden)"
NOTEBOOK_PANEL = ".jp-NotebookPanel"
EXECUTION_INDICATOR = ".jp-Notebook-ExecutionIndicator"  # toolbar item, has data-status
STATUSBAR_TEXT = "#jp-main-statusbar .jp-StatusBar-TextItem"  # "Python 3 (ipykernel) | Idle"
CURRENT_TAB = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"
WIDGET_ERROR_TEXT = "Error displaying widget"

# In-page predicate: the current notebook shows no running/queued cell ("[*]:") and its kernel
# is idle, both in the toolbar's execution indicator and in the status bar's kernel item.
_IDLE_JS = r"""
(sel) => {
  const nb = document.querySelector(sel.notebook);
  if (!nb) return false;
  const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  if (prompts.some(p => (p.textContent || '').includes('*'))) return false;
  const ind = nb.querySelector(sel.indicator);
  if (ind && ind.getAttribute('data-status') !== 'idle') return false;
  const items = [...document.querySelectorAll(sel.statusbar)].map(e => e.textContent || '');
  return items.some(t => /\|\s*Idle\s*$/.test(t.trim()));
}
"""

_PROMPTS_JS = r"""
(sel) => {
  const nb = document.querySelector(sel);
  if (!nb) return null;
  return [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent || '');
}
"""


# ---------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """Debian's Chromium: `chromium` on PATH, else /usr/bin/chromium; None when absent."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.path.isfile(DEFAULT_CHROMIUM) and os.access(DEFAULT_CHROMIUM, os.X_OK):
        return DEFAULT_CHROMIUM
    return None


def launch_chromium(playwright, executable: str | None = None, **kwargs):
    """Launch headless Debian Chromium (never a Playwright-downloaded browser)."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError(f"Chromium not found at {DEFAULT_CHROMIUM}: apt-get install chromium")
    args = list(CHROMIUM_ARGS) + list(kwargs.pop("args", []))
    return playwright.chromium.launch(
        executable_path=executable, args=args, headless=kwargs.pop("headless", True), **kwargs
    )


# ---------------------------------------------------------------- the lab server


@dataclass
class Lab:
    """A running `jupyter lab`: where it listens, where its files and its home are."""

    url: str  # http://127.0.0.1:PORT (no trailing slash, base_url is /)
    token: str
    root: Path  # ServerApp.root_dir: copy notebooks here
    home: Path  # HOME of the server and its kernels
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    # -- REST ------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """Call the server's REST API with the token; JSON in and out (None for no content)."""
        url = f"{self.url}/{path.lstrip('/')}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def lab_url(self, path: str = "lab", **query: str) -> str:
        q = {"token": self.token, **query}
        return f"{self.url}/{path.lstrip('/')}?{urllib.parse.urlencode(q)}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- files -----------------------------------------------------------------------------
    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def read_notebook(self, relpath: str) -> dict:
        """The .ipynb as saved on disk, as plain JSON."""
        return json.loads(self.path(relpath).read_text())

    def copy_in(self, src: str | os.PathLike, relpath: str | None = None) -> str:
        """Copy a file into the lab root; returns its path relative to the root. A lesson comes
        with its checks file beside it (checks/<lesson>.py), as nbgitpuller pulls the course."""
        src = Path(src)
        relpath = relpath or src.name
        dest = self.path(relpath)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        checks = src.parent / "checks" / f"{src.stem}.py"
        if src.suffix == ".ipynb" and checks.is_file():
            (dest.parent / "checks").mkdir(exist_ok=True)
            shutil.copy2(checks, dest.parent / "checks" / f"{dest.stem}.py")
        return relpath

    # -- state between tests ---------------------------------------------------------------
    def reset(self) -> None:
        """Shut down every session and kernel, forget the saved workspaces."""
        try:
            for s in self.api("GET", "api/sessions") or []:
                self.api("DELETE", f"api/sessions/{s['id']}")
            for k in self.api("GET", "api/kernels") or []:
                self.api("DELETE", f"api/kernels/{k['id']}")
            ws = self.api("GET", "lab/api/workspaces") or {}
            for wid in ws.get("workspaces", {}).get("ids", []):
                self.api("DELETE", f"lab/api/workspaces/{urllib.parse.quote(wid)}")
        except (urllib.error.URLError, OSError):
            pass

    # -- settings --------------------------------------------------------------------------
    def get_setting(self, plugin: str, key: str | None = None) -> Any:
        """The effective (composite) value of a plugin's setting, or all of them."""
        data = self.api("GET", f"lab/api/settings/{plugin}")
        composite = data.get("settings") or {}
        # jupyterlab_server returns the user values in "settings"; defaults live in the schema.
        if key is None:
            return composite
        if key in composite:
            return composite[key]
        return data.get("schema", {}).get("properties", {}).get(key, {}).get("default")

    def set_setting(self, plugin: str, key: str, value: Any) -> None:
        """Write one user setting through `PUT /lab/api/settings/<plugin>` (server side only)."""
        data = self.api("GET", f"lab/api/settings/{plugin}")
        user = dict(data.get("settings") or {})
        user[key] = value
        self.api("PUT", f"lab/api/settings/{plugin}", {"raw": json.dumps(user, indent=2)})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_user_settings(config_dir: Path, settings: dict[str, dict[str, Any]]) -> None:
    """Pre-seed lab user settings: <config>/lab/user-settings/<pkg>/<plugin>.jupyterlab-settings."""
    for plugin_id, values in settings.items():
        pkg, _, name = plugin_id.partition(":")
        dest = config_dir / "lab" / "user-settings" / pkg / f"{name}.jupyterlab-settings"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(values, indent=2))


def lab_command(port: int, token: str, root: Path, args: list[str] | None = None) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        # jupyter_server 2 moved the token to the identity provider (ServerApp.token still works
        # but logs a deprecation warning).
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.open_browser=False",
        "--ServerApp.terminals_enabled=False",
        # no network: no news feed, no update check, no PyPI extension manager
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # else: "Running as root is not recommended" and exit
    # An option in `args` replaces the default one of the same name (traitlets refuses both).
    given = {a.split("=", 1)[0] for a in args or [] if "=" in a}
    return [c for c in cmd if c.split("=", 1)[0] not in given] + list(args or [])


def start_lab(
    base: str | os.PathLike,
    env: dict[str, str | None] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    timeout: float = 60.0,
    args: list[str] | None = None,
) -> Lab:
    """Start `python -m jupyterlab` on 127.0.0.1 with its root, home and config under `base`.

    `env` is added to (and overrides) the isolated environment, e.g. LABKIT_* variables; a
    value of None removes that variable (e.g. an AWS_PROFILE from the developer's shell).
    `settings` ({plugin id: {key: value}}) is merged over DEFAULT_SETTINGS as user settings.
    `args` are added to the `jupyter lab` command line.
    JUPYTER_DATA_DIR only replaces the *user* data dir: sys.prefix/share/jupyter (where
    jupyterlab_widgets' labextension and the python3 kernelspec live) stays on the path.
    """
    base = Path(base)
    root = base / "root"
    home = base / "home"
    config_dir = home / ".jupyter"
    data_dir = home / ".local" / "share" / "jupyter"
    runtime_dir = data_dir / "runtime"
    for d in (root, home, config_dir, data_dir, runtime_dir, home / ".ipython"):
        d.mkdir(parents=True, exist_ok=True)
    (home / ".labkit").mkdir(mode=0o700, exist_ok=True)  # labkit refuses a folder others can read
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_SETTINGS.items()}
    for plugin_id, values in (settings or {}).items():
        merged.setdefault(plugin_id, {}).update(values)
    _write_user_settings(config_dir, merged)

    full_env = dict(os.environ)
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_TOKEN"):
        full_env.pop(var, None)
    full_env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(data_dir),
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
        IPYTHONDIR=str(home / ".ipython"),
        LABKIT_HOME=str(home / ".labkit"),
        PYTHONUNBUFFERED="1",
    )
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value

    port = free_port()
    token = secrets.token_hex(16)
    log_path = base / "jupyterlab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            lab_command(port, token, root, args),
            cwd=root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can stop it and its kernels
        )
    lab = Lab(
        url=f"http://127.0.0.1:{port}",
        token=token,
        root=root,
        home=home,
        port=port,
        env=full_env,
        log_path=log_path,
        proc=proc,
    )
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {proc.returncode} before answering.\n"
                f"--- server log ---\n{lab.log()}"
            )
        try:
            status = lab.api("GET", "api/status", timeout=2)
            if isinstance(status, dict) and "started" in status:
                return lab
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_err = exc
        time.sleep(0.2)
    stop_lab(lab)
    raise RuntimeError(
        f"jupyter lab did not answer /api/status within {timeout:.0f}s ({last_err!r}).\n"
        f"--- server log ---\n{lab.log()}"
    )


def stop_lab(lab: Lab, timeout: float = 10.0) -> None:
    """Terminate the server (it shuts its kernels down), then kill its process group."""
    proc = lab.proc
    if proc is None or proc.poll() is not None:
        return
    lab.reset()  # shut kernels down politely while the server still answers
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its group only (start_new_session=True)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------- page helpers


def _lab_of(page) -> tuple[str, str]:
    """(origin + base url, token) of the lab the page shows, from JupyterLab's page config."""
    cfg = page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
    )
    origin = page.evaluate("() => location.origin")
    return origin + cfg.get("baseUrl", "/"), cfg.get("token", "")


def wait_app_ready(page, timeout: float = 60.0) -> None:
    """JupyterLab has started: the main dock panel is there and the splash screen is gone."""
    page.wait_for_selector(MAIN_DOCK, state="attached", timeout=timeout * 1000)
    page.wait_for_selector(SPLASH, state="detached", timeout=timeout * 1000)


def _accept_kernel_dialog(page) -> None:
    """A notebook without kernelspec makes JupyterLab ask "Select Kernel": take the default."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "Kernel" in (dialog.first.inner_text() or ""):
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()


def wait_kernel_idle(page, timeout: float = 60.0) -> None:
    """The current notebook's kernel is connected and idle, no cell is running or queued."""
    deadline = time.monotonic() + timeout
    sel = {
        "notebook": CURRENT_NOTEBOOK,
        "indicator": EXECUTION_INDICATOR,
        "statusbar": STATUSBAR_TEXT,
    }
    while True:
        _accept_kernel_dialog(page)
        try:
            page.wait_for_function(_IDLE_JS, arg=sel, timeout=1000)
            return
        except PlaywrightTimeoutError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"kernel not idle after {timeout:.0f}s; status bar: "
                f"{page.locator(STATUSBAR_TEXT).all_text_contents()!r}; prompts: "
                f"{page.evaluate(_PROMPTS_JS, CURRENT_NOTEBOOK)!r}"
            )


def wait_idle(page, timeout: float = 120.0) -> None:
    """Wait until no cell shows `[*]` and the kernel is idle, stable over two checks."""
    deadline = time.monotonic() + timeout
    wait_kernel_idle(page, timeout)
    page.wait_for_timeout(300)
    wait_kernel_idle(page, max(1.0, deadline - time.monotonic()))


def open_notebook(page, lab: Lab, relpath: str, timeout: float = 90.0) -> None:
    """Open `{url}/lab/tree/{relpath}?token=...` in a fresh workspace; wait for an idle kernel."""
    quoted = urllib.parse.quote(relpath)
    page.goto(lab.lab_url(f"lab/tree/{quoted}", reset=""), wait_until="domcontentloaded")
    wait_app_ready(page, timeout)
    page.wait_for_selector(CURRENT_NOTEBOOK, timeout=timeout * 1000)
    page.wait_for_selector(f"{CURRENT_NOTEBOOK} .jp-Notebook .jp-Cell", timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)


def menu_item(label: str) -> str:
    """Selector of a top menu bar entry ("File", "Run", "Settings", ...)."""
    return f"#jp-MainMenu .lm-MenuBar-item:has(.lm-MenuBar-itemLabel:text-is('{label}'))"


def _menu_command(page, menu: str, command: str) -> bool:
    """Click main menu `menu` then its item for JupyterLab `command`; False if not found."""
    item = page.locator(menu_item(menu))
    try:
        item.click(timeout=5000)
        entry = page.locator(f".lm-Menu .lm-Menu-item[data-command='{command}']").first
        entry.wait_for(state="visible", timeout=5000)
        entry.click()
        return True
    except PlaywrightError:
        page.keyboard.press("Escape")
        return False


def _command_palette(page, label: str) -> None:
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".jp-mod-commandPalette input, #modal-command-palette input").first
    box.wait_for(state="visible", timeout=5000)
    box.fill(label)
    page.keyboard.press("Enter")


def run_all(page, timeout: float = 120.0) -> str:
    """Run → Run All Cells (`runmenu:run-all` → `notebook:run-all-cells`); wait until all ran.

    Returns how the command was given: "menu", or "palette" when the menu item was not found.
    """
    before = page.evaluate(_PROMPTS_JS, CURRENT_NOTEBOOK)
    how = "menu"
    # The Run menu's "Run All Cells" is `runmenu:run-all`, which runs the current notebook's
    # `notebook:run-all-cells`; the latter is only listed in the command palette.
    if not _menu_command(page, "Run", "runmenu:run-all"):
        how = "palette"
        page.locator(CURRENT_NOTEBOOK).locator(".jp-Notebook").click(position={"x": 5, "y": 5})
        _command_palette(page, "Run All Cells")
    # Let the run start (a prompt turns to [*]) or finish (prompts changed) before waiting for
    # idle; a very fast run of an already-numbered notebook may show neither: then go on.
    try:
        page.wait_for_function(
            "([sel, before]) => { const nb = document.querySelector(sel); if (!nb) return false;"
            " const p = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".map(e => e.textContent || '');"
            " return p.some(t => t.includes('*')) || JSON.stringify(p) !== JSON.stringify(before); }",
            arg=[CURRENT_NOTEBOOK, before],
            timeout=5000,
        )
    except PlaywrightTimeoutError:
        pass  # see above: wait_idle is the real gate
    wait_idle(page, timeout)
    return how


def _current_tab_dirty(page) -> bool:
    cls = page.locator(CURRENT_TAB).first.get_attribute("class") or ""
    return "jp-mod-dirty" in cls.split()


def save(page, timeout: float = 30.0) -> None:
    """Save the current notebook (toolbar "Save", i.e. `docmanager:save`, as Ctrl+S does).

    Waits for the server's `PUT /api/contents/...` answer and for the tab to be clean.
    """
    button = page.locator(f"{CURRENT_NOTEBOOK} jp-button[data-command='docmanager:save']").first
    with page.expect_response(
        lambda r: "/api/contents/" in r.url and r.request.method == "PUT",
        timeout=timeout * 1000,
    ) as info:
        if button.count():
            button.click()
        else:
            page.locator(CURRENT_NOTEBOOK).click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+s")
    resp = info.value
    if not resp.ok:
        raise RuntimeError(f"save failed: HTTP {resp.status} {resp.text()[:500]}")
    deadline = time.monotonic() + timeout
    while _current_tab_dirty(page):
        if time.monotonic() > deadline:
            raise TimeoutError("notebook still dirty after save")
        page.wait_for_timeout(100)


def set_setting(
    page, plugin: str, key: str, value: Any, *, reload: bool = True, timeout: float = 90.0
) -> None:
    """Set a lab user setting with `PUT /lab/api/settings/<plugin>` (token from the page config).

    `page` may also be a `Lab` (then only the server is told: call it before opening a page).
    JupyterLab reads settings when a page loads and never hears of a REST change, so with a
    page, `reload=True` reloads it (unsaved notebook edits are lost: save first) and waits for
    the notebook (if one was open) and its kernel to be back. For the widget state setting,
    `set_save_widget_state` flips it live through the Settings menu instead.
    """
    if isinstance(page, Lab):
        page.set_setting(plugin, key, value)
        return
    base, token = _lab_of(page)
    result = page.evaluate(
        """async ([base, token, plugin, key, value]) => {
            const url = base + 'lab/api/settings/' + plugin;
            const h = {'Authorization': 'token ' + token, 'Content-Type': 'application/json'};
            const got = await (await fetch(url, {headers: h})).json();
            const user = Object.assign({}, got.settings || {});
            user[key] = value;
            const r = await fetch(url, {method: 'PUT', headers: h,
                                         body: JSON.stringify({raw: JSON.stringify(user)})});
            return r.status;
        }""",
        [base, token, plugin, key, value],
    )
    if result not in (200, 204):
        raise RuntimeError(f"PUT lab/api/settings/{plugin} answered HTTP {result}")
    if reload:
        had_notebook = page.locator(CURRENT_NOTEBOOK).count() > 0
        page.reload(wait_until="domcontentloaded")
        wait_app_ready(page, timeout)
        if had_notebook:
            page.wait_for_selector(
                f"{CURRENT_NOTEBOOK} .jp-Notebook .jp-Cell", timeout=timeout * 1000
            )
            wait_kernel_idle(page, timeout)


def get_setting(page, plugin: str, key: str) -> Any:
    """A setting as the server has it: the user value, else the schema default (else None)."""
    if isinstance(page, Lab):
        return page.get_setting(plugin, key)
    base, token = _lab_of(page)
    return page.evaluate(
        """async ([base, token, plugin, key]) => {
            const r = await fetch(base + 'lab/api/settings/' + plugin,
                                  {headers: {'Authorization': 'token ' + token}});
            const got = await r.json();
            const s = got.settings || {};
            if (key in s) return s[key];
            const prop = ((got.schema || {}).properties || {})[key];
            return prop && 'default' in prop ? prop.default : null;
        }""",
        [base, token, plugin, key],
    )


def set_save_widget_state(page, on: bool = True) -> None:
    """Settings → "Save Widget State Automatically", live in the running page.

    The menu item runs `@jupyter-widgets/jupyterlab-manager:saveWidgetState`, a toggle that
    writes `saveState` of `@jupyter-widgets/jupyterlab-manager:plugin` through the frontend's
    setting registry (so it also reaches the server). Clicked only if it is not already `on`.
    """
    page.locator(menu_item("Settings")).click()
    entry = page.locator(
        f".lm-Menu .lm-Menu-item[data-command='{SAVE_WIDGET_STATE_COMMAND}']"
    ).first
    entry.wait_for(state="visible", timeout=5000)
    toggled = "lm-mod-toggled" in (entry.get_attribute("class") or "").split()
    if toggled == on:
        page.keyboard.press("Escape")
    else:
        entry.click()
    deadline = time.monotonic() + 10
    while get_setting(page, WIDGETS_PLUGIN, "saveState") is not on:
        if time.monotonic() > deadline:
            raise TimeoutError(f"saveState did not become {on}")
        page.wait_for_timeout(100)


def screenshot(page, name: str, full_page: bool = False) -> Path:
    """Save tests/browser/artifacts/NAME.png (git-ignored) and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def cell_outputs_text(page) -> list[str]:
    """Text of each cell's output area in the current notebook, in order ('' when none)."""
    return page.evaluate(
        """(sel) => {
            const nb = document.querySelector(sel);
            if (!nb) return [];
            return [...nb.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => {
                const o = c.querySelector('.jp-OutputArea');
                return o ? (o.innerText || o.textContent || '') : '';
            });
        }""",
        CURRENT_NOTEBOOK,
    )


def notebook_text(page) -> str:
    """All visible text of the current notebook (cells, outputs, widgets)."""
    loc = page.locator(CURRENT_NOTEBOOK).first
    return loc.inner_text() if loc.count() else ""
