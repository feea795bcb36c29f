"""Smoke test of the browser infrastructure: a real JupyterLab renders and saves ipywidgets."""

from __future__ import annotations

import time

import nbformat
import pytest

from . import jlab

pytestmark = pytest.mark.browser

SECRET = "not-a-real-secret-0123456789"

CELLS = [
    ("markdown", "# Browser smoke test"),
    (
        "code",
        (
            'import ipywidgets as w; b = w.Button(description="Press me"); out = w.Output(); '
            'b.on_click(lambda _: out.append_stdout("pressed\\n")); display(b, out)'
        ),
    ),
    ("code", 'w.Password(description="Secret")'),
    ("code", 'import os; print(os.environ.get("LABKIT_SMOKE"), os.environ.get("LABKIT_HOME"))'),
]


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str]:
    """Overrides conftest's `lab_env`: extra variables for this module's lab server."""
    return {"LABKIT_SMOKE": "smoke-env-ok"}


def write_notebook(lab: jlab.Lab, relpath: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(src))
    nbformat.write(nb, str(lab.path(relpath)))
    return relpath


def widget_state(saved: dict) -> dict:
    return saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def test_widgets_render_click_and_save_state(page, lab_server: jlab.Lab) -> None:
    rel = write_notebook(lab_server, "smoke.ipynb")
    jlab.set_setting(lab_server, jlab.WIDGETS_PLUGIN, "saveState", False)  # the default

    t0 = time.monotonic()
    jlab.open_notebook(page, lab_server, rel)
    t_open = time.monotonic() - t0
    assert (
        page.locator(f"{jlab.CURRENT_NOTEBOOK} h1")
        .first.inner_text()
        .startswith("Browser smoke test")
    )
    jlab.screenshot(page, "smoke-01-opened")

    t0 = time.monotonic()
    assert jlab.run_all(page) == "menu"
    t_run = time.monotonic() - t0
    nb = page.locator(jlab.CURRENT_NOTEBOOK)
    button = nb.locator("button.widget-button", has_text="Press me")
    button.wait_for(state="visible", timeout=30_000)
    # ipywidgets 8 renders Password as a `.widget-text` box whose <input> has type=password.
    password = nb.locator(".jupyter-widgets.widget-text:has(label:text-is('Secret')) input")
    password.wait_for(state="visible", timeout=30_000)
    assert jlab.WIDGET_ERROR_TEXT not in jlab.notebook_text(page)
    jlab.screenshot(page, "smoke-02-ran")

    button.click()
    nb.locator(".widget-output", has_text="pressed").wait_for(timeout=15_000)
    password.fill(SECRET)
    assert password.input_value() == SECRET
    assert password.get_attribute("type") == "password"
    outputs = jlab.cell_outputs_text(page)
    assert len(outputs) == 4 and "pressed" in outputs[1], outputs
    # lab_env reached the kernel, and LABKIT_HOME points into the server's temporary home.
    assert outputs[3].split() == ["smoke-env-ok", str(lab_server.home / ".labkit")], outputs
    assert SECRET not in jlab.notebook_text(page)  # typed characters stay masked
    jlab.screenshot(page, "smoke-03-pressed")

    # Off (the default): the saved notebook carries no widget state.
    jlab.save(page)
    saved = lab_server.read_notebook(rel)
    assert "widgets" not in saved["metadata"]
    views = [o for o in saved["cells"][1]["outputs"] if "data" in o]
    assert views and all("application/vnd.jupyter.widget-view+json" in o["data"] for o in views)

    # Settings → Save Widget State Automatically, live; the next save writes metadata.widgets.
    jlab.set_save_widget_state(page, True)
    assert lab_server.get_setting(jlab.WIDGETS_PLUGIN, "saveState") is True
    jlab.save(page)
    saved = lab_server.read_notebook(rel)
    state = widget_state(saved)
    models = {m["model_name"] for m in state.values()}
    assert {"ButtonModel", "OutputModel", "PasswordModel"} <= models, models
    jlab.screenshot(page, "smoke-04-saved")
    print(f"\nopen {t_open:.1f}s, run all {t_run:.1f}s; saved widget models: {sorted(models)}")
    pw_state = [m["state"] for m in state.values() if m["model_name"] == "PasswordModel"]
    print(f"saved PasswordModel state: {pw_state}")


def test_set_setting_via_rest_then_reload(page, lab_server: jlab.Lab) -> None:
    rel = write_notebook(lab_server, "smoke-rest.ipynb")
    # Before any page: the server-side setting is what the lab reads when it loads.
    jlab.set_setting(lab_server, jlab.WIDGETS_PLUGIN, "saveState", True)
    jlab.open_notebook(page, lab_server, rel)
    jlab.run_all(page)
    page.locator(f"{jlab.CURRENT_NOTEBOOK} button.widget-button").wait_for(state="visible")
    jlab.save(page)
    assert widget_state(lab_server.read_notebook(rel))

    # With a page: PUT through the page's own token, then reload; the notebook comes back
    # from disk with a live kernel, and the Settings menu shows the new value.
    jlab.set_setting(page, jlab.WIDGETS_PLUGIN, "saveState", False)
    assert jlab.get_setting(page, jlab.WIDGETS_PLUGIN, "saveState") is False
    page.locator(jlab.menu_item("Settings")).click()
    entry = page.locator(
        f".lm-Menu .lm-Menu-item[data-command='{jlab.SAVE_WIDGET_STATE_COMMAND}']"
    ).first
    entry.wait_for(state="visible")
    assert "lm-mod-toggled" not in (entry.get_attribute("class") or "")
    page.keyboard.press("Escape")
    # Widgets in the reloaded notebook come back from the kernel, not as an error.
    page.locator(f"{jlab.CURRENT_NOTEBOOK} button.widget-button").wait_for(state="visible")
    assert jlab.WIDGET_ERROR_TEXT not in jlab.notebook_text(page)
    jlab.screenshot(page, "smoke-05-reloaded")
