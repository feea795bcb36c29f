"""The button that opens a JupyterLab terminal, where the learner types `aws configure`."""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

FILES = Path(__file__).resolve().parent / "widget_files"


class TerminalButton(anywidget.AnyWidget):
    """Opens a JupyterLab terminal in a new tab; its shell already has the sandbox's settings."""

    _esm = FILES / "terminal.js"
    _css = FILES / "labkit.css"
    label = traitlets.Unicode("Open a terminal").tag(sync=True)
    # How many terminals the button opened (a person is at the keyboard): state, not a secret.
    opened = traitlets.Int(0).tag(sync=True)
