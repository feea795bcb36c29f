"""A checkpoint's or a check's outcome: ok or not, one line, and what it means or what to do."""

from __future__ import annotations

import html
from dataclasses import dataclass

from labkit.errors import error_code, explain


@dataclass(frozen=True)
class Verdict:
    """The outcome of a checkpoint: ok or not, one line, and what it means or what to do."""

    ok: bool
    title: str
    detail: str = ""
    code: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        mark = "✅" if self.ok else "❌"
        code = f" [{self.code}]" if self.code else ""
        return f"{mark} {self.title}{code}" + (f"\n   {self.detail}" if self.detail else "")

    def _repr_html_(self) -> str:
        colour, bg, mark = ("#1b5e20", "#e8f5e9", "✅") if self.ok else ("#b71c1c", "#ffebee", "❌")
        code = f" <code>{html.escape(self.code)}</code>" if self.code else ""
        detail = f"<div style='margin-left:1.6em'>{html.escape(self.detail)}</div>" \
            if self.detail else ""
        return (f"<div class='labkit-check' style='background:{bg};border-left:4px solid {colour};"
                f"padding:4px 8px;margin:2px 0'><b style='color:{colour}'>{mark} "
                f"{html.escape(self.title)}</b>{code}{detail}</div>")


def failure(error: BaseException, doing: str) -> Verdict:
    """A red line for an error met while `doing` something, with its plain-words explanation."""
    why = explain(error)
    return Verdict(False, f"{doing} failed: {why.meaning}", why.what_to_do,
                   code=why.code if error_code(error) else None)
