"""The account's access keys on display: tables a notebook shows (Stylers) and the age chart.

The facts come from `labkit.credential_report` (the report parsed, the key inventory) and
`labkit.cis` (the CIS checks); their public names are here too, as the lessons use them.
"""

from __future__ import annotations

import html
import uuid
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
    report_keys,
    with_ages,
)

if TYPE_CHECKING:
    import pandas as pd
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

# The patterns of the chart's bars past the limit and inactive (SVG pattern names).
OVERDUE_PATTERN = "stripes"

INACTIVE_PATTERN = "dots"



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
    """The age chart as a notebook shows it: an SVG image with its text alternative and text a
    browser can zoom, a caption, and the same facts in a table a screen reader can walk through."""

    def __init__(self, svg: str, summary: str, table: pd.DataFrame) -> None:
        self.svg = svg
        self.summary = summary
        self.table = table

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(r.user))}</td><td>{r.key}</td><td>{r.age_days}</td>"
            f"<td>{html.escape(r.state)}</td></tr>"
            for r in self.table.itertuples()
        )
        return (
            '<figure class="labkit-chart" style="margin: 0">'
            f"{self.svg}"
            "<figcaption><details><summary>The chart's facts as a table</summary>"
            "<table><thead><tr><th scope='col'>user</th><th scope='col'>key</th>"
            "<th scope='col'>age (days)</th><th scope='col'>state</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details></figcaption></figure>"
        )

    def __repr__(self) -> str:
        return self.summary



# The chart's geometry in SVG user units (CSS pixels at 100%).
CHART_WIDTH = 640
ROW_HEIGHT = 26
BAR_HEIGHT = 18
FONT = 'font-family="sans-serif" font-size="12"'



def _tick_step(largest: float) -> int:
    """A round step (1, 2, 5, 10, 20, 50, ...) that puts at most eight ticks up to `largest`."""
    step = 1
    while largest / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return step



def _patterns(uid: str) -> str:
    """The stripes of keys past the limit and the dots of inactive keys, as SVG patterns."""
    return (
        "<defs>"
        f'<pattern id="{uid}-{OVERDUE_PATTERN}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{OVERDUE_COLOUR}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="white" stroke-width="2"/></pattern>'
        f'<pattern id="{uid}-{INACTIVE_PATTERN}" width="5" height="5" '
        'patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="{INACTIVE_COLOUR}"/>'
        '<circle cx="2.5" cy="2.5" r="1.1" fill="white"/></pattern>'
        "</defs>"
    )



def key_age_chart(
    frame: pd.DataFrame,
    now: datetime | None = None,
    rotation_days: int = ROTATION_DAYS,
) -> ChartDisplay:
    """A bar per key showing its age, labelled past the limit / within / inactive; a notebook
    shows it, with its text alternative, when it is a cell's last value."""
    when = frame_now(frame, now)
    keys = with_ages(frame, when).reset_index(drop=True)
    table = key_age_table(keys, when, rotation_days)
    summary = key_age_summary(keys, when, rotation_days)
    # IDs unique in the whole page: JupyterLab shows every open notebook in one document, and a
    # pattern defined in a hidden tab would not paint the bars of a visible one.
    uid = f"labkit-chart-{uuid.uuid4().hex[:12]}"
    fills = {
        "past the limit": f"url(#{uid}-{OVERDUE_PATTERN})",
        "within the limit": OK_COLOUR,
        "inactive": f"url(#{uid}-{INACTIVE_PATTERN})",
    }
    labels = [f"{u} (key {k})" for u, k in zip(table["user"], table["key"])]
    # Labels are right-aligned against the bars; about 7 units per character at 12 px.
    left = max(80, min(260, 12 + 7 * max((len(t) for t in labels), default=0)))
    top = 40
    plot = CHART_WIDTH - left - 16
    ages = table["age_days"].tolist()
    # Room on the right for the words at the bars' ends.
    largest = max([rotation_days, *ages]) * 1.45

    def x(days: float) -> float:
        return round(left + plot * days / largest, 1)

    bottom = top + ROW_HEIGHT * max(len(table), 1)
    parts = [_patterns(uid),
             f'<text x="{CHART_WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold" '
             f'{FONT}>Access key ages</text>']
    for row, (label, age, state) in enumerate(zip(labels, ages, table["state"])):
        y = top + ROW_HEIGHT * row
        mid = y + ROW_HEIGHT / 2
        parts.append(
            f'<text x="{left - 6}" y="{mid}" text-anchor="end" dominant-baseline="middle" '
            f'{FONT}>{html.escape(label)}</text>'
            f'<rect class="labkit-bar" data-state="{state}" x="{left}" '
            f'y="{y + (ROW_HEIGHT - BAR_HEIGHT) / 2}" width="{x(age) - left}" '
            f'height="{BAR_HEIGHT}" fill="{fills[state]}" stroke="white"/>'
            # Each bar says its state in words at its end: the chart reads without colour.
            f'<text class="labkit-bar-label" x="{x(age) + 4}" y="{mid}" '
            f'dominant-baseline="middle" stroke="white" stroke-width="3" paint-order="stroke" '
            f'{FONT}>{age} d, {state}</text>'
        )
    if table.empty:
        parts.append(f'<text x="{left + plot / 2}" y="{top + ROW_HEIGHT / 2}" text-anchor="middle" '
                     f'dominant-baseline="middle" {FONT}>No access keys</text>')
    step = _tick_step(largest)
    for tick in range(0, int(largest) + 1, step):
        parts.append(f'<line x1="{x(tick)}" y1="{bottom}" x2="{x(tick)}" y2="{bottom + 4}" '
                     f'stroke="black"/><text x="{x(tick)}" y="{bottom + 16}" '
                     f'text-anchor="middle" {FONT}>{tick}</text>')
    limit = f"rotate by {rotation_days} days"
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot}" y2="{bottom}" stroke="black"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="black"/>'
        f'<line class="labkit-limit" x1="{x(rotation_days)}" y1="{top - 6}" '
        f'x2="{x(rotation_days)}" y2="{bottom}" stroke="black" stroke-dasharray="5 3"/>'
        f'<text x="{left + plot / 2}" y="{bottom + 34}" text-anchor="middle" {FONT}>'
        "Key age (days)</text>"
    )
    # The legend: the limit line, then a swatch per state with its pattern.
    legend_y = bottom + 50
    entries = [("line", limit), *((s, f"active, {s}" if s != "inactive" else s) for s in fills)]
    spot = left
    for kind, words in entries:
        if kind == "line":
            parts.append(f'<line x1="{spot}" y1="{legend_y + 6}" x2="{spot + 18}" '
                         f'y2="{legend_y + 6}" stroke="black" stroke-dasharray="5 3"/>')
        else:
            parts.append(f'<rect x="{spot}" y="{legend_y}" width="18" height="12" '
                         f'fill="{fills[kind]}"/>')
        parts.append(f'<text x="{spot + 22}" y="{legend_y + 6}" dominant-baseline="middle" '
                     f"{FONT}>{words}</text>")
        spot += 30 + 6.5 * len(words)
    height = legend_y + 24
    width = max(CHART_WIDTH, round(spot))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="{html.escape(summary)}" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" style="max-width: 100%; height: auto; background: white">'
           f"<title>{html.escape(summary)}</title>{''.join(parts)}</svg>")
    return ChartDisplay(svg, summary, table)
