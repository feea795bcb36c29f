"""Lesson 03's secret reveal and key form, and lesson 01's quiz, with the keyboard alone.

Each widget is entered by focusing its first control (a keyboard user gets there with JupyterLab's
own cell navigation); from then on only keys are pressed. After each verdict: the text is in a
live region (role="status", or role="alert" for a failure) that existed before it arrived, and
the focus is on a control or on the new text, never on the page's body. The lessons run in one
lab, in order: 01 (the quiz), then 03.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.widgets import MASK, SAVED

from . import jlab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
LESSON01 = "01_root_and_iam_users.ipynb"
LESSON03 = "03_create_access_keys.ipynb"
USER = "temporary-iam-user"
FOREIGN_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "LABKIT_BACKEND", "LABKIT_SANDBOX_URL", "LABKIT_AWS_PROFILE", "LABKIT_AWS_ACCOUNT",
)
LIVE = "[role='status'], [role='alert']"
# What the reveal showed (the secret too), for the form: kept out of reprs and reports.
SEEN: dict[str, str] = {}

# What has the focus: its tag, class, accessible-name hints, and whether it is the body.
_ACTIVE_JS = r"""
() => {
  const a = document.activeElement;
  return { tag: a.tagName.toLowerCase(), cls: a.className || '',
           label: a.getAttribute('aria-label'),
           text: (a.textContent || '').trim().slice(0, 80), type: a.type || '',
           value: a.value === undefined ? null : String(a.value), body: a === document.body,
           checked: !!a.checked };
}
"""

# The focus ring of the focused element: its width, and its contrast with what is behind it.
_RING_JS = r"""
() => {
  const a = document.activeElement;
  const style = getComputedStyle(a);
  const rgb = (text) => (text.match(/[\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  // The first opaque background behind the element (the ring is drawn outside it).
  let node = a.parentElement, bg = [255, 255, 255];
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c.slice(0, 3); break; }
    node = node.parentElement;
  }
  const ring = rgb(style.outlineColor).slice(0, 3);
  const [hi, lo] = [lum(ring), lum(bg)].sort((x, y) => y - x);
  return { style: style.outlineStyle, width: parseFloat(style.outlineWidth),
           ratio: (hi + 0.05) / (lo + 0.05) };
}
"""


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str | None]:
    """Overrides conftest's `lab_env`: a fresh sandbox, whatever the developer's shell holds."""
    return {name: None for name in FOREIGN_ENV}


@pytest.fixture(scope="module")
def kb_page(browser, lab_server: jlab.Lab) -> Iterator[Any]:
    for nb in NOTEBOOKS.glob("*.ipynb"):
        lab_server.copy_in(nb)
    context = browser.new_context(
        viewport=jlab.VIEWPORT, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        lab_server.reset()
        from labkit import sandbox

        sandbox.stop(Path(lab_server.env["LABKIT_HOME"]))


def active(page) -> dict[str, Any]:
    return page.evaluate(_ACTIVE_JS)


def assert_ring(page, what: str) -> None:
    """The focused control shows a focus ring of 2 px or more at 3:1 or more (WCAG 1.4.11)."""
    ring = page.evaluate(_RING_JS)
    assert ring["style"] != "none" and ring["width"] >= 2, (what, ring)
    assert ring["ratio"] >= 3, (what, ring)


def live_text(widget) -> str:
    return "\n".join(t.strip() for t in widget.locator(LIVE).all_inner_texts() if t.strip())


def run_lesson(page, lab: jlab.Lab, lesson: str) -> None:
    lab.reset()
    jlab.open_notebook(page, lab, lesson)
    jlab.run_all(page, timeout=240)


def answered(page, form) -> None:
    """The kernel answered the click: the secret box emptied, then the kernel went idle."""
    page.wait_for_function("(el) => el.value === ''",
                           arg=form.locator("input[type=password]").element_handle())
    jlab.wait_kernel_idle(page)


def active_cell(page) -> int:
    return page.evaluate(
        "(sel) => [...document.querySelector(sel).querySelectorAll("
        "'.jp-Notebook > .jp-Cell, .jp-WindowedPanel-viewport > .jp-Cell')]"
        ".findIndex(c => c.classList.contains('jp-mod-active'))",
        jlab.CURRENT_NOTEBOOK,
    )


def test_quiz_with_the_keyboard_alone(kb_page: Any, lab_server: jlab.Lab) -> None:
    page = kb_page
    run_lesson(page, lab_server, LESSON01)
    quiz = page.locator(f"{jlab.CURRENT_NOTEBOOK} .labkit-widget:has(.labkit-choice)").first
    quiz.scroll_into_view_if_needed()
    groups = quiz.locator("fieldset.labkit-choice")
    assert groups.count() >= 2
    first, second = groups.nth(0), groups.nth(1)
    # Each group is labelled by its question: a screen reader says it with the options.
    question = first.locator("legend").inner_text()
    assert re.match(r"1\. \S", question), question
    assert page.get_by_role("group", name=question).locator("input[type=radio]").count() >= 2
    options = first.locator("label").all_inner_texts()
    regions_before = quiz.locator(LIVE).count()
    assert regions_before == 2  # status and alert, there before any verdict

    first.locator("input[type=radio]").first.focus()
    cell = active_cell(page)
    page.keyboard.press("ArrowDown")  # the second option, in the same question and cell
    now = active(page)
    assert now["type"] == "radio" and now["checked"] and now["value"] == "1", now
    assert active_cell(page) == cell, "ArrowDown moved JupyterLab to another cell"
    assert_ring(page, "a quiz option")
    page.keyboard.press("Tab")  # one Tab stop per question: on to the next question
    now = active(page)
    assert now["type"] == "radio", now
    assert second.evaluate("(g, a) => g.contains(document.activeElement)", None), now
    page.keyboard.press("Space")  # choose this question's first option
    # Tab past the other questions to "Check answers".
    for _ in range(groups.count() - 1):
        page.keyboard.press("Tab")
    now = active(page)
    assert now["tag"] == "button" and "Check answers" in now["text"], now
    assert_ring(page, "the Check answers button")
    page.keyboard.press("Enter")
    quiz.locator(LIVE, has_text="right.").wait_for()
    said = live_text(quiz)
    assert re.search(r"\d+ of \d+ right\.", said), said
    assert f": {options[1]}" in said, said  # question 1's verdict names the option chosen
    assert quiz.locator(LIVE).count() == regions_before  # the same regions, now holding it
    assert not active(page)["body"]


def test_secret_reveal_with_the_keyboard_alone(kb_page: Any, lab_server: jlab.Lab) -> None:
    page = kb_page
    run_lesson(page, lab_server, LESSON03)
    reveal = page.locator(f"{jlab.CURRENT_NOTEBOOK} .labkit-reveal")
    reveal.scroll_into_view_if_needed()
    assert page.get_by_role("group", name="Retrieve access keys").count() == 1
    names = reveal.locator("button").evaluate_all(
        "bs => bs.map(b => b.getAttribute('aria-label') || b.textContent)")
    assert names[:3] == ["Copy access key ID", "Show secret access key", "Copy secret access key"]
    # Masked, the secret is not read as 40 bullets: it has a spoken label instead.
    secret_code = reveal.locator(".labkit-reveal-secret")
    assert secret_code.get_attribute("aria-hidden") == "true"
    assert "hidden" in reveal.locator(".labkit-sr-only").inner_text()

    reveal.locator("button").first.focus()
    assert active(page)["label"] == "Copy access key ID"
    assert_ring(page, "the reveal's Copy button")
    page.keyboard.press("Tab")
    assert active(page)["label"] == "Show secret access key"
    page.keyboard.press("Enter")
    secret_code.filter(has_not_text=MASK).wait_for()
    SEEN["secret"] = secret_code.inner_text()
    SEEN["key_id"] = reveal.locator("code").first.inner_text()
    assert secret_code.get_attribute("aria-hidden") is None
    assert active(page)["label"] == "Hide secret access key"  # focus stayed on the button
    page.keyboard.press("Enter")
    secret_code.filter(has_text=MASK).wait_for()

    page.keyboard.press("Tab")
    assert active(page)["label"] == "Copy secret access key"
    page.keyboard.press("Space")
    reveal.locator("[role='status']", has_text="Copied to the clipboard.").wait_for()

    page.keyboard.press("Tab")
    assert "I have saved" in active(page)["text"]
    page.keyboard.press("Enter")
    notice = reveal.locator(".labkit-reveal-notice")
    notice.filter(has_text=SAVED).wait_for()
    assert notice.get_attribute("role") == "status"  # the change is announced
    # The button went disabled under the focus: the focus moved to the notice, not the body.
    page.wait_for_function("() => document.activeElement.classList.contains("
                           "'labkit-reveal-notice')")
    assert not active(page)["body"]


def test_key_form_with_the_keyboard_alone(kb_page: Any, lab_server: jlab.Lab) -> None:
    page = kb_page
    if "secret" not in SEEN:
        pytest.skip("the reveal test did not get the secret")
    form = page.locator(f"{jlab.CURRENT_NOTEBOOK} .labkit-widget:has(.labkit-secret-input)")
    form.scroll_into_view_if_needed()
    status = form.locator(".labkit-status")
    regions = form.locator(LIVE).count()
    assert regions == 2

    id_box = form.locator(".widget-text:has(label:text-is('Access key ID')) input")
    id_box.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(SEEN["key_id"])
    assert_ring(page, "the Access key ID box")
    page.keyboard.press("Tab")
    assert active(page)["type"] == "password"
    assert_ring(page, "the secret box")
    page.keyboard.type(SEEN["secret"])
    jlab.wait_kernel_idle(page)  # each keystroke reaches the kernel in its own message
    page.keyboard.press("Tab")  # Region
    page.keyboard.press("Tab")  # Verify
    now = active(page)
    assert now["tag"] == "button" and "Verify" in now["text"], now
    assert_ring(page, "the Verify button")
    page.keyboard.press("Enter")
    answered(page, form)
    form.locator("[role='status'] .labkit-check", has_text="This key pair works").wait_for()
    assert f"belongs to {USER}" in live_text(form)
    assert form.locator(LIVE).count() == regions
    now = active(page)
    assert not now["body"] and "Verify" in now["text"], now  # focus stayed on Verify

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert active(page)["type"] == "password"
    wrong = SEEN["secret"][:-1] + ("A" if SEEN["secret"][-1] != "A" else "B")
    page.keyboard.type(wrong)
    jlab.wait_kernel_idle(page)
    page.keyboard.press("Tab")  # Region
    page.keyboard.press("Tab")  # Verify
    page.keyboard.press("Space")
    answered(page, form)
    form.locator("[role='alert'] .labkit-check").wait_for()
    said = live_text(form)
    assert said.startswith("❌"), said
    assert "SignatureDoesNotMatch" in said, said
    assert form.locator(LIVE).count() == regions
    now = active(page)
    assert not now["body"] and "Verify" in now["text"], now  # focus stayed on Verify
    status.evaluate("s => s.setAttribute('data-seen', '1')")

    assert form.locator("[role='status']").inner_text() == ""  # the success was taken back
    # Back to the secret box, and Enter there: the same answer, announced again as an alert.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert active(page)["type"] == "password"
    page.keyboard.type(wrong)
    jlab.wait_kernel_idle(page)
    page.keyboard.press("Enter")
    answered(page, form)
    assert "SignatureDoesNotMatch" in live_text(form)
    assert active(page)["type"] == "password"  # focus stayed in the box
    assert status.get_attribute("data-seen") == "1"  # the same live region, not a new one
