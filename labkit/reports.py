"""The account's access keys as a table: the IAM credential report, CIS key checks, and displays."""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit.keys import mask_key_id

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from pandas.io.formats.style import Styler
else:  # imported when a table is first made: `from labkit import reports` stays cheap
    from labkit.lazy import LazyModule

    pd = LazyModule("pandas")

ROOT_USER = "<root_account>"
# Values the credential report writes where a date or service would be.
NO_VALUE = frozenset({"", "N/A", "no_information", "not_supported"})
REPORT_COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
# One row per access key; the same columns whichever way the keys were gathered.
KEY_COLUMNS: dict[str, str] = {
    "user": "object",
    "key_id": "object",
    "key_slot": "int64",
    "active": "bool",
    "created": "datetime64[ns, UTC]",
    "age_days": "int64",
    "last_used": "datetime64[ns, UTC]",
    "days_since_use": "Int64",
    "last_service": "object",
    "last_region": "object",
    "arn": "object",
    "user_created": "datetime64[ns, UTC]",
    "password_enabled": "bool",
}
FINDING_COLUMNS: dict[str, str] = {
    "user": "object",
    "key_slot": "Int64",
    "check": "object",
    "severity": "object",
    "detail": "object",
    "cis": "object",
}
SEVERITIES = ("critical", "high", "medium", "low")
# Each check's severity and its CIS AWS Foundations Benchmark recommendation number.
CHECKS: dict[str, tuple[str, str]] = {
    "root_access_key": ("critical", "1.4"),
    "rotation_overdue": ("high", "1.14"),
    "unused_since_creation": ("medium", "1.11"),
    "unused_key": ("medium", "1.12"),
    "two_active_keys": ("low", "1.13"),
}
ROTATION_DAYS = 90
UNUSED_DAYS = 45
# Above this many users with keys, one ListAccessKeys call each costs more than the IDs are worth.
MAX_USERS_FOR_KEY_IDS = 200
REPORT_POLL_SECONDS = 0.05
REPORT_TIMEOUT_SECONDS = 10.0

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


class CredentialReportTimeout(TimeoutError):
    """IAM did not finish the credential report in time."""


def _utc(now: datetime | None) -> pd.Timestamp:
    """The given time (naive means UTC) or the current time, as a UTC Timestamp."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _frame_now(frame: pd.DataFrame, now: datetime | None) -> pd.Timestamp:
    """`now` if given, else the `now` the frame was built with, else the current time."""
    if now is None:
        now = frame.attrs.get("now")
    return _utc(now)


def _when(text: str) -> pd.Timestamp:
    """A report date as a UTC Timestamp; NaT for N/A, no_information and not_supported."""
    text = text.strip()
    if text in NO_VALUE:
        return pd.NaT
    try:
        return _utc(pd.Timestamp(text))
    except ValueError as exc:
        raise ValueError(f"The credential report has a date IAM never writes: {text!r}") from exc


def _flag(text: str) -> bool:
    """A report true/false; not_supported (the root user's password) counts as False."""
    return text.strip().lower() == "true"


def _label(text: str | None) -> str | None:
    """A service or region name, or None where the report has N/A or not_supported."""
    if text is None:
        return None
    text = text.strip()
    return None if text in NO_VALUE else text


def _typed(rows: list[dict[str, Any]], now: pd.Timestamp) -> pd.DataFrame:
    """Key rows as a frame with KEY_COLUMNS' dtypes and ages counted to `now`."""
    frame = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
    for column in ("created", "last_used", "user_created"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = _with_ages(frame, now).astype(KEY_COLUMNS)
    # Object columns hold None, never NaN, so `is None` checks in lessons behave.
    for column in ("key_id", "last_service", "last_region"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame.attrs["now"] = now
    return frame


def _with_ages(frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """A copy of a key frame with age_days and days_since_use counted to `now`."""
    out = frame.copy()
    day = pd.Timedelta(days=1)
    # Clocks differ by seconds: a key made "after" now is zero days old, not minus one.
    created = pd.to_datetime(out["created"], utc=True)
    out["age_days"] = ((now - created) // day).clip(lower=0).astype("int64")
    used = pd.to_datetime(out["last_used"], utc=True)
    out["days_since_use"] = ((now - used) // day).clip(lower=0).astype("Int64")
    return out


def _report_text(report: bytes | str) -> str:
    """The report as text, whatever form the SDK handed it over in."""
    if isinstance(report, (bytes, bytearray)):
        return bytes(report).decode("utf-8-sig")
    return report.lstrip("\ufeff")


def credential_report_frame(report: bytes | str, now: datetime | None = None) -> pd.DataFrame:
    """One row per existing access key in a raw IAM credential report (CSV bytes or text)."""
    now_utc = _utc(now)
    text = _report_text(report)
    if not text.strip():
        raise ValueError("The credential report is empty; IAM always writes at least a header.")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in REPORT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            "This does not look like an IAM credential report; it has no "
            + ", ".join(missing[:3])
            + (" ..." if len(missing) > 3 else "")
            + " column."
        )
    rows: list[dict[str, Any]] = []
    for record in table.to_dict("records"):
        for slot in (1, 2):
            prefix = f"access_key_{slot}_"
            created = _when(record[prefix + "last_rotated"])
            # A key exists exactly when it has a rotation date; inactive keys keep theirs.
            if pd.isna(created):
                continue
            rows.append(
                {
                    "user": record["user"],
                    "key_id": None,
                    "key_slot": slot,
                    "active": _flag(record[prefix + "active"]),
                    "created": created,
                    "age_days": 0,
                    "last_used": _when(record[prefix + "last_used_date"]),
                    "days_since_use": pd.NA,
                    "last_service": _label(record[prefix + "last_used_service"]),
                    "last_region": _label(record[prefix + "last_used_region"]),
                    "arn": record["arn"],
                    "user_created": _when(record["user_creation_time"]),
                    "password_enabled": _flag(record["password_enabled"]),
                }
            )
    return _typed(rows, now_utc)


def _slot_text(slot: object) -> str:
    return "" if pd.isna(slot) else f"Key {int(slot)}"  # type: ignore[call-overload]


def findings(
    frame: pd.DataFrame,
    now: datetime | None = None,
    *,
    rotation_days: int = ROTATION_DAYS,
    unused_days: int = UNUSED_DAYS,
) -> pd.DataFrame:
    """CIS AWS Foundations checks on a key frame, most severe first.

    Ages are recounted from `created` and `last_used` to `now` (default: the frame's own
    `attrs["now"]`, else the current time), so a later `now` shows what falls due. CIS and AWS
    say "rotate every 90 days or less": a key aged exactly `rotation_days` whole days is on its
    last allowed day, and is overdue from the next day. A key unused for exactly `unused_days`
    days counts as unused. Inactive keys are never overdue or unused.
    """
    needed = {"user", "key_slot", "active", "created", "last_used"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise ValueError(f"The key table has no {', '.join(missing)} column(s).")
    keys = _with_ages(frame, _frame_now(frame, now))
    know_password = {"user_created", "password_enabled"} <= set(frame.columns)
    out: list[dict[str, Any]] = []

    def add(user: str, slot: object, check: str, detail: str) -> None:
        severity, cis = CHECKS[check]
        out.append(dict(zip(FINDING_COLUMNS, (user, slot, check, severity, detail, cis))))

    for key in keys.to_dict("records"):
        if not key["active"]:
            continue
        user, slot, age = key["user"], key["key_slot"], int(key["age_days"])
        name = _slot_text(slot)
        never_used = pd.isna(key["last_used"])
        if user == ROOT_USER:
            add(user, slot, "root_access_key",
                f"The root user has an active access key ({name.lower()}); "
                "delete it and use an IAM user or role instead.")  # fmt: skip
        if (
            know_password
            and bool(key["password_enabled"])
            and never_used
            and not pd.isna(key["user_created"])
            and abs(key["created"] - key["user_created"]) <= pd.Timedelta(days=1)
        ):
            add(user, slot, "unused_since_creation",
                f"{name} was made along with this console user and has never been used; "
                "delete it and create keys only when they are needed.")  # fmt: skip
        if never_used and age >= unused_days:
            add(user, slot, "unused_key",
                f"{name} has never been used in its {age} days; "
                f"deactivate or delete it (the limit is {unused_days} days).")  # fmt: skip
        elif not never_used and int(key["days_since_use"]) >= unused_days:
            add(user, slot, "unused_key",
                f"{name} was last used {int(key['days_since_use'])} days ago; "
                f"deactivate or delete it (the limit is {unused_days} days).")  # fmt: skip
        if age > rotation_days:
            add(user, slot, "rotation_overdue",
                f"{name} is {age} days old; rotate it (the limit is {rotation_days} days).")  # fmt: skip

    active_counts = keys[keys["active"].astype(bool)].groupby("user", sort=False).size()
    for user, count in active_counts.items():
        if count >= 2:
            add(str(user), pd.NA, "two_active_keys",
                f"{user} has {count} active keys; keep one active except while rotating.")  # fmt: skip

    result = pd.DataFrame(out, columns=list(FINDING_COLUMNS)).astype(FINDING_COLUMNS)
    order = (
        result.assign(
            _rank=result["severity"].map(SEVERITIES.index),
            _slot=result["key_slot"].fillna(0),
            _check=result["check"].map(list(CHECKS).index),
        )
        .sort_values(["_rank", "user", "_slot", "_check"], kind="stable")
        .index
    )
    result = result.loc[order].reset_index(drop=True)
    result.attrs["now"] = _frame_now(frame, now)
    return result


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
    when = _frame_now(frame, now)
    keys = _with_ages(frame, when).reset_index(drop=True)
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


def _status(active: bool, age: int, rotation_days: int) -> str:
    """A key's state as the chart says it in words."""
    if not active:
        return "inactive"
    return "past the limit" if age > rotation_days else "within the limit"


def key_age_table(
    frame: pd.DataFrame, now: datetime | None = None, rotation_days: int = ROTATION_DAYS
) -> pd.DataFrame:
    """What the age chart shows, as a table: user, key slot, age in days, state."""
    keys = _with_ages(frame, _frame_now(frame, now)).reset_index(drop=True)
    return pd.DataFrame(
        {
            "user": keys["user"].astype(str),
            "key": keys["key_slot"].astype(int),
            "age_days": keys["age_days"].astype(int),
            "state": [
                _status(a, int(g), rotation_days)
                for a, g in zip(keys["active"].astype(bool), keys["age_days"])
            ],
        }
    )


def key_age_summary(
    frame: pd.DataFrame, now: datetime | None = None, rotation_days: int = ROTATION_DAYS
) -> str:
    """One sentence that says what the age chart shows (its text alternative)."""
    table = key_age_table(frame, now, rotation_days)
    if table.empty:
        return "Bar chart of access key ages: there are no access keys."

    def who(state: str) -> str:
        rows = table[table["state"] == state]
        if rows.empty:
            return f"none {state}"
        names = ", ".join(f"{u} key {k} ({d} days)" for u, k, d in
                          zip(rows["user"], rows["key"], rows["age_days"]))
        return f"{len(rows)} {state}: {names}"

    return (f"Bar chart of access key ages, {len(table)} keys, against the {rotation_days}-day "
            f"rotation limit. Active, {who('past the limit')}. Active, "
            f"{who('within the limit')}. {who('inactive').capitalize()}.")


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
    when = _frame_now(frame, now)
    keys = _with_ages(frame, when).reset_index(drop=True)
    labels = [f"{u} (key {int(s)})" for u, s in zip(keys["user"], keys["key_slot"])]
    states = [_status(a, int(g), rotation_days)
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


def _error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError (or a look-alike), else ''."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _pages(client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of an IAM list call: the client's paginator, or Marker by hand for fakes."""
    can = getattr(client, "can_paginate", None)
    if callable(can) and can(operation):
        yield from client.get_paginator(operation).paginate(**params)
        return
    call = getattr(client, operation)
    while True:
        page = call(**params)
        yield page
        if not page.get("IsTruncated"):
            return
        params["Marker"] = page["Marker"]


def _iam_client(session: Any, client: Any) -> Any:
    """The IAM client to use: the one given, one for the given session, or the lab's."""
    if client is not None:
        return client
    if session is None:
        from labkit.session import connect

        return connect().client("iam")
    import boto3

    if isinstance(session, boto3.session.Session):
        from labkit.session import client_for

        return client_for(session, "iam")
    # Anything else with .client() (the object connect() returns) makes its own clients.
    return session.client("iam")


def _fetch_report(iam: Any) -> dict[str, Any]:
    """GenerateCredentialReport until COMPLETE, then GetCredentialReport."""
    deadline = time.monotonic() + REPORT_TIMEOUT_SECONDS
    while iam.generate_credential_report().get("State") != "COMPLETE":
        if time.monotonic() >= deadline:
            raise CredentialReportTimeout(
                f"IAM did not finish the credential report within {REPORT_TIMEOUT_SECONDS:g} "
                "seconds. Wait a minute and run this cell again."
            )
        time.sleep(REPORT_POLL_SECONDS)
    return iam.get_credential_report()


def _second(value: object) -> pd.Timestamp:
    return _utc(pd.Timestamp(value)).floor("s")  # type: ignore[arg-type]


def _match_slots(rows: pd.DataFrame, listed: list[dict[str, Any]]) -> dict[int, str]:
    """Key IDs by slot: CreateDate equal to last_rotated to the second, else in order."""
    by_slot: dict[int, str] = {}
    left = sorted(listed, key=lambda k: _second(k["CreateDate"]))
    slots = sorted(zip(rows["key_slot"].astype(int), rows["created"]))
    for slot, created in slots:
        match = next((k for k in left if _second(k["CreateDate"]) == created.floor("s")), None)
        if match is not None:
            by_slot[slot] = match["AccessKeyId"]
            left.remove(match)
    for slot, _ in slots:
        if slot not in by_slot and left:
            by_slot[slot] = left.pop(0)["AccessKeyId"]
    return by_slot


def key_inventory(
    session: Any = None, now: datetime | None = None, *, client: Any = None
) -> pd.DataFrame:
    """Every access key in the account from one credential report, key IDs masked."""
    iam = _iam_client(session, client)
    report = _fetch_report(iam)
    if now is None:
        now = _server_time(report)
    frame = credential_report_frame(report["Content"], now)
    users = [u for u in frame["user"].unique() if u != ROOT_USER]
    if 0 < len(users) <= MAX_USERS_FOR_KEY_IDS:
        key_ids = frame["key_id"].tolist()
        for user in users:
            try:
                listed = [
                    k
                    for page in _pages(iam, "list_access_keys", UserName=user)
                    for k in page.get("AccessKeyMetadata", [])
                ]
            except Exception as exc:
                # The user was deleted after the report was made: their keys went with them.
                if _error_code(exc) == "NoSuchEntity":
                    continue
                raise
            rows = frame[frame["user"] == user]
            by_slot = _match_slots(rows, listed)
            for index, slot in zip(rows.index, rows["key_slot"]):
                if int(slot) in by_slot:
                    key_ids[frame.index.get_loc(index)] = mask_key_id(by_slot[int(slot)])
        frame["key_id"] = pd.Series(key_ids, index=frame.index, dtype=object)
    generated = report.get("GeneratedTime")
    frame.attrs["generated"] = None if generated is None else _utc(generated)
    return frame


def _server_time(response: dict[str, Any]) -> datetime | None:
    """When the account answered (its Date header): the sandbox's clock, which a lesson may have
    moved forward, or AWS's time. None when the answer has no date."""
    from email.utils import parsedate_to_datetime

    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None


def naive_key_inventory(client: Any, now: datetime | None = None) -> pd.DataFrame:
    """The same table the slow way (calls per user and per key): the benchmark's baseline."""
    now_utc = _utc(now)
    rows: list[dict[str, Any]] = []
    for page in _pages(client, "list_users"):
        for user in page.get("Users", []):
            name = user["UserName"]
            keys = [
                k
                for key_page in _pages(client, "list_access_keys", UserName=name)
                for k in key_page.get("AccessKeyMetadata", [])
            ]
            if not keys:
                continue
            try:
                client.get_login_profile(UserName=name)
                password = True
            except Exception as exc:
                if _error_code(exc) != "NoSuchEntity":
                    raise
                password = False
            for slot, key in enumerate(sorted(keys, key=lambda k: k["CreateDate"]), start=1):
                used = client.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
                last = used.get("AccessKeyLastUsed", {})
                rows.append(
                    {
                        "user": name,
                        "key_id": key["AccessKeyId"],
                        "key_slot": slot,
                        "active": key["Status"] == "Active",
                        "created": _utc(key["CreateDate"]),
                        "age_days": 0,
                        "last_used": (
                            _utc(last["LastUsedDate"]) if last.get("LastUsedDate") else pd.NaT
                        ),
                        "days_since_use": pd.NA,
                        "last_service": _label(last.get("ServiceName")),
                        "last_region": _label(last.get("Region")),
                        "arn": user["Arn"],
                        "user_created": _utc(user["CreateDate"]),
                        "password_enabled": password,
                    }
                )
    return _typed(rows, now_utc)
