"""Lessons 03 and 04 as a learner meets them: in a real JupyterLab, in Chromium, with the mouse
and the keyboard, against the sandbox AWS account the lesson kernel starts on first use.

One learner (one browser page) goes through the steps in order, so the tests below share state
and must run in file order: Run All lesson 03; turn on "Save Widget State Automatically"; Show,
Hide, Copy and confirm the secret in the SecretReveal; type the key pair into the KeyEntryForm;
save and check the file; then lesson 04 and its `aws sts get-caller-identity`. A later test
skips when the earlier one that it needs did not get as far.

The secret read from the browser must never reach a file: every save is checked, raw.
The two screenshots in docs/img are written when missing, or always with
LABKIT_UPDATE_SCREENSHOTS=1 (so that running the tests does not dirty committed files);
copies always go to tests/browser/artifacts/. The lesson 03 one shows the secret masked: it is
taken after "Hide", once the page's whole DOM is checked to hold no copy of the secret.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labkit.widgets import MASK, SAVED

from . import jlab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
DOCS_IMG = REPO / "docs" / "img"
LESSON03 = "03_create_access_keys.ipynb"
LESSON04 = "04_configure_the_cli.ipynb"
USER = "temporary-iam-user"
USER_ARN = f"arn:aws:iam::123456789012:user/{USER}"
CLI_CELL = f"!aws sts get-caller-identity --profile {USER}"

KEY_ID_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
BASE64_RUN = re.compile(r"[A-Za-z0-9/+=]{40,}")
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
CHECK = ".labkit-check"  # one ✅/❌ line of labkit.checks.Verdict

# Variables of the developer's shell that would point the lab somewhere else than a fresh
# sandbox: removed from the lab server's environment (LABKIT_HOME is set by jlab.start_lab).
FOREIGN_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "LABKIT_BACKEND",
    "LABKIT_SANDBOX_URL",
    "LABKIT_AWS_PROFILE",
    "LABKIT_AWS_ACCOUNT",
)


@pytest.fixture(scope="module")
def lab_env() -> dict[str, str | None]:
    """Overrides conftest's `lab_env`: nothing of the developer's AWS setup reaches the lab."""
    return {name: None for name in FOREIGN_ENV}


# ---------------------------------------------------------------- the learner


@dataclass
class Learner:
    """One browser page on the module's lab, and what the learner has seen so far."""

    page: Any
    lab: jlab.Lab
    labkit_home: Path
    console: list[str] = field(default_factory=list, repr=False)
    # What the learner saw (the secret too): kept out of repr, so out of pytest's reports.
    seen: dict[str, Any] = field(default_factory=dict, repr=False)
    _checked_console: int = 0

    @property
    def notebook(self):
        return self.page.locator(jlab.CURRENT_NOTEBOOK)

    def need(self, *names: str) -> tuple[Any, ...]:
        missing = [n for n in names if n not in self.seen]
        if missing:
            pytest.skip(f"an earlier step did not get {', '.join(missing)}")
        return tuple(self.seen[n] for n in names)

    def new_console_errors(self) -> list[str]:
        """Browser errors since the last call (uncaught exceptions and console.error)."""
        new = self.console[self._checked_console :]
        self._checked_console = len(self.console)
        return [m for m in new if m.startswith(("[pageerror]", "[error]"))]

    def sandbox(self):
        from labkit import sandbox

        return sandbox.ensure(self.labkit_home)


@pytest.fixture(scope="module")
def labkit_home(lab_server: jlab.Lab) -> Iterator[Path]:
    """The lab's fresh LABKIT_HOME; the sandbox the lesson kernel starts there is stopped after."""
    home = Path(lab_server.env["LABKIT_HOME"])
    assert home.is_relative_to(lab_server.home), home
    try:
        yield home
    finally:
        from labkit import sandbox

        lab_server.reset()  # the kernels go first: they talk to the sandbox
        sandbox.stop(home)


@pytest.fixture(scope="module")
def learner(browser, lab_server: jlab.Lab, labkit_home: Path) -> Iterator[Learner]:
    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        lab_server.copy_in(nb)
    # Clipboard access, so that the SecretReveal's "Copy" can be checked like a paste.
    context = browser.new_context(
        viewport=jlab.VIEWPORT, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    who = Learner(page=page, lab=lab_server, labkit_home=labkit_home)
    page.on("console", lambda m: who.console.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: who.console.append(f"[pageerror] {e}"))
    try:
        yield who
    finally:
        context.close()
        lab_server.reset()


@pytest.fixture(autouse=True)
def _diagnose(request: pytest.FixtureRequest, learner: Learner) -> Iterator[None]:
    """On failure: a screenshot, the browser console and the server log's tail."""
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed:
        return
    try:
        print(f"\nscreenshot: {jlab.screenshot(learner.page, f'FAILED-{request.node.name}')}")
    except jlab.PlaywrightError as exc:
        print(f"\n(no screenshot: {exc})")
    print("\n--- browser console ---\n" + "\n".join(learner.console[-200:]))
    print(f"\n--- jupyter lab log (tail) ---\n{learner.lab.log()[-8000:]}")


# ---------------------------------------------------------------- helpers


def code_cell_index(relpath: str, source: str) -> int:
    """Index (among all cells) of the lesson's code cell whose source is exactly `source`."""
    nb = json.loads((NOTEBOOKS / relpath).read_text())
    for i, cell in enumerate(nb["cells"]):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and text.strip() == source:
            return i
    raise AssertionError(f"{relpath} has no code cell {source!r}")


def assert_ran_clean(who: Learner, expected_red: tuple[str, ...] = ()) -> str:
    """Every code cell ran, no widget failed to render, no traceback, no ❌ but the lines starting
    with one of `expected_red`: returns the notebook text."""
    page = who.page
    prompts = page.evaluate(
        "(sel) => [...document.querySelector(sel).querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".map(p => (p.textContent || '').trim())",
        jlab.CURRENT_NOTEBOOK,
    )
    assert prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), prompts
    text = jlab.notebook_text(page)
    assert jlab.WIDGET_ERROR_TEXT not in text
    stderr = who.notebook.locator(STDERR).all_inner_texts()
    assert not [t for t in stderr if "Traceback" in t], stderr
    red = [line for line in text.splitlines() if "❌" in line]
    unexpected = [line for line in red if not (expected_red and line.startswith(expected_red))]
    assert unexpected == [], red
    assert not who.new_console_errors()
    return text


def hide_left_sidebar(page) -> None:
    """Collapse the left sidebar (click its open tab): the notebook gets the width."""
    left = page.locator("#jp-left-stack")
    if left.is_visible():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
        left.wait_for(state="hidden")


def doc_screenshot(page, name: str) -> Path:
    """The viewport into artifacts/NAME.png, and into docs/img/NAME.png when missing or asked."""
    shot = jlab.screenshot(page, name)
    dest = DOCS_IMG / f"{name}.png"
    if os.environ.get("LABKIT_UPDATE_SCREENSHOTS") == "1" or not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, dest)
    return shot


def form_answer(page, output, secret_box) -> str:
    """After Verify (or Enter): the check lines the form's Output shows for this very click.

    The kernel answers a click by emptying the secret box (a custom message), checking the pair,
    then setting the Output's outputs, all inside one busy..idle of the kernel: so an empty box
    and then an idle kernel mean the answer is in. (A DOM change cannot be waited for: the same
    answer as before, e.g. the notebook's own `form.submit(...)`, leaves the Output as it was.)
    """
    page.wait_for_function("(el) => el.value === ''", arg=secret_box.element_handle())
    jlab.wait_kernel_idle(page)
    return "\n".join(output.locator(CHECK).all_inner_texts())


def saved_text(who: Learner, relpath: str) -> str:
    jlab.save(who.page)
    return who.lab.path(relpath).read_text()


def widget_state(saved: dict) -> dict:
    return saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]


def issued_secrets_in(texts: list[str], box) -> list[str]:
    """Which secrets or session tokens the sandbox issued appear in `texts` (first 4 chars).

    As tests/test_lessons.py does: every base64 run of 40+ characters, and every 40-character
    window of it, is asked about (a secret glued to other base64 text is still found).
    """
    candidates: list[str] = []
    for text in texts:
        for run in BASE64_RUN.findall(text):
            candidates.append(run)
            candidates += [run[i : i + 40] for i in range(len(run) - 39)]
    if not candidates:
        return []
    found = box.admin("POST", "issued", {"candidates": candidates})["issued"]
    return [candidates[i][:4] + "..." for i in found]


def assert_no_copy(text: str, where: str, *secrets: str) -> None:
    """No secret is in `text`; a failure names only the first 4 characters of one."""
    found = [s[:4] + "..." for s in secrets if s in text]
    assert not found, f"{where} holds the secret(s) {found}"


def assert_masked(code) -> None:
    """The SecretReveal's secret field shows the mask (a failure does not print what it shows)."""
    shown = code.inner_text()
    masked = shown == MASK
    assert masked, f"the secret field shows {len(shown)} characters, not the mask"


def files_holding(root: Path, needle: str) -> list[str]:
    """Files under `root` (checkpoints included) whose text holds `needle`."""
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and needle in p.read_text(errors="replace")
    ]


# ---------------------------------------------------------------- lesson 03


def test_lesson03_runs_clean_and_its_widgets_render(learner: Learner) -> None:
    page, nb = learner.page, learner.notebook
    jlab.open_notebook(page, learner.lab, LESSON03)
    assert jlab.run_all(page) == "menu"
    jlab.wait_idle(page)

    reveal = nb.locator(".labkit-reveal")
    reveal.wait_for(state="visible")
    form = nb.locator(".widget-vbox:has(.labkit-secret-input)")
    form.locator(".labkit-secret-input input[type='password']").wait_for(state="visible")
    text = assert_ran_clean(learner)

    for line in (
        "✅ A new active access key was created for temporary-iam-user.",
        "✅ The secret never appears when the key is displayed.",
        "✅ AWS refused, as expected",  # the third key: LimitExceeded
        f"✅ This key pair works: it belongs to {USER} ({USER_ARN})",  # form.submit(...)
    ):
        assert line in text, line

    key_id = reveal.locator("code").first.inner_text()
    assert KEY_ID_RE.match(key_id), key_id
    assert_masked(reveal.locator(".labkit-reveal-secret"))
    assert f"User: {USER}" in reveal.locator(".labkit-reveal-meta").inner_text()
    assert form.locator(".widget-text:has(label:text-is('Access key ID')) input").is_visible()
    assert form.locator(".widget-text:has(label:text-is('Region')) input").input_value() == (
        "us-east-1"
    )
    assert form.locator("button.widget-button", has_text="Verify").is_enabled()
    learner.seen["key_id"] = key_id


def test_lesson03_show_the_secret_once(learner: Learner) -> None:
    (key_id,) = learner.need("key_id")
    page, nb = learner.page, learner.notebook
    # Before touching any widget: from now on every save stores the widgets' state.
    jlab.set_save_widget_state(page, True)

    reveal = nb.locator(".labkit-reveal")
    secret_code = reveal.locator(".labkit-reveal-secret")
    show = reveal.locator(".labkit-reveal-secret + button")  # "Show" / "Hide"
    copy_secret = reveal.locator(".labkit-reveal-secret ~ button").nth(1)
    confirm = reveal.locator("button.labkit-reveal-confirm")
    reveal.scroll_into_view_if_needed()
    assert show.inner_text() == "Show"

    show.click()
    secret_code.filter(has_not_text=MASK).wait_for()
    secret = secret_code.inner_text()
    looks_right = SECRET_RE.match(secret) is not None
    assert looks_right, f"not a secret access key: {len(secret)} characters"
    assert show.inner_text() == "Hide"
    learner.seen["secret"] = secret
    # The riskiest moment: the secret is on screen and widget state is saved with the file.
    raw = saved_text(learner, LESSON03)
    assert json.loads(raw)["metadata"].get("widgets"), "no widget state saved"
    assert_no_copy(raw, "the notebook saved while the secret was shown", secret)
    assert key_id in raw  # the key ID is state (not secret): the check above looks at the file

    show.click()  # "Hide"
    secret_code.filter(has_text=MASK).wait_for()
    assert show.inner_text() == "Show"
    # Nowhere in the DOM any more: the screenshot cannot show it.
    assert_no_copy(page.content(), "the page (after Hide)", secret)
    hide_left_sidebar(page)
    reveal.scroll_into_view_if_needed()
    doc_screenshot(page, "lesson03-secret-reveal")

    # "Copy" while hidden: the kernel sends the secret in a custom message straight to the
    # clipboard (a ClipboardItem promise), never into the DOM.
    copy_secret.click()
    reveal.locator(".labkit-reveal-status", has_text="Copied to the clipboard.").wait_for()
    pasted = page.evaluate("() => navigator.clipboard.readText()") == secret
    assert pasted, "the clipboard does not hold the secret"
    assert_masked(secret_code)
    assert_no_copy(page.content(), "the page (after Copy)", secret)

    confirm.click()
    reveal.locator(".labkit-reveal-notice", has_text=SAVED).wait_for()
    assert "never show this secret again" in SAVED
    assert "labkit-reveal-done" in (reveal.get_attribute("class") or "").split()
    assert confirm.is_disabled() and show.is_disabled() and copy_secret.is_disabled()
    assert_masked(secret_code)
    # The buttons are disabled, but is the secret really gone? Re-enable "Show" the way a
    # curious learner with devtools would, and ask the kernel again: it answers "forget".
    show.evaluate("b => { b.disabled = false; }")
    show.click()
    page.wait_for_timeout(1000)  # a round trip to the kernel; nothing is expected to change
    jlab.wait_kernel_idle(page)
    assert_masked(secret_code)
    assert_no_copy(page.content(), "the page (after I have saved)", secret)
    assert not learner.new_console_errors()


def test_lesson03_check_the_key_pair_in_the_form(learner: Learner) -> None:
    key_id, secret = learner.need("key_id", "secret")
    nb = learner.notebook
    form = nb.locator(".widget-vbox:has(.labkit-secret-input)")
    id_box = form.locator(".widget-text:has(label:text-is('Access key ID')) input")
    secret_box = form.locator(".labkit-secret-input input[type='password']")
    verify = form.locator("button.widget-button", has_text="Verify")
    output = form.locator(".labkit-status")
    form.scroll_into_view_if_needed()

    # The learner types the pair from the SecretReveal (the key ID shown in full there).
    id_box.fill(key_id)
    secret_box.press_sequentially(secret)
    typed = secret_box.input_value() == secret
    assert typed, "the password box does not hold what was typed"
    raw = saved_text(learner, LESSON03)  # saved while the secret sits in the password box
    assert_no_copy(raw, "the notebook saved while the secret was typed", secret)
    verify.click()
    answer = form_answer(learner.page, output, secret_box)
    assert_no_copy(answer, "the form's answer", secret)
    assert f"✅ This key pair works: it belongs to {USER} ({USER_ARN})" in answer, answer
    assert "the secret was used once, then forgotten" in answer
    assert secret_box.input_value() == "", "the password box was not emptied"
    assert id_box.input_value() == key_id

    # The exercise: the secret with its last character changed; Enter in the box submits.
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    learner.seen["wrong"] = wrong
    secret_box.fill(wrong)
    secret_box.press("Enter")
    answer = form_answer(learner.page, output, secret_box)
    assert_no_copy(answer, "the form's answer", secret, wrong)
    assert answer.startswith("❌"), answer
    assert "SignatureDoesNotMatch" in answer, answer
    assert "signed with the wrong secret access key" in answer, answer
    assert secret_box.input_value() == "", "the password box was not emptied"
    assert_no_copy(learner.page.content(), "the page (after Verify)", secret, wrong)
    jlab.screenshot(learner.page, "lesson03-key-entry-form")
    assert not learner.new_console_errors()


def test_lesson03_saved_notebook_keeps_widget_state_but_no_secret(learner: Learner) -> None:
    key_id, secret, wrong = learner.need("key_id", "secret", "wrong")
    raw = saved_text(learner, LESSON03)
    path = learner.lab.path(LESSON03)
    saved = json.loads(raw)
    state = widget_state(saved)
    assert state, "no widget state saved"
    reveal_states = [m["state"] for m in state.values() if m["state"].get("key_id") == key_id]
    assert reveal_states and all(s.get("confirmed") is True for s in reveal_states), reveal_states
    assert_no_copy(raw, "the saved lesson 03", secret, wrong)
    assert files_holding(learner.lab.root, secret) == []  # checkpoints too
    assert issued_secrets_in([raw], learner.sandbox()) == []

    scan = subprocess.run(
        [sys.executable, "-m", "labkit", "scan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=learner.lab.root,
        check=False,
    )
    assert scan.returncode in (0, 1), scan.stdout + scan.stderr  # 1: something found
    kinds = re.findall(
        r": (access_key_id|secret_access_key|readable_credentials_file): ", scan.stdout
    )
    assert "secret_access_key" not in kinds, scan.stdout
    assert_no_copy(scan.stdout + scan.stderr, "labkit scan's report", secret, wrong)
    print(f"\nlabkit scan {path.name}: exit {scan.returncode}, found {sorted(set(kinds))}")


# ---------------------------------------------------------------- lesson 04


def test_lesson04_the_cli_signs_as_temporary_iam_user(learner: Learner) -> None:
    page, nb = learner.page, learner.notebook
    jlab.open_notebook(page, learner.lab, LESSON04)
    jlab.set_save_widget_state(page, True)  # already on (a user setting): stays on
    assert jlab.run_all(page) == "menu"
    jlab.wait_idle(page)
    # Run All, and nobody typed `aws configure` (this lab has no terminals): the checkpoint says
    # so, and the next cell does it for the learner, saying that it did.
    nobody = "❌ Nobody has run `aws configure` yet with "
    text = assert_ran_clean(learner, expected_red=(nobody,))
    assert nobody in text and "so the lab did it for you" in text
    assert "✅ The AWS CLI signs as temporary-iam-user" in text

    index = code_cell_index(LESSON04, CLI_CELL)
    cell = nb.locator(".jp-Cell").nth(index)
    assert CLI_CELL in cell.locator(".jp-InputArea").inner_text()
    out = cell.locator(".jp-OutputArea").inner_text()
    assert f'"Arn": "{USER_ARN}"' in out, out
    assert '"Account": "123456789012"' in out, out
    nxt = nb.locator(".jp-Cell").nth(index + 1)
    assert "✅ The AWS CLI signs as temporary-iam-user" in nxt.inner_text()

    hide_left_sidebar(page)
    cell.scroll_into_view_if_needed()
    jlab.save(page)  # a clean tab title in the picture
    doc_screenshot(page, "lesson04-cli")

    raw = learner.lab.path(LESSON04).read_text()
    assert widget_state(json.loads(raw)), "no widget state saved"
    box = learner.sandbox()
    assert issued_secrets_in([raw], box) == []
    secret = learner.seen.get("secret")
    if secret is not None:
        assert_no_copy(raw, "the saved lesson 04", secret)
        # The detector is not blind: what lesson 03 showed in the browser is a secret it issued.
        assert issued_secrets_in([secret], box), "the secret shown was not one AWS issued"
        assert files_holding(learner.lab.root, secret) == []
    assert not learner.new_console_errors()
