"""The class progress view: what an instructor sees for a class of learners' homes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from labkit import checks
from labkit.__main__ import main as cli
from labkit.progress import LAST, class_progress

REPO = Path(__file__).resolve().parents[1]
LESSON_COLUMNS = ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]


def checkpoint(ok: bool, time: str) -> dict[str, object]:
    return {"ok": ok, "time": time}


def write(labkit_home: Path, data: dict[str, object] | str) -> Path:
    labkit_home.mkdir(parents=True, exist_ok=True)
    path = labkit_home / "progress.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    path.chmod(0o600)
    return path


ALICE = {
    "learner": "alice",
    "updated": "2026-01-31T10:00:00Z",
    "lessons": {
        "00_start_here": {"connected": checkpoint(True, "2026-01-31T09:00:00Z"),
                          "banner": checkpoint(True, "2026-01-31T09:01:00Z")},
        "03_create_access_keys": {"key_created": checkpoint(True, "2026-01-31T10:00:00Z"),
                                  "secret_saved": checkpoint(False, "2026-01-31T09:58:00Z"),
                                  "key_works": checkpoint(True, "2026-01-31T09:59:00Z")},
    },
}
# No learner name in the file, and a checkpoint later than "updated".
BOB = {
    "updated": "2026-01-30T08:00:00Z",
    "lessons": {
        "02_create_an_iam_user": {"user_exists": checkpoint(True, "2026-01-30T08:00:00Z"),
                                  "read_only": checkpoint(True, "2026-01-30T08:05:00Z"),
                                  "no_keys_yet": checkpoint(True, "2026-01-30T08:06:00Z")},
    },
}


@pytest.fixture
def classroom(tmp_path: Path) -> dict[str, Path]:
    """Learners' homes as on The Littlest JupyterHub, some of them unreadable in some way."""
    homes = {name: tmp_path / name for name in
             ("jupyter-alice", "jupyter-bob", "jupyter-carol", "jupyter-dave", "jupyter-erin")}
    write(homes["jupyter-alice"] / ".labkit", ALICE)
    write(homes["jupyter-bob"] / ".labkit", BOB)
    write(homes["jupyter-carol"] / ".labkit", '{"learner": "carol", "lessons": {')  # corrupt
    homes["jupyter-dave"].mkdir()  # never opened a lesson: no .labkit at all
    # Unreadable even by root: progress.json is a folder.
    (homes["jupyter-erin"] / ".labkit" / "progress.json").mkdir(parents=True)
    return homes


def test_one_row_per_learner_one_column_per_lesson(classroom: dict[str, Path]) -> None:
    table, _ = class_progress(classroom.values())

    assert list(table.columns) == LESSON_COLUMNS + [LAST]
    # Bob's file has no learner name: his home folder's name stands in.
    assert list(table.index) == ["alice", "jupyter-bob"]
    alice = table.loc["alice"]
    assert alice["00"] == "2/2"
    assert alice["03"] == "2/3 ✗"  # one checkpoint failed
    assert alice["01"] == "-"  # none recorded
    assert alice[LAST] == "2026-01-31T10:00:00Z"
    bob = table.loc["jupyter-bob"]
    assert bob["02"] == "3/3"
    assert bob[LAST] == "2026-01-30T08:06:00Z"  # the latest checkpoint, not "updated"


def test_skipped_homes_say_why(classroom: dict[str, Path], tmp_path: Path) -> None:
    _, problems = class_progress([*classroom.values(), tmp_path / "jupyter-zoe"])

    assert problems == [
        f"skipped {classroom['jupyter-carol']}: progress.json is damaged (not valid JSON)",
        f"skipped {classroom['jupyter-dave']}: no progress recorded yet",
        f"skipped {classroom['jupyter-erin']}: progress.json is a folder, not a file",
        f"skipped {tmp_path / 'jupyter-zoe'}: no such folder",
    ]


@pytest.mark.slow
def test_permission_denied_is_reported(classroom: dict[str, Path]) -> None:
    alice = classroom["jupyter-alice"]
    command = [sys.executable, "-m", "labkit", "progress", str(alice)]
    labkit_home = alice / ".labkit"
    labkit_home.chmod(0)
    try:
        if os.access(labkit_home / "progress.json", os.R_OK):
            # Root reads through chmod 000; without its two file-permission capabilities it
            # cannot, like the instructor who forgot `sudo`.
            if shutil.which("setpriv") is None:
                pytest.skip("running as root, whom chmod 000 does not stop, and setpriv (to drop "
                            "root's file-permission override) is not installed")
            command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
        done = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=60)
    finally:
        labkit_home.chmod(0o700)
    if done.stderr.startswith("setpriv:"):
        pytest.skip(f"running as root, and setpriv cannot drop capabilities here: {done.stderr}")

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        f"skipped {alice}: permission denied (run as the learner, or with sudo)")
    assert "Traceback" not in done.stderr


def test_labkit_home_or_user_home_and_no_duplicates(classroom: dict[str, Path],
                                                    tmp_path: Path) -> None:
    custom = tmp_path / "labs" / "frank-home"
    write(custom, {"lessons": {"09_clean_up": {"user_deleted": checkpoint(True,
                                                                          "2026-02-01T12:00:00Z")}}})
    alice = classroom["jupyter-alice"]

    table, problems = class_progress([alice, alice / ".labkit", custom,
                                      classroom["jupyter-bob"] / ".labkit"])

    assert problems == []
    # Alice named twice (her home, then her LABKIT_HOME) is one learner.
    assert list(table.index) == ["alice", "frank-home", "jupyter-bob"]
    assert table.loc["frank-home", "09"] == "1/1"


def test_two_learners_with_one_name_stay_two_rows(tmp_path: Path) -> None:
    """Binder-style homes where every learner is "jovyan": both rows, told apart by folder."""
    first, second = tmp_path / "pod-a", tmp_path / "pod-b"
    write(first / ".labkit", {**ALICE, "learner": "jovyan"})
    write(second / ".labkit", {**BOB, "learner": "jovyan"})

    table, _ = class_progress([first, second])

    assert list(table.index) == ["jovyan", f"jovyan ({second})"]
    assert table.loc[f"jovyan ({second})", "02"] == "3/3"


def test_reads_what_checkpoints_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "grace")
    home = tmp_path / "jupyter-grace" / ".labkit"
    when = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    checks.record("04_configure_the_cli", "profile_written", True, home=home, now=when)
    checks.record("04_configure_the_cli", "caller_is_user", False, home=home, now=when)

    table, problems = class_progress([tmp_path / "jupyter-grace"])

    assert problems == []
    assert table.loc["grace", "04"] == "1/2 ✗"
    assert table.loc["grace", LAST] == "2026-03-02T14:30:00Z"


def test_main_prints_an_aligned_table_and_reports_skips(classroom: dict[str, Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["progress", *(str(p) for p in classroom.values())])

    out, err = capsys.readouterr()
    assert code == 0
    header, _, *rows = out.splitlines()
    assert header.split() == LESSON_COLUMNS + ["last", "activity"]
    alice = next(r for r in rows if r.startswith("alice"))
    assert alice.split() == ["alice", "2/2", "-", "-", "2/3", "✗", "-", "-", "-", "-", "-", "-",
                             "-", "2026-01-31T10:00:00Z"]
    # Right-aligned under its header, as a reader scanning the column expects.
    assert alice.index("2/3 ✗") + len("2/3 ✗") == header.index(" 03 ") + len(" 03")
    assert err.splitlines() == [
        f"skipped {classroom['jupyter-carol']}: progress.json is damaged (not valid JSON)",
        f"skipped {classroom['jupyter-dave']}: no progress recorded yet",
        f"skipped {classroom['jupyter-erin']}: progress.json is a folder, not a file",
    ]
    assert "Traceback" not in out + err


def test_main_csv(classroom: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["progress", str(classroom["jupyter-alice"]), str(classroom["jupyter-bob"]),
                "--csv"])

    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["learner", *LESSON_COLUMNS, "last activity"]
    assert rows[1] == ["alice", "2/2", "-", "-", "2/3 ✗", "-", "-", "-", "-", "-", "-", "-",
                       "2026-01-31T10:00:00Z"]
    assert rows[2][0] == "jupyter-bob" and rows[2][3] == "3/3"
    assert len(rows) == 3


def test_main_only_some_lessons(classroom: dict[str, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["progress", str(classroom["jupyter-alice"]), "--csv", "--lessons", "3,00"])

    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert code == 0
    assert rows == [["learner", "00", "03", "last activity"],
                    ["alice", "2/2", "2/3 ✗", "2026-01-31T10:00:00Z"]]


def test_main_unknown_lesson_is_a_usage_error(classroom: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["progress", str(classroom["jupyter-alice"]), "--lessons", "03,12"])

    assert exited.value.code == 2
    assert "no lesson '12'" in capsys.readouterr().err


def test_main_exits_1_when_no_learner_could_be_read(classroom: dict[str, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["progress", str(classroom["jupyter-carol"]), str(classroom["jupyter-dave"])])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.splitlines()[:2] == [
        f"skipped {classroom['jupyter-carol']}: progress.json is damaged (not valid JSON)",
        f"skipped {classroom['jupyter-dave']}: no progress recorded yet",
    ]


def test_main_defaults_to_your_own_labkit_home(classroom: dict[str, Path],
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LABKIT_HOME", str(classroom["jupyter-bob"] / ".labkit"))

    assert cli(["progress", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[0] for r in rows] == ["learner", "jupyter-bob"]


@pytest.mark.slow
def test_command_line(classroom: dict[str, Path]) -> None:
    """What an instructor types: `python -m labkit progress /home/jupyter-* --csv`."""
    homes = [str(p) for p in sorted(classroom.values())]
    done = subprocess.run([sys.executable, "-m", "labkit", "progress", *homes, "--csv"],
                          check=False, cwd=REPO, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert [r[0] for r in csv.reader(io.StringIO(done.stdout))] == ["learner", "alice",
                                                                   "jupyter-bob"]
    assert len(done.stderr.splitlines()) == 3
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_command_line_option_first(classroom: dict[str, Path]) -> None:
    done = subprocess.run([sys.executable, "-m", "labkit", "progress", "--csv",
                           str(classroom["jupyter-alice"])],
                          check=False, cwd=REPO, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("learner,00,")


# --- hostile learner files: one bad home never breaks the table or the terminal ------------------

def _hostile(tmp_path: Path, kind: str) -> Path:
    """A learner home whose progress.json is hostile in one way."""
    home = tmp_path / f"jupyter-{kind}"
    lk = home / ".labkit"
    lk.mkdir(parents=True)
    target = lk / "progress.json"
    if kind == "nested":
        target.write_text('{"lessons": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif kind == "dates":
        write(lk, {"learner": "dates", "updated": "9999-12-31T23:59:59-14:00", "lessons": {
            "00_start_here": {"a": {"ok": True, "time": "0001-01-01T00:00:00+14:00"}}}})
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "sparse":
        with open(target, "wb") as fh:
            fh.truncate(3 * 1024**3)
    elif kind == "devzero":
        target.symlink_to("/dev/zero")
    elif kind == "types":
        odd = {"a": {"ok": "yes", "time": {}}}
        write(lk, {"learner": ["x"], "updated": 5,
                   "lessons": {"00_start_here": [1, 2], "01_root_and_iam_users": odd}})
    return home


@pytest.mark.parametrize("kind", ["nested", "fifo", "sparse", "devzero"])
def test_a_hostile_progress_file_is_skipped_with_a_reason(classroom: dict[str, Path],
                                                          tmp_path: Path, kind: str) -> None:
    bad = _hostile(tmp_path, kind)
    table, problems = class_progress([classroom["jupyter-alice"], bad])
    assert list(table.index) == ["alice"]
    why = [p for p in problems if f"jupyter-{kind}" in p]
    assert len(why) == 1
    assert {"nested": "damaged", "fifo": "not a regular file", "sparse": "too large",
            "devzero": "not a regular file"}[kind] in why[0]


@pytest.mark.parametrize("kind", ["dates", "types"])
def test_odd_dates_and_types_still_make_a_row(classroom: dict[str, Path], tmp_path: Path,
                                              kind: str) -> None:
    table, problems = class_progress([classroom["jupyter-alice"], _hostile(tmp_path, kind)])
    assert len(table) == 2 and not [p for p in problems if kind in p]


def test_terminal_escape_codes_in_names_are_printed_harmlessly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mmallory"
    write(tmp_path / "jupyter-m" / ".labkit", {"learner": evil, "lessons": {}})
    odd = tmp_path / "jupyter-\x1b[2Jx"
    odd.mkdir()
    assert cli(["progress", str(tmp_path / "jupyter-m"), str(odd)]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out and "\x07" not in out.out and "\x1b" not in out.err
    assert "mallory" in out.out and "\\x1b" in out.out


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_csv_cells_cannot_become_spreadsheet_formulas(tmp_path: Path, name: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "h" / ".labkit", {"learner": name, "lessons": {}})
    assert cli(["progress", "--csv", str(tmp_path / "h")]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1][0] == "'" + name
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_the_styled_class_table_escapes_what_learners_wrote(tmp_path: Path) -> None:
    evil = '<img src=x onerror="alert(1)">'
    write(tmp_path / "jupyter-m" / ".labkit", {"learner": evil, "lessons": {}})
    table, _ = class_progress([tmp_path / "jupyter-m"])
    for html in (table.style.to_html(), table.sort_index().style.to_html(),
                 table.head(1).style.to_html(), table._repr_html_()):
        assert "<img" not in html and "&lt;img src=x onerror=" in html, html
