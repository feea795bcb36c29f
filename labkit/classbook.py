"""The class book: every learner's checkpoint and exercise results, as their servers report them.

The class view's memory. Each report is a learner's whole `progress.json` (lessons, checks, ok,
time, the hint shown); the book keeps, per learner and check, the latest result, when it was first
passed, and since when it has been failing, so "stuck for N minutes" and "first passed at" survive
later reports. Lessons and check names come from the reports: nothing here lists them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from labkit.files import read_json, write_private
from labkit.text import printable

BOOK = "classbook.json"
HINT_CHARS = 300
EXERCISE = "exercise_"
# A report holds a few dozen checks; anything far larger is not one.
MAX_CHECKS = 500


@dataclass
class Result:
    """One learner's latest result for one check, and its history in two dates."""

    ok: bool
    time: str
    hint: str = ""
    first_passed: str | None = None
    failing_since: str | None = None


@dataclass
class Learner:
    """One learner's results, by "lesson/check"."""

    updated: str = ""
    checks: dict[str, Result] = field(default_factory=dict)


def stamp(when: datetime) -> str:
    """A time as the book writes it: UTC, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _name(text: Any, limit: int = 80) -> str:
    return printable(text.strip(), limit) if isinstance(text, str) else ""


def key(lesson: str, check: str) -> str:
    """A check's column: "03_create_access_keys/key_created"."""
    return f"{lesson}/{check}"


class ClassBook:
    """Learners' results, kept in a private JSON file in the service's folder."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / BOOK
        self.learners: dict[str, Learner] = {}
        self._stamp: int | None = None
        self.refresh()

    def _file_stamp(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def refresh(self) -> None:
        """Read the book again if someone changed it (`classview forget` beside a running view)."""
        stamp_ = self._file_stamp()
        if stamp_ is not None and stamp_ == self._stamp:
            return
        data = read_json(self.path) or {}
        self.learners = {}
        for name, got in (data.get("learners") or {}).items():
            checks = {k: Result(**v) for k, v in (got.get("checks") or {}).items()}
            self.learners[name] = Learner(got.get("updated", ""), checks)
        self._stamp = stamp_

    def save(self) -> None:
        """Write the book (mode 0600): a restarted service remembers the class."""
        write_private(self.path, {"learners": {
            name: {"updated": learner.updated,
                   "checks": {k: asdict(r) for k, r in learner.checks.items()}}
            for name, learner in self.learners.items()}})
        self._stamp = self._file_stamp()

    def report(self, learner: str, progress: Mapping[str, Any], now: datetime) -> int:
        """Take in a learner's progress.json; the number of checks it held."""
        book = self.learners.setdefault(learner, Learner())
        lessons = progress.get("lessons")
        count = 0
        for lesson, checks in (lessons.items() if isinstance(lessons, dict) else []):
            for check, got in (checks.items() if isinstance(checks, dict) else []):
                when = _parse(got.get("time")) if isinstance(got, dict) else None
                lesson_, check_ = _name(lesson), _name(check)
                if when is None or not lesson_ or not check_ or count >= MAX_CHECKS:
                    continue
                count += 1
                self._take(book, key(lesson_, check_), got.get("ok") is True, stamp(when),
                           _name(got.get("hint"), HINT_CHARS))
        book.updated = stamp(now)
        return count

    @staticmethod
    def _take(book: Learner, column: str, ok: bool, when: str, hint: str) -> None:
        old = book.checks.get(column)
        if old is not None and old.time > when:
            return  # an older report arriving late changes nothing
        first = old.first_passed if old else None
        if ok and (first is None or when < first):
            first = when
        failing = None if ok else (old.failing_since if old and not old.ok and
                                   old.failing_since else when)
        book.checks[column] = Result(ok, when, "" if ok else hint, first, failing)

    def forget(self, learners: Iterable[str] | None = None) -> list[str]:
        """Drop some learners' results (all when None): the names dropped."""
        names = list(self.learners) if learners is None else [n for n in learners
                                                               if n in self.learners]
        for name in names:
            del self.learners[name]
        return names

    def columns(self) -> list[str]:
        """Every check any learner reported, lesson by lesson, checkpoints before exercises."""
        seen = {column for learner in self.learners.values() for column in learner.checks}

        def order(column: str) -> tuple[str, bool, str]:
            lesson, _, check = column.partition("/")
            return lesson, check.startswith(EXERCISE), check
        return sorted(seen, key=order)

    def stuck(self, now: datetime, minutes: float) -> list[dict[str, Any]]:
        """Who has been failing one check for more than `minutes`, longest first."""
        found = []
        for name, learner in self.learners.items():
            for column, result in learner.checks.items():
                since = _parse(result.failing_since) if not result.ok else None
                if since is not None and now - since > timedelta(minutes=minutes):
                    found.append({"learner": name, "check": column, "hint": result.hint,
                                  "minutes": int((now - since).total_seconds() // 60)})
        return sorted(found, key=lambda s: (-s["minutes"], s["learner"]))

    def view(self, now: datetime, minutes: float,
             roster: Iterable[str] = ()) -> dict[str, Any]:
        """What the class page shows: columns, one row per learner (the `roster`'s too, who may
        not have started), who is stuck."""
        rows = []
        for name in sorted(set(self.learners) | set(roster)):
            learner = self.learners.get(name, Learner())
            rows.append({"learner": name, "updated": learner.updated, "checks": {
                column: asdict(result) for column, result in learner.checks.items()}})
        return {"now": stamp(now), "stuck_minutes": minutes, "columns": self.columns(),
                "learners": rows, "stuck": self.stuck(now, minutes)}

    def csv(self) -> str:
        """One row per learner, a column per check: when it was first passed, else empty."""
        columns = self.columns()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["learner", *(_csv_safe(c) for c in columns)])
        for name in sorted(self.learners):
            checks = self.learners[name].checks
            writer.writerow([_csv_safe(name), *(
                (checks[c].first_passed or "") if c in checks else "" for c in columns)])
        return out.getvalue()


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
