"""What a lesson remembers across kernel restarts: key IDs, never a secret (LABKIT_HOME/lessons.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labkit.files import read_json, write_private

FILE = "lessons.json"


def recall(home: Path, lesson: str) -> dict[str, Any]:
    """What `lesson` remembered in an earlier kernel (empty when nothing, or the file is damaged)."""
    got = (read_json(home / FILE) or {}).get(lesson)
    return dict(got) if isinstance(got, dict) else {}


def remember(home: Path, lesson: str, **values: Any) -> None:
    """Keep `values` for `lesson` (JSON-able, no secrets); a file that cannot be written is skipped:
    memory spares the learner a step, and a lesson never fails over it."""
    data = read_json(home / FILE) or {}
    mine = data.get(lesson) if isinstance(data.get(lesson), dict) else {}
    mine.update(values)
    data[lesson] = mine
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(home / FILE, data)
    except OSError:
        pass
