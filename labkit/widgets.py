"""Notebook widgets for keys, quizzes and confirmations that never save a secret with the notebook.

A saved notebook keeps every widget's synced state (JupyterLab's "Save Widget State
Automatically", nbclient's `metadata.widgets`) and every Output widget's outputs. Custom comm
messages and the browser's DOM are not saved. So a secret travels only in custom messages, lives
only in the DOM or in a private Python attribute, and is dropped after one use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from labkit import checks, keycheck
from labkit.keys import AccessKey
from labkit.verdicts import Verdict

COMMON_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1",
    "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
    "af-south-1", "me-south-1",
)
MASK = "•" * 40  # what reveal.js shows in place of the secret (the browser tests look for it)
SAVED = "Saved. AWS will never show this secret again; if you lose it, create a new key."
ONLY_ONCE = ("This is the only time that the secret access key can be viewed or copied. You "
             "cannot recover it later. However, you can create a new access key any time.")
NOT_AVAILABLE = ("This key's secret is not available here: AWS shows it only once, when the key "
                 "is created. If it was lost, create a new key and delete this one.")
_LABEL_WIDTH = "11em"
# The widgets' JavaScript and CSS, shipped with the package (pyproject's package-data).
FILES = Path(__file__).resolve().parent / "widget_files"
CSS = FILES / "labkit.css"


def _bundle(item: object) -> dict[str, Any]:
    # A string is shown as itself, not as its repr with quotes.
    data = {"text/plain": item if isinstance(item, str) else repr(item)}
    rich = getattr(item, "_repr_html_", None)
    text = rich() if callable(rich) else None
    if text:
        data["text/html"] = text
    return {"output_type": "display_data", "data": data, "metadata": {}}


def show_in(output: Status, *items: object) -> None:
    """Make `output` show exactly `items` (this is what a saved notebook keeps: never a secret)."""
    # Setting `outputs` from the kernel works from any thread and without a frontend, and what
    # is saved with the notebook is exactly what we put here.
    bundles = [_bundle(item) for item in items]
    with output.hold_sync():
        # A failure is announced at once (role="alert"); anything else politely.
        output.urgent = any(isinstance(item, Verdict) and not item.ok for item in items)
        output.outputs = bundles


class Status(anywidget.AnyWidget):
    """Where a widget's verdicts appear: a live region, so screen readers announce each one."""

    _esm = FILES / "status.js"
    _css = CSS
    outputs = traitlets.List(traitlets.Dict()).tag(sync=True)
    urgent = traitlets.Bool(False).tag(sync=True)

    def focus(self) -> None:
        """Move the keyboard focus to the verdicts (when the control that had it goes away)."""
        self.send({"event": "focus"})


# ---------------------------------------------------------------- SecretInput

class SecretInput(anywidget.AnyWidget):
    """A password box whose value reaches the kernel in custom messages only, never in state."""

    _esm = FILES / "secret_input.js"
    _css = CSS
    description = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    filled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, description: str = "", *, placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(description=description, placeholder=placeholder, **kwargs)
        self._value = ""
        self._submit_handlers = widgets.CallbackDispatcher()
        self.on_msg(self._on_message)

    @property
    def value(self) -> str:
        """What is typed in the box (kept in the kernel only)."""
        return self._value

    @value.setter
    def value(self, text: str) -> None:
        self._value = "" if text is None else str(text)
        self.filled = bool(self._value)
        if not self._value:
            self.send({"event": "clear"})

    def take(self) -> str:
        """Return the typed value once, and empty the box (here and in the browser)."""
        value, self._value = self._value, ""
        self.filled = False
        self.send({"event": "clear"})
        return value

    def on_submit(self, callback: Callable[[SecretInput], Any], remove: bool = False) -> None:
        """Call `callback(self)` when Enter is pressed in the box."""
        self._submit_handlers.register_callback(callback, remove=remove)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        event = content.get("event")
        if event == "input":
            value = content.get("value")
            self._value = value if isinstance(value, str) else ""
            self.filled = bool(self._value)
        elif event == "submit":
            self._submit_handlers(self)

    def close(self) -> None:
        """Forget the value, then close the widget."""
        self._value = ""
        super().close()

    def __repr__(self) -> str:
        return f"SecretInput(description={self.description!r}, filled={self.filled})"


# ---------------------------------------------------------------- KeyEntryForm


class KeyEntryForm(widgets.VBox):
    """Type an access key pair, check it with STS (and save it as a profile), in plain words.

    The view of `keycheck.verify_key`: it reads the boxes, empties the secret box, and shows the
    verdicts; the rule itself lives in `labkit.keycheck`."""

    def __init__(self, lab: Any, *, lesson: str | None = None, profile: str | None = None,
                 region: str = "us-east-1") -> None:
        style = {"description_width": _LABEL_WIDTH}
        wide = widgets.Layout(width="calc(11em + 32em)")
        self.key_id = widgets.Text(description="Access key ID", placeholder="AKIA...",
                                   style=style, layout=wide)
        self.secret = SecretInput("Secret access key",
                                  placeholder="40 characters, shown only when the key was made")
        self.region = widgets.Combobox(value=region, options=list(COMMON_REGIONS),
                                       ensure_option=False, description="Region",
                                       style=style, layout=wide)
        self.profile_name: widgets.Text | None = None
        if profile is not None:
            self.profile_name = widgets.Text(value=profile, description="Profile name",
                                             style=style, layout=wide)
        self.verify_button = widgets.Button(
            description="Verify and save profile" if profile is not None else "Verify",
            button_style="primary", icon="check", layout=widgets.Layout(width="auto"))
        self.note = widgets.HTML(
            "<small>The secret goes to this notebook's kernel only; it is not saved with the "
            "notebook, and the box empties after each check.</small>")
        self.output = Status()
        self.result: Verdict | None = None
        self.verdicts: list[Verdict] = []
        self._lab = lab
        self._lesson = lesson
        self._warning: tuple[widgets.Text, Verdict] | None = None

        fields = [self.key_id, self.secret, self.region, self.profile_name]
        super().__init__(children=[w for w in fields if w is not None]
                         + [self.verify_button, self.note, self.output])
        self.add_class("labkit-widget")

        for box, what in ((self.key_id, "access key ID"), (self.region, "region"),
                          (self.profile_name, "profile name")):
            if box is not None:
                box.observe(self._guard(box, what), names="value")
        self.verify_button.on_click(self._on_click)
        self.secret.on_submit(self._on_click)

    def submit(self, key_id: str, secret: str, region: str | None = None,
               profile: str | None = None) -> Verdict:
        """Type these values and click the button: what a learner would do. Returns the verdict."""
        if profile is not None and self.profile_name is None:
            raise ValueError("This form saves no profile; make it with KeyEntryForm(lab, profile=...).")
        self.key_id.value = key_id
        if region is not None:
            self.region.value = region
        if profile is not None and self.profile_name is not None:
            self.profile_name.value = profile
        self.secret.value = secret
        self._on_click()
        assert self.result is not None
        return self.result

    # -- inside: everything below runs in a widget callback and never raises

    def _guard(self, box: widgets.Text, what: str) -> Callable[[dict[str, Any]], None]:
        def check(change: dict[str, Any]) -> None:
            verdict = keycheck.misplaced_secret(change["new"], what)
            if verdict is None:
                return
            # A synced field is saved with the notebook: empty it before anything else.
            box.value = ""
            self._warning = (box, verdict)
            self._show([verdict])
        return check

    def _on_click(self, _source: Any = None) -> None:
        secret = self.secret.take()  # read once: the box is empty whatever happens next
        # The button and the box stay enabled while checking: disabling them would drop the
        # keyboard focus to the page (the kernel handles one click at a time anyway).
        verdicts = keycheck.verify_key(
            self._lab, self.key_id.value, secret, region=self.region.value,
            profile=None if self.profile_name is None else self.profile_name.value,
            lesson=self._lesson)
        warning, self._warning = self._warning, None
        if warning is not None and not warning[0].value.strip():
            # The box a secret was emptied from is still empty (so verify_key refused it, asking
            # nothing of AWS): saying why it is empty helps more than "it is empty".
            verdicts = [warning[1]]
        self._show(verdicts)

    def _show(self, verdicts: list[Verdict]) -> None:
        self.verdicts = verdicts
        self.result = verdicts[-1]
        # A time stamp, so pressing Verify again visibly answers even when the answer is the same.
        checked = datetime.now().strftime("checked at %H:%M:%S")
        show_in(self.output, *self.verdicts, checked)


# ---------------------------------------------------------------- SecretReveal

class SecretReveal(anywidget.AnyWidget):
    """The console's one-time "Retrieve access keys" page: show or copy the secret, then forget it."""

    _esm = FILES / "reveal.js"
    _css = CSS
    key_id = traitlets.Unicode("").tag(sync=True)
    user_name = traitlets.Unicode("").tag(sync=True)
    created = traitlets.Unicode("").tag(sync=True)
    available = traitlets.Bool(True).tag(sync=True)
    confirmed = traitlets.Bool(False).tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)

    def __init__(self, key: AccessKey, *, lesson: str | None = None, **kwargs: Any) -> None:
        created = key.created.strftime("%Y-%m-%d %H:%M UTC") if key.created else ""
        super().__init__(key_id=key.access_key_id, user_name=key.user_name or "",
                         created=created, available=key.has_secret,
                         notice=ONLY_ONCE if key.has_secret else NOT_AVAILABLE, **kwargs)
        self._key = key
        self._lesson = lesson
        self.on_msg(self._on_message)

    @property
    def key(self) -> AccessKey:
        """The key without its secret (for tables and later steps)."""
        return self._key.without_secret()

    def reveal(self) -> str | None:
        """What "Show" sends to the browser: the secret until it is confirmed saved, then None."""
        if self.confirmed or not self._key.has_secret:
            return None
        return self._key.reveal_secret()

    def confirm(self) -> Verdict:
        """The "I have saved it" button: forget the secret here and in the browser."""
        first = not self.confirmed
        self._key = self._key.without_secret()
        self.send({"event": "forget"})
        self.confirmed = True
        self.notice = SAVED
        if first and self._lesson:
            checks.record(self._lesson, "secret_saved", True)
        return Verdict(True, SAVED)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        event = content.get("event")
        if event == "reveal":
            purpose = "copy" if content.get("purpose") == "copy" else "show"
            value = self.reveal()
            if value is None:
                self.send({"event": "forget"})
            else:
                self.send({"event": "secret", "value": value, "purpose": purpose})
        elif event == "confirm":
            self.confirm()

    def close(self) -> None:
        """Forget the secret, then close the widget."""
        self._key = self._key.without_secret()
        super().close()

    def __repr__(self) -> str:
        return f"SecretReveal(key_id={self.key_id!r}, confirmed={self.confirmed})"


# ---------------------------------------------------------------- Quiz
