"""Every lesson's outputs pass axe-core's WCAG 2.0/2.1 A and AA rules after Run All in JupyterLab.

One lab server, one page, one sandbox: the lessons run in course order, each once, and each is
audited right after its Run All. Each output is scrolled into view and audited alone (with the
body-height fix in axe.py), so that axe can see the colours behind its text. The lessons' own
markdown is audited too, in one pass, but only reported, not failed: the notebooks and
JupyterLab's theme belong to others. About 4 minutes for the ten lessons on a shared 2-core
machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import axe, jlab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
LESSONS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
OUTPUTS = f"{jlab.CURRENT_NOTEBOOK} .jp-Cell .jp-OutputArea"
MARKDOWN = f"{jlab.CURRENT_NOTEBOOK} .jp-MarkdownCell .jp-RenderedMarkdown"
# As in test_lessons_in_browser.py: nothing of the developer's AWS setup reaches the lab.
FOREIGN_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "LABKIT_BACKEND", "LABKIT_SANDBOX_URL", "LABKIT_AWS_PROFILE", "LABKIT_AWS_ACCOUNT",
)


_UNANNOUNCED_JS = r"""
(sel) => [...document.querySelector(sel).querySelectorAll(
    '.labkit-widget .labkit-check, .labkit-anywidget .labkit-check')]
  .filter((c) => !c.closest("[role='status'], [role='alert']"))
  .map((c) => c.textContent.slice(0, 80))
"""


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str | None]:
    """Overrides conftest's `lab_env`: a fresh sandbox, whatever the developer's shell holds."""
    return {name: None for name in FOREIGN_ENV}


@pytest.fixture(scope="module")
def axe_js() -> str:
    source = axe.axe_source()
    if source is None:
        pytest.skip(f"axe-core not installed ({axe.AXE_JS}): npm ci --prefix tests/browser")
    return source


@pytest.fixture(scope="module")
def lab_page(browser, lab_server: jlab.Lab, axe_js: str) -> Iterator[Any]:
    for nb in NOTEBOOKS.glob("*.ipynb"):
        lab_server.copy_in(nb)
    context = browser.new_context(viewport=jlab.VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        lab_server.reset()
        from labkit import sandbox

        sandbox.stop(Path(lab_server.env["LABKIT_HOME"]))


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_outputs_pass_axe(lab_page: Any, lab_server: jlab.Lab, axe_js: str,
                                 lesson: str) -> None:
    t0 = time.monotonic()
    lab_server.reset()  # one kernel at a time: the previous lesson's is shut down
    jlab.open_notebook(lab_page, lab_server, lesson)
    jlab.run_all(lab_page, timeout=240)
    ran = time.monotonic() - t0
    # Every verdict a widget shows sits in a live region, so a screen reader announces it.
    unannounced = lab_page.evaluate(_UNANNOUNCED_JS, jlab.CURRENT_NOTEBOOK)
    assert unannounced == [], unannounced
    axe.inject(lab_page, axe_js)
    outputs = axe.audit_each(lab_page, OUTPUTS)
    # The lesson's text in one pass (reported, not failed): quicker than cell by cell.
    markdown = axe.run(lab_page, [MARKDOWN])
    audited = time.monotonic() - t0 - ran
    assert outputs, "no outputs after Run All"
    applied = sorted(set().union(*(r.applied for r in outputs.values())))
    print(f"\n{lesson}: Run All {ran:.1f} s, axe over {len(outputs)} outputs and the "
          f"markdown {audited:.1f} s")
    print(f"  rules applied to the outputs: {', '.join(applied)}")
    if markdown is not None and markdown.violations:
        print("  the lesson's markdown (not failed here):\n" + markdown.describe())
    # The body-height fix and scrolling each output into view let axe see the colours.
    assert "color-contrast" in applied, applied
    failed = {cell: found for cell, found in outputs.items() if found.violations}
    assert not failed, "\n".join(f"cell {cell}:\n{found.describe()}"
                                  for cell, found in failed.items())
