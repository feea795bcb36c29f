"""Each lesson's checks live beside it (notebooks/checks/<lesson>.py): every name a notebook's
one-line cells use is defined there, the file is found from the notebook's folder (as a hub's
nbgitpuller lays it out) and from a checkout's root, and labkit runs no code from a folder
another user can write to."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from labkit import checkpoints
from labkit.session import LabError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CALL = re.compile(r"lesson\.(verify|exercise|quiz)\(\s*[\"']([\w-]+)[\"']")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_check_a_notebook_names_is_beside_it(path: Path) -> None:
    found = checkpoints.load(path.stem, NOTEBOOKS / checkpoints.FOLDER)
    assert found.source == NOTEBOOKS / "checks" / f"{path.stem}.py"
    nb = nbformat.read(path, as_version=4)
    named = CALL.findall("\n".join(c.source for c in nb.cells))
    kinds = {"verify": found.rules, "exercise": found.exercises, "quiz": found.quizzes}
    assert named, "a lesson has checkpoints"
    for kind, name in named:
        assert name in kinds[kind], f"{path.stem}: lesson.{kind}({name!r}) has no check"
    # and nothing defined that no cell runs (a check nobody sees is dead weight)
    for kind, defined in kinds.items():
        assert set(defined) <= {n for k, n in named if k == kind}, kind


def test_checks_are_found_from_the_notebooks_folder_and_from_the_checkout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lesson = "03_create_access_keys"
    monkeypatch.chdir(NOTEBOOKS)  # a kernel's working folder is its notebook's
    assert checkpoints.load(lesson).source == NOTEBOOKS / "checks" / f"{lesson}.py"
    monkeypatch.chdir(ROOT)  # the tests, instructors' scripts
    assert checkpoints.load(lesson).source == NOTEBOOKS / "checks" / f"{lesson}.py"
    pulled = tmp_path / "course" / "notebooks"  # what nbgitpuller leaves in a learner's home
    (pulled / "checks").mkdir(parents=True)
    shutil.copy(NOTEBOOKS / "checks" / f"{lesson}.py", pulled / "checks")
    monkeypatch.chdir(pulled)
    assert set(checkpoints.load(lesson).rules) == {"key_created", "secret_masked", "limit_exceeded"}
    monkeypatch.chdir(tmp_path)  # a notebook copied alone, without its checks
    empty = checkpoints.load(lesson)
    assert empty.source is None and not empty.rules


def test_a_missing_checks_file_is_said_in_plain_words(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    class Alone:
        name = "03_create_access_keys"

    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))  # record() writes progress here
    verdict = checkpoints.verify(Alone(), checkpoints.Checks(), "key_created")
    assert not verdict.ok
    assert "checks/03_create_access_keys.py) was not found beside the notebook" in verdict.detail
    said = checkpoints.exercise(Alone(), checkpoints.Checks(), "key_description")
    assert said.startswith("💡 This lesson's checks file")


@pytest.mark.parametrize("mode", [0o664, 0o646])
def test_code_from_a_file_others_can_write_is_never_run(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "checks"
    folder.mkdir()
    planted = folder / "03_create_access_keys.py"
    ran = tmp_path / "ran"
    planted.write_text(f"open({str(ran)!r}, 'w').close()\n")
    planted.chmod(mode)
    with pytest.raises(LabError, match="writable by another user"):
        checkpoints.load("03_create_access_keys", folder)
    assert not ran.exists()
    planted.chmod(0o644)
    folder.chmod(0o777)  # a world-writable folder: anyone could swap the file
    with pytest.raises(LabError, match="writable by another user"):
        checkpoints.load("03_create_access_keys", folder)
    assert not ran.exists()
    folder.chmod(0o755)
    with pytest.raises(LabError, match="defines no CHECKS"):
        checkpoints.load("03_create_access_keys", folder)
    assert ran.exists()  # the same file, once only its owner can write it, is run


def test_progress_keeps_when_a_completion_was_first_seen_and_how(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from labkit import checks

    def at(hour: int) -> datetime:
        return datetime(2026, 3, 1, hour, tzinfo=UTC)

    def entry() -> dict:
        return checks.read(tmp_path)[0]["lessons"]["03"]["exercise_x"]

    checks.record("03", "exercise_x", True, home=tmp_path, now=at(9))
    assert entry() == {"ok": True, "time": "2026-03-01T09:00:00Z",
                       "first": "2026-03-01T09:00:00Z", "earlier": False}
    checks.record("03", "exercise_x", True, home=tmp_path, now=at(11), earlier=True)
    assert entry() == {"ok": True, "time": "2026-03-01T11:00:00Z",
                       "first": "2026-03-01T09:00:00Z", "earlier": True}
    checks.record("03", "exercise_x", False, home=tmp_path, now=at(12))
    assert entry() == {"ok": False, "time": "2026-03-01T12:00:00Z"}
    checks.record("03", "exercise_x", True, home=tmp_path, now=at(13))
    assert entry()["first"] == "2026-03-01T13:00:00Z"  # done again after it was undone


def test_a_lessons_memory_survives_a_restart_and_holds_no_secret(tmp_path: Path) -> None:
    from labkit import memory

    assert memory.recall(tmp_path, "05_rotate_access_keys") == {}
    memory.remember(tmp_path, "05_rotate_access_keys", old="AKIAIOSFODNN7EXAMPLE")
    memory.remember(tmp_path, "05_rotate_access_keys", rotated_to="key-id-of-step-2")
    memory.remember(tmp_path, "07_prefer_iam_roles", seen=True)
    assert memory.recall(tmp_path, "05_rotate_access_keys") == {
        "old": "AKIAIOSFODNN7EXAMPLE", "rotated_to": "key-id-of-step-2"}
    assert (tmp_path / memory.FILE).stat().st_mode & 0o777 == 0o600
    (tmp_path / memory.FILE).write_text("{damaged")
    assert memory.recall(tmp_path, "05_rotate_access_keys") == {}
    memory.remember(tmp_path, "05_rotate_access_keys", old=None)  # a damaged file is replaced
    assert memory.recall(tmp_path, "05_rotate_access_keys") == {"old": None}
