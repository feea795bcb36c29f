"""The course in a notebook: AWS errors and the lab's own errors shown in plain words."""

from __future__ import annotations

import html
from typing import Any

from labkit import outputs
from labkit.checks import error_code, explain
from labkit.keys import KeyFormatError
from labkit.settings import LabError

# Names the Setup cells define: a NameError for one of them means the kernel forgot them.
SETUP_NAMES = frozenset({"lesson", "iam", "sts", "labkit", "widgets", "reports", "scan", "leaks",
                         "scenario", "trail", "pd", "json"})


class Plain:
    """An error said in plain words: one bold line and what to do, rendered in red."""

    def __init__(self, title: str, detail: str = "", code: str | None = None) -> None:
        self.title, self.detail, self.code = title, detail, code

    def __repr__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"⛔ {self.title}{code}" + (f"\n   {self.detail}" if self.detail else "")

    def _repr_html_(self) -> str:
        code = f" <code>{html.escape(self.code)}</code>" if self.code else ""
        detail = f"<div style='margin-left:1.6em'>{html.escape(self.detail)}</div>" \
            if self.detail else ""
        return ("<div class='labkit-error' style='background:#fff4e5;border-left:4px solid "
                f"#b45309;padding:4px 8px;margin:2px 0'><b style='color:#7c2d12'>⛔ "
                f"{html.escape(self.title)}</b>{code}{detail}</div>")


def describe(error: BaseException) -> Plain | None:
    """Plain words for an error a learner can meet in a lesson (None: show the usual traceback)."""
    code = error_code(error)
    if code:
        why = explain(error)
        operation = getattr(error, "operation_name", "") or "The call"
        said = f"AWS refused {operation}: {why.meaning}"
        return Plain(said, f"{why.message} — {why.what_to_do}" if why.message else why.what_to_do,
                     code)
    if isinstance(error, (LabError, KeyFormatError)):
        return Plain(str(error))
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or ""
        if name in SETUP_NAMES:
            return Plain(f"`{name}` is not defined: the kernel does not know the lesson's setup "
                         "(it was restarted, or Setup has not run yet).",
                         "Run the Setup cells again (the two cells under \"Setup\"), then this "
                         "cell. Nothing in your sandbox was lost.")
        return Plain(f"`{name}` is not defined yet.",
                     "Check its spelling; if it is made by a cell above, run the cells above "
                     "this one in order (Run > Run All Above Selected Cell), then this cell again.")
    return None


def _handler(shell: Any, etype: type, value: BaseException, tb: Any,
             tb_offset: int | None = None) -> Any:
    said = describe(value)
    if said is None:
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    from IPython.display import display

    display(said)
    return None


def install(shell: Any = None) -> bool:
    """Show AWS errors (botocore ClientError), the lab's errors and a forgotten setup plainly,
    and mask secrets in what commands print (`!aws ...`: labkit.outputs)."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    from botocore.exceptions import ClientError

    shell.set_custom_exc((ClientError, LabError, KeyFormatError, NameError), _handler)
    outputs.install(shell)
    return True


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext labkit.notebook`, or a kernel configured to load it: plain-words errors from
    the first cell, so that a restarted kernel's NameError already says to run Setup again."""
    install(shell)
