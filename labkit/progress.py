"""The class progress view: one row per learner, one column per lesson, from their checkpoints.

`python -m labkit progress [HOME ...] [--csv] [--lessons 00,01,...]`, where each HOME is a
learner's LABKIT_HOME or their home folder (then HOME/.labkit is read), for example on The
Littlest JupyterHub: `sudo /opt/tljh/user/bin/python3 -m labkit progress /home/jupyter-*`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.checks import labkit_home, read
from labkit.text import printable

if TYPE_CHECKING:
    import pandas as pd

LAST = "last activity"
NONE = "-"
FAILED = "✗"


def column(lesson: str) -> str:
    """A lesson's column header: its number ("03"), or its whole name if it has none."""
    number = lesson.split("_", 1)[0]
    return number if number.isdigit() else lesson


def _learner_name(home: Path) -> str:
    # A user's home is named after them (/home/jupyter-bob); LABKIT_HOME is often .labkit in it.
    home = home.resolve()
    return home.parent.name if home.name == ".labkit" else home.name


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (OWASP's CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        when.astimezone(UTC)  # a date at the edge of the calendar cannot be shown in UTC
    except (ValueError, OverflowError):
        return None
    return when


def _cell(checkpoints: Any) -> str:
    results = [c.get("ok") is True for c in (checkpoints or {}).values() if isinstance(c, dict)] \
        if isinstance(checkpoints, dict) else []
    if not results:
        return NONE
    passed = sum(results)
    return f"{passed}/{len(results)}" + (f" {FAILED}" if passed < len(results) else "")


def _row(data: dict[str, Any], lessons: Sequence[str]) -> dict[str, str]:
    recorded = data.get("lessons") or {}
    row = {column(lesson): _cell(recorded.get(lesson)) for lesson in lessons}
    times = [_when(data.get("updated"))] + [
        _when(c.get("time")) for cps in recorded.values() if isinstance(cps, dict)
        for c in cps.values() if isinstance(c, dict)
    ]
    latest = max((t for t in times if t is not None), default=None)
    row[LAST] = latest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if latest else NONE
    return row


def class_progress(homes: Iterable[Path],
                   lessons: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The class table (index: learner; a column per lesson, then last activity) and the homes
    that were skipped, one "skipped HOME: why" line each."""
    # Here, not at the top: `python -m labkit` builds this module's options for every command,
    # the sandbox server's start too, and pandas takes half a second to import.
    import pandas as pd

    lessons = _all_lessons() if lessons is None else lessons
    rows: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    seen: set[Path] = set()
    for folder in homes:
        folder = Path(folder)
        data, why = read(folder)
        if data is None:
            problems.append(f"skipped {printable(folder, 200)}: {why}")
            continue
        home = labkit_home(folder)
        if home.resolve() in seen:
            continue  # the same learner named twice (a glob and a path, say)
        seen.add(home.resolve())
        given = data.get("learner")
        name = printable(given.strip() if isinstance(given, str) else "", 80) or \
            printable(_learner_name(home), 80)
        if name in rows:  # two homes with one learner name: tell them apart by folder
            name = f"{name} ({printable(folder, 200)})"
        rows[name] = _row(data, lessons)
    columns = [column(lesson) for lesson in lessons] + [LAST]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns) if rows \
        else pd.DataFrame(columns=columns)
    table = table.sort_index()
    table.index.name = "learner"
    return table, problems


def _all_lessons() -> tuple[str, ...]:
    # Imported when needed: the course layer is not loaded to build the command line's options.
    from labkit.catchup import LESSONS

    return LESSONS


def _lessons(spec: str) -> list[str]:
    lessons = _all_lessons()
    chosen = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        found = [lesson for lesson in lessons if lesson == part or column(lesson) == part.zfill(2)]
        if not found:
            raise argparse.ArgumentTypeError(
                f"no lesson {part!r}; the lessons are {', '.join(column(x) for x in lessons)}")
        chosen += [lesson for lesson in found if lesson not in chosen]
    if not chosen:
        raise argparse.ArgumentTypeError("name at least one lesson, for example --lessons 03,04")
    return sorted(chosen, key=lessons.index)


DESCRIPTION = (f"A class table of lesson checkpoints: for each learner and lesson, how many "
               f"checkpoints passed ({FAILED} when one failed, {NONE} when none ran yet).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The progress view's options, for `python -m labkit progress`."""
    parser.add_argument("homes", nargs="*", type=Path, metavar="HOME",
                        help="a learner's LABKIT_HOME or home folder (then HOME/.labkit is read); "
                             "default: your own LABKIT_HOME")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of an aligned table")
    parser.add_argument("--lessons", type=_lessons, default=None, metavar="00,01,...",
                        help="only these lessons (numbers or full names, comma-separated); "
                             "default: all")


def run(args: argparse.Namespace) -> int:
    """Print the class table; 0 when at least one learner's progress was read, else 1."""
    homes = args.homes
    if not homes:
        from labkit.settings import LabError, settings

        try:
            homes = [settings().home]
        except LabError as exc:
            print(f"labkit: {exc}", file=sys.stderr)
            return 1
    table, problems = class_progress(homes, args.lessons)
    for line in problems:
        print(line, file=sys.stderr)
    if table.empty:
        print("No learner's progress could be read.", file=sys.stderr)
        return 1
    if args.csv:
        table.index = [_csv_safe(str(name)) for name in table.index]
        table.index.name = "learner"
        sys.stdout.write(table.to_csv(lineterminator="\n"))
    else:
        print(table.to_string())
    return 0
