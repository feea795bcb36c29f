"""The account's access keys on display: tables a notebook shows (Stylers) and the age chart.

The facts come from `labkit.credential_report` (the report parsed, the key inventory) and
`labkit.cis` (the CIS checks); their public names are here too, as the lessons use them.
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit.cis import (  # noqa: F401 (the lessons' names: reports.findings, ...)
    CHECKS,
    FINDING_COLUMNS,
    ROTATION_DAYS,
    SEVERITIES,
    UNUSED_DAYS,
    findings,
    key_age_summary,
    key_age_table,
    key_state,
)
from labkit.credential_report import (  # noqa: F401 (reports.key_inventory, ...)
    KEY_COLUMNS,
    NO_VALUE,
    REPORT_COLUMNS,
    ROOT_USER,
    CredentialReportTimeout,
    as_utc,
    credential_report_frame,
    frame_now,
    key_inventory,
    with_ages,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from pandas.io.formats.style import Styler
else:  # imported when a table is first made: `from labkit import reports` stays cheap
    from labkit.lazy import LazyModule

    pd = LazyModule("pandas")

ACTION_BACKGROUND = "#fde2e1"

# Inactive keys' text and bars: 4.5:1 or more on white, on the action rows' pink and on
# JupyterLab's striped rows (#f5f5f5), as WCAG AA asks of text.
INACTIVE_COLOUR = "#595959"

SEVERITY_STYLES = {
    "critical": "background-color: #8b0000; color: white; font-weight: bold",
    "high": "background-color: #d9363e; color: white",
    "medium": "background-color: #f5c242; color: black",
    "low": "background-color: #dbe9f6; color: black",
}

# The chart's three kinds of bar differ in lightness and pattern too, and each bar is labelled
# in words, so no fact depends on telling colours apart.
OVERDUE_COLOUR = "#b2182b"

OK_COLOUR = "#4393c3"

OVERDUE_HATCH = "///"

INACTIVE_HATCH = ".."



def _checks_by_row(keys: pd.DataFrame, found: pd.DataFrame) -> list[list[str]]:
    """For each key row, the names of the checks that flagged it."""
    per_row: list[list[str]] = [[] for _ in range(len(keys))]
    users = keys["user"].tolist()
    slots = keys["key_slot"].tolist()
    active = keys["active"].astype(bool).tolist()
    for item in found.to_dict("records"):
        for i in range(len(keys)):
            if users[i] != item["user"]:
                continue
            if pd.isna(item["key_slot"]):
                # A per-user finding (two active keys) marks each of the user's active keys.
                if active[i]:
                    per_row[i].append(item["check"])
            elif slots[i] == item["key_slot"]:
                per_row[i].append(item["check"])
    return per_row



def _day(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")  # type: ignore[arg-type]



def _heading(name: object) -> str:
    """A column name as a heading that may wrap: `days_since_use` -> `days since use`."""
    return str(name).replace("_", " ")



def _table(data: pd.DataFrame, label: str) -> Styler:
    """A Styler that a notebook shows in a labelled region the keyboard can scroll."""
    from pandas.io.formats.style import Styler

    class RegionStyler(Styler):
        """Shown inside a focusable, labelled region, so a table wider than the output can
        still be scrolled with the arrow keys (WCAG 2.1.1); `to_html()` is the table alone."""

        def _repr_html_(self) -> str:
            return _region(super()._repr_html_() or "", label)

    return RegionStyler(data)



def _region(inner: str, label: str) -> str:
    """`inner` HTML in a labelled region that the keyboard can focus and scroll (WCAG 2.1.1)."""
    return (f'<div class="labkit-table" role="region" aria-label="{html.escape(label)}" '
            f'tabindex="0" style="overflow-x: auto; max-width: 100%">{inner}</div>')



def register_table_display(shell: Any = None) -> bool:
    """Show every DataFrame in this notebook in a keyboard-scrollable region; False outside IPython.

    JupyterLab lets a table wider than the output scroll sideways, but only with a mouse.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False

    def frame_html(frame: pd.DataFrame) -> str | None:
        inner = frame._repr_html_()
        return None if inner is None else _region(inner, "Table")

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    return True



def style_keys(
    frame: pd.DataFrame,
    now: datetime | None = None,
    rotation_days: int = ROTATION_DAYS,
    unused_days: int = UNUSED_DAYS,
) -> Styler:
    """The key table for a notebook: rows needing action tinted and named, inactive keys grey."""
    when = frame_now(frame, now)
    keys = with_ages(frame, when).reset_index(drop=True)
    found = findings(keys, when, rotation_days=rotation_days, unused_days=unused_days)
    checks = _checks_by_row(keys, found)
    shown = keys[
        [
            "user",
            "key_id",
            "key_slot",
            "active",
            "created",
            "age_days",
            "last_used",
            "days_since_use",
            "last_service",
            "last_region",
        ]
    ].copy()
    # Colour alone does not say why a row is red, so name the checks too.
    shown["action"] = [", ".join(names) for names in checks]

    def row_style(row: pd.Series) -> list[str]:
        css = []
        if checks[int(row.name)]:  # type: ignore[arg-type]
            css.append(f"background-color: {ACTION_BACKGROUND}")
        if not bool(row["active"]):
            css.append(f"color: {INACTIVE_COLOUR}")
            css.append("font-style: italic")
        return ["; ".join(css)] * len(row)

    return (
        _table(shown, "Access keys")
        .set_uuid("labkit-keys")
        .set_caption(
            f"Access keys. Tinted rows need action (the action column says why); "
            f"inactive keys are grey and italic. Key ages on {when:%Y-%m-%d}."
        )
        .apply(row_style, axis=1)
        # Dates and regions read badly broken over two lines; headings may wrap instead.
        .set_properties(subset=["created", "last_used", "last_region"], **{"white-space": "nowrap"})
        # escape: the root user's name, <root_account>, is not an HTML tag.
        .format(escape="html")
        .format(_day, subset=["created", "last_used"])
        .format(lambda v: "yes" if v else "no", subset=["active"])
        .format(
            lambda v: "" if v is None or pd.isna(v) else str(v),
            subset=["key_id", "last_service", "last_region"],
            escape="html",
        )
        .format(lambda v: "never" if pd.isna(v) else str(v), subset=["days_since_use"])
        .format_index(_heading, axis=1)
        .hide(axis="index")
    )



def style_findings(findings_frame: pd.DataFrame) -> Styler:
    """The findings table for a notebook: the severity in words, and in its own colour."""
    shown = findings_frame.reset_index(drop=True)
    return (
        _table(shown, "Findings")
        .set_uuid("labkit-findings")
        .set_caption("Findings, with each one's severity.")
        .map(lambda s: SEVERITY_STYLES.get(s, ""), subset=["severity"])
        .format(escape="html")
        .format(lambda v: "" if pd.isna(v) else str(v), subset=["key_slot"])
        .format_index(_heading, axis=1)
        .hide(axis="index")
    )



class ChartDisplay:
    """The age chart as a notebook shows it: an image with its text alternative, a caption, and
    the same facts in a table a screen reader can walk through."""

    def __init__(self, png: bytes, summary: str, table: pd.DataFrame) -> None:
        self.png = png
        self.summary = summary
        self.table = table

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        rows = "".join(
            f"<tr><td>{html.escape(str(r.user))}</td><td>{r.key}</td><td>{r.age_days}</td>"
            f"<td>{html.escape(r.state)}</td></tr>"
            for r in self.table.itertuples()
        )
        return (
            '<figure class="labkit-chart" style="margin: 0">'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(self.summary)}" '
            'style="max-width: 100%">'
            "<figcaption><details><summary>The chart's facts as a table</summary>"
            "<table><thead><tr><th scope='col'>user</th><th scope='col'>key</th>"
            "<th scope='col'>age (days)</th><th scope='col'>state</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details></figcaption></figure>"
        )

    def __repr__(self) -> str:
        return self.summary



def key_age_chart(
    frame: pd.DataFrame,
    now: datetime | None = None,
    rotation_days: int = ROTATION_DAYS,
    ax: Axes | None = None,
) -> Axes:
    """A bar per key showing its age, labelled past the limit / within / inactive.

    Without `ax`, the chart is shown in the notebook at once, with its text alternative.
    """
    own = ax is None
    if ax is None:
        # A bare Figure, not pyplot's: the inline backend would show it as an image without
        # a text alternative, so it is shown below as a ChartDisplay instead.
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 1.5 + 0.4 * max(len(frame), 1)), layout="constrained").subplots()
    when = frame_now(frame, now)
    keys = with_ages(frame, when).reset_index(drop=True)
    labels = [f"{u} (key {int(s)})" for u, s in zip(keys["user"], keys["key_slot"])]
    states = [key_state(a, int(g), rotation_days)
              for a, g in zip(keys["active"].astype(bool), keys["age_days"])]
    look = {
        "past the limit": (OVERDUE_COLOUR, OVERDUE_HATCH),
        "within the limit": (OK_COLOUR, ""),
        "inactive": (INACTIVE_COLOUR, INACTIVE_HATCH),
    }
    positions = list(range(len(keys)))
    ages = keys["age_days"].tolist()
    bars = ax.barh(positions, ages, color=[look[s][0] for s in states], edgecolor="white")
    for bar, state in zip(bars, states):
        bar.set_hatch(look[state][1])
    # Each bar says its state in words at its end: the chart reads without colour.
    for y, (age, state) in enumerate(zip(ages, states)):
        ax.text(age, y, f" {age} d, {state}", va="center", ha="left", fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    limit = ax.axvline(
        rotation_days, color="black", linestyle="--", label=f"rotate by {rotation_days} days"
    )
    if keys.empty:
        ax.text(0.5, 0.5, "No access keys", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlabel("Key age (days)")
    ax.set_title("Access key ages")
    # Room on the right for the labels at the bars' ends.
    ax.set_xlim(0, max([rotation_days, *ages]) * 1.45)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            limit,
            *(Patch(facecolor=c, hatch=h, edgecolor="white", label=f"active, {s}"
                    if s != "inactive" else s) for s, (c, h) in look.items()),
        ],
        loc="lower right",
        fontsize="small",
    )
    if own:
        _show(ChartDisplay(_png(ax), key_age_summary(frame, when, rotation_days),
                           key_age_table(frame, when, rotation_days)))
    return ax



def _png(ax: Axes) -> bytes:
    """The axes' figure as PNG bytes."""
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=96)
    return buffer.getvalue()



def _show(item: object) -> None:
    """Display `item` in the running notebook; nothing outside IPython (scripts, tests)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is not None:
        display(item)
