"""The widgets' own JavaScript, run in Chromium against a stand-in model: the secret travels
only in custom messages, never in synced state (the browser fixture comes from conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, AccessKey
from labkit.widgets import SAVED, SecretInput, SecretReveal

USER = "temporary-iam-user"

_HARNESS = """
window.sent = []; window.sets = [];
const handlers = {};
window.model = {
  state: STATE,
  get(k) { return this.state[k]; },
  set(k, v) { window.sets.push([k, v]); },
  save_changes() { window.sets.push(["save_changes"]); },
  send(msg) { window.sent.push(msg); },
  on(ev, cb) { (handlers[ev] = handlers[ev] || []).push(cb); },
  off(ev, cb) { handlers[ev] = (handlers[ev] || []).filter((f) => f !== cb); },
};
window.kernelSays = (msg) => (handlers["msg:custom"] || []).forEach((cb) => cb(msg));
window.change = (k, v) => {
  window.model.state[k] = v;
  (handlers["change:" + k] || []).forEach((cb) => cb());
};
"""


def render(browser: Any, widget: Any) -> Any:
    """Run the widget's real `_esm` against a stand-in model holding its synced state."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    # localhost is a secure context, where the clipboard API exists; nothing really listens.
    page.route("http://localhost:9/", lambda route: route.fulfill(
        body="<div id='root'></div>", content_type="text/html"))
    page.goto("http://localhost:9/")
    state = {k: v for k, v in widget.get_state().items() if not k.startswith("_")}
    page.add_script_tag(content=_HARNESS.replace("STATE", json.dumps(state)))
    code = widget._esm.replace("export default { render };", "window.__render = render;")
    page.add_script_tag(content=code + "\nwindow.__render({model, el: "
                        "document.getElementById('root')});", type="module")
    page.wait_for_function("window.__render !== undefined")
    return page


@pytest.mark.browser
def test_secret_input_javascript_sends_keystrokes_by_message_only(browser: Any) -> None:
    page = render(browser, SecretInput("Secret access key"))
    box = page.locator("input")
    assert box.get_attribute("type") == "password"
    assert box.get_attribute("autocomplete") == "off"
    box.type(EXAMPLE_SECRET[:5])
    box.press("Enter")
    sent = page.evaluate("window.sent")
    assert sent[:5] == [{"event": "input", "value": EXAMPLE_SECRET[:n]} for n in range(1, 6)]
    assert sent[-1] == {"event": "submit"}
    page.evaluate("kernelSays({event: 'clear'})")
    assert box.input_value() == ""
    assert page.evaluate("window.sets") == []  # never a synced trait


@pytest.mark.browser
def test_secret_reveal_javascript_shows_hides_and_forgets(browser: Any) -> None:
    page = render(browser, SecretReveal(AccessKey(EXAMPLE_KEY_ID, EXAMPLE_SECRET,
                                                  user_name=USER)))
    secret = page.locator(".labkit-reveal-secret")
    show = page.locator("button", has_text="Show")
    assert secret.text_content() == "•" * 40
    assert EXAMPLE_KEY_ID in page.content()
    show.click()
    assert page.evaluate("window.sent") == [{"event": "reveal", "purpose": "show"}]
    page.evaluate(f"kernelSays({{event: 'secret', value: '{EXAMPLE_SECRET}', "
                  "purpose: 'show'})")
    assert secret.text_content() == EXAMPLE_SECRET
    page.locator("button", has_text="Hide").click()
    assert secret.text_content() == "•" * 40
    page.evaluate(f"kernelSays({{event: 'secret', value: '{EXAMPLE_SECRET}'}})")
    page.evaluate("kernelSays({event: 'forget'})")
    assert EXAMPLE_SECRET not in page.content()
    page.locator("button", has_text="I have saved my secret access key").click()
    assert page.evaluate("window.sent")[-1] == {"event": "confirm"}
    page.evaluate(f"change('notice', {json.dumps(SAVED)}); change('confirmed', true)")
    assert page.locator(".labkit-reveal-notice").text_content() == SAVED
    assert show.is_disabled()
    assert page.evaluate("window.sets") == []


@pytest.mark.browser
def test_secret_reveal_javascript_copies_without_showing_the_secret(browser: Any) -> None:
    page = render(browser, SecretReveal(AccessKey(EXAMPLE_KEY_ID, EXAMPLE_SECRET)))
    page.locator(".labkit-reveal-secret ~ button", has_text="Copy").click()
    assert page.evaluate("window.sent") == [{"event": "reveal", "purpose": "copy"}]
    page.evaluate(f"kernelSays({{event: 'secret', value: '{EXAMPLE_SECRET}', "
                  "purpose: 'copy'})")
    status = page.locator(".labkit-reveal-status")
    page.wait_for_function("document.querySelector('.labkit-reveal-status').textContent")
    assert status.text_content() == "Copied to the clipboard."
    assert page.evaluate("navigator.clipboard.readText()") == EXAMPLE_SECRET
    assert EXAMPLE_SECRET not in page.content()  # copied, never put on screen


@pytest.mark.browser
def test_status_javascript_announces_in_live_regions_made_before_the_verdict(
        browser: Any) -> None:
    from labkit.checks import Verdict
    from labkit.widgets import Status, show_in

    status = Status()
    page = render(browser, status)
    polite, urgent = page.locator("[role='status']"), page.locator("[role='alert']")
    assert polite.count() == 1 and urgent.count() == 1
    assert polite.inner_text() == "" and urgent.inner_text() == ""
    show_in(status, Verdict(False, "That failed."), "checked at 10:00:00")
    page.evaluate(f"change('urgent', true); change('outputs', {json.dumps(status.outputs)})")
    page.wait_for_function("document.querySelector('[role=alert]').textContent !== ''")
    assert "❌ That failed." in urgent.inner_text()
    assert "checked at 10:00:00" in urgent.inner_text()  # plain text, no repr quotes
    assert polite.inner_text() == ""
    show_in(status, Verdict(True, "Fixed."))
    page.evaluate(f"change('urgent', false); change('outputs', {json.dumps(status.outputs)})")
    page.wait_for_function("document.querySelector('[role=status]').textContent !== ''")
    assert "✅ Fixed." in polite.inner_text() and urgent.inner_text() == ""
    page.evaluate("kernelSays({event: 'focus'})")
    assert page.evaluate("document.activeElement.className") == "labkit-status"


@pytest.mark.browser
def test_choice_javascript_is_one_labelled_group_and_keeps_arrow_keys(browser: Any) -> None:
    from labkit.quiz import Choice

    page = render(browser, Choice(["Yes", "No", "Maybe"], description="1. Are keys free?"))
    group = page.get_by_role("group", name="1. Are keys free?")
    radios = group.get_by_role("radio")
    assert radios.count() == 3
    assert len(set(radios.evaluate_all("rs => rs.map(r => r.name)"))) == 1  # one Tab stop
    page.evaluate("window.seen = []; document.addEventListener('keydown', "
                  "(e) => window.seen.push(e.key))")
    radios.first.focus()
    page.keyboard.press("ArrowDown")
    assert radios.nth(1).is_checked()
    assert page.evaluate("window.sets") == [["index", 1], ["save_changes"]]
    assert page.evaluate("window.seen") == []  # JupyterLab's shortcuts never hear the arrow
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") != "radio"  # out of the group at once
