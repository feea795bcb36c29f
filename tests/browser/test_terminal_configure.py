"""Lesson 04 as the tutorial has it: the learner presses the lesson's terminal button, types
`aws configure` and its four answers into that JupyterLab terminal (the default profile, as the
tutorial does), and the checkpoint turns green naming the key; lessons 05-09 then run with no
error. A real JupyterLab with labkit's server extension (terminals get the sandbox's settings),
in Chromium, against the sandbox the server starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.keys import mask_key_id

from . import jlab
from .test_lessons_in_browser import FOREIGN_ENV

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
LESSON04 = "04_configure_the_cli.ipynb"
LATER = ["05_rotate_access_keys.ipynb", "06_monitor_key_age_and_usage.ipynb",
         "07_prefer_iam_roles.ipynb", "08_keep_secrets_out_of_code.ipynb", "09_clean_up.ipynb"]
CHECKPOINT = 'lesson.verify("cli_configured")'
TERMINAL = ".jp-Terminal:not(.lm-mod-hidden)"


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str | None]:
    """labkit's Jupyter config (the server extension, LabApp.expose_app_in_browser), as an
    installed labkit has it; nothing of the developer's AWS setup."""
    return {**{name: None for name in FOREIGN_ENV},
            "JUPYTER_CONFIG_PATH": str(REPO / "jupyter-config")}


@pytest.fixture(scope="module")
def lab_settings() -> dict[str, dict[str, Any]]:
    # Screen reader mode keeps the terminal's text in the page (xterm's accessibility tree),
    # where the test reads it as a screen reader would.
    return {"@jupyterlab/terminal-extension:plugin": {"screenReaderMode": True}}


@pytest.fixture(scope="module")
def lab_args() -> list[str]:
    return ["--ServerApp.terminals_enabled=True"]


@pytest.fixture
def learner_page(browser, lab_server: jlab.Lab) -> Iterator[Any]:
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        lab_server.copy_in(nb)
    context = browser.new_context(viewport=jlab.VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        from labkit import sandbox

        lab_server.reset()
        sandbox.stop(Path(lab_server.env["LABKIT_HOME"]))
        context.close()


def _index(page: Any, starts: str) -> int:
    """The index of the first code cell whose source starts with `starts`."""
    return page.evaluate(
        """(starts) => window.jupyterapp.shell.currentWidget.content.widgets
               .findIndex(c => c.model.type === 'code'
                               && c.model.sharedModel.getSource().startsWith(starts))""", starts)


def _run_around(page: Any, index: int, command: str) -> None:
    """Select cell `index`, then run `notebook:run-all-above` or `notebook:run-all-below`."""
    page.evaluate(
        """([index, command]) => {
             const app = window.jupyterapp;
             app.shell.currentWidget.content.activeCellIndex = index;
             return app.commands.execute(command);
           }""", [index, command])
    page.wait_for_timeout(500)
    jlab.wait_idle(page)


def _terminal_text(page: Any) -> str:
    return page.locator(f"{TERMINAL} .xterm-accessibility").inner_text()


def _answer(page: Any, prompt: str, typed: str) -> None:
    """Wait for `aws configure`'s prompt in the terminal, then type the answer and Enter."""
    page.wait_for_function(
        "([sel, prompt]) => (document.querySelector(sel)?.innerText || '').includes(prompt)",
        arg=[f"{TERMINAL} .xterm-accessibility", prompt], timeout=60_000)
    page.keyboard.type(typed)
    page.keyboard.press("Enter")


def _errors_in_outputs(page: Any, expected: str = "(NoSuchEntity)") -> list[str]:
    """Error outputs (tracebacks, stderr) and failed AWS CLI calls in the current notebook,
    but for the refusal a step shows on purpose (`expected`)."""
    found = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel + ' .jp-OutputArea-output')]
             .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
                          || (o.innerText || '').includes('Traceback'))
             .map(o => o.innerText)""", jlab.CURRENT_NOTEBOOK)
    found += [t for t in jlab.cell_outputs_text(page)
              if "An error occurred" in t and expected not in t]
    return found


def test_the_learner_types_aws_configure_in_the_lessons_terminal(
        learner_page: Any, lab_server: jlab.Lab) -> None:
    page = learner_page
    jlab.open_notebook(page, lab_server, LESSON04)
    checkpoint = _index(page, CHECKPOINT)
    _run_around(page, checkpoint - 1, "notebook:run-all-above")  # Setup .. the terminal button

    # The key pair the learner copies from the .csv lesson 03 saved (the setup made it).
    home = Path(lab_server.env["LABKIT_HOME"])
    rows = (home / "downloads" / "temporary-iam-user_accessKeys.csv").read_text().splitlines()
    key_id, secret = rows[1].split(",")

    button = page.locator(f"{jlab.MAIN_DOCK} .jp-NotebookPanel .labkit-terminal-button")
    button.click()
    page.wait_for_selector(TERMINAL, timeout=30_000)
    # The notebook's tab is in the background now: read the button's status line as text.
    status = button.locator("xpath=following-sibling::div[@role='status']")
    assert "A terminal opened in a new tab" in (status.text_content() or "")

    page.locator(TERMINAL).click()
    page.wait_for_function(
        "(sel) => (document.querySelector(sel)?.innerText || '').trim().length > 0",
        arg=f"{TERMINAL} .xterm-accessibility", timeout=60_000)  # the shell's prompt
    page.keyboard.type("aws configure")
    page.keyboard.press("Enter")
    _answer(page, "AWS Access Key ID", key_id)
    _answer(page, "AWS Secret Access Key", secret)
    _answer(page, "Default region name", "us-east-1")
    _answer(page, "Default output format", "")
    page.keyboard.type("aws sts get-caller-identity")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(sel) => (document.querySelector(sel)?.innerText || '').includes('user/temporary-iam-user')",
        arg=f"{TERMINAL} .xterm-accessibility", timeout=60_000)
    assert "console-admin" not in _terminal_text(page).split("get-caller-identity")[-1]

    page.locator(f"{jlab.MAIN_DOCK} .lm-TabBar-tab", has_text="04_configure_the_cli").click()
    page.wait_for_selector(jlab.CURRENT_NOTEBOOK)
    _run_around(page, checkpoint, "notebook:run-all-below")
    said = jlab.cell_outputs_text(page)[checkpoint].split("\n", 1)[-1]  # after the [n]: prompt
    assert said.startswith("✅ You configured the AWS CLI"), said
    assert f"[default] holds {mask_key_id(key_id)}" in said, said
    assert secret not in jlab.notebook_text(page)
    assert _errors_in_outputs(page, expected="(AccessDenied)") == []  # Step 6 shows one

    for lesson in LATER:
        jlab.open_notebook(page, lab_server, lesson)
        assert jlab.run_all(page) in ("menu", "palette")
        jlab.wait_idle(page, timeout=240)
        prompts = page.evaluate(
            """(sel) => [...document.querySelectorAll(sel + ' .jp-CodeCell .jp-InputPrompt')]
                 .map(p => p.textContent || '')""", jlab.CURRENT_NOTEBOOK)
        assert all("[ ]" not in p for p in prompts), (lesson, prompts)  # every cell ran
        assert _errors_in_outputs(page) == [], lesson
        if lesson.startswith("09"):
            gone = jlab.cell_outputs_text(page)[_index(page, "!aws iam get-user")]
            assert "(NoSuchEntity)" in gone, gone
