"""The class view's book (what learners' servers report), its CSV export and its commands."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labkit import checks
from labkit.__main__ import main
from labkit.classbook import ClassBook

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def progress(**lessons: dict[str, tuple[bool, float] | tuple[bool, float, str]]) -> dict[str, Any]:
    return {"learner": "ignored", "lessons": {
        lesson: {name: {"ok": got[0], "time": at(got[1])} | ({"hint": got[2]} if len(got) > 2
                                                             else {})
                 for name, got in checks_.items()}
        for lesson, checks_ in lessons.items()}}


def test_done_failed_with_the_hint_and_not_started(tmp_path: Path) -> None:
    book = ClassBook(tmp_path)
    book.report("ana", progress(**{"00_start_here": {"ready": (True, 1)},
                                   "01_create_iam_user": {"user_created": (False, 2, "Run Step 1"),
                                                          "exercise_tag_user": (True, 3)}}), T0)
    book.report("ben", progress(**{"00_start_here": {"ready": (True, 4)}}), T0)
    view = book.view(T0 + timedelta(minutes=5), 10)
    # Columns come from the reports, lesson by lesson, checkpoints before exercises.
    assert view["columns"] == ["00_start_here/ready", "01_create_iam_user/user_created",
                               "01_create_iam_user/exercise_tag_user"]
    rows = {r["learner"]: r["checks"] for r in view["learners"]}
    assert rows["ana"]["01_create_iam_user/user_created"]["hint"] == "Run Step 1"
    assert rows["ana"]["01_create_iam_user/user_created"]["ok"] is False
    assert "01_create_iam_user/user_created" not in rows["ben"]  # not started
    assert view["stuck"] == []


def test_stuck_means_failing_one_check_for_longer_than_n_minutes(tmp_path: Path) -> None:
    book = ClassBook(tmp_path)
    book.report("ana", progress(x={"c": (False, 0, "hint 1")}), T0)
    book.report("ana", progress(x={"c": (False, 8, "hint 2")}), T0)  # still failing: since 0
    assert book.stuck(T0 + timedelta(minutes=9), 10) == []
    assert book.stuck(T0 + timedelta(minutes=11), 10) == [
        {"learner": "ana", "check": "x/c", "hint": "hint 2", "minutes": 11}]
    book.report("ana", progress(x={"c": (True, 12)}), T0)
    assert book.stuck(T0 + timedelta(minutes=30), 10) == []
    book.report("ana", progress(x={"c": (False, 40)}), T0)  # failing again: a new start
    assert book.stuck(T0 + timedelta(minutes=45), 10) == []


def test_csv_has_a_column_per_check_with_the_time_first_passed(tmp_path: Path) -> None:
    book = ClassBook(tmp_path)
    book.report("ana", progress(a={"one": (True, 1), "exercise_two": (True, 2)}), T0)
    book.report("ana", progress(a={"one": (False, 5), "exercise_two": (True, 9)}), T0)
    book.report("=cmd|calc", progress(a={"one": (False, 3)}), T0)
    book.save()
    rows = list(csv.DictReader(io.StringIO(ClassBook(tmp_path).csv())))  # read back from disk
    assert list(rows[0]) == ["learner", "a/one", "a/exercise_two"]
    by = {r["learner"]: r for r in rows}
    # First passed at minute 1, though failing now; the later pass does not move it.
    assert by["ana"] == {"learner": "ana", "a/one": at(1), "a/exercise_two": at(2)}
    assert by["'=cmd|calc"]["a/one"] == ""  # never passed; the name cannot run as a formula
    assert (tmp_path / "classbook.json").stat().st_mode & 0o777 == 0o600


def test_a_late_older_report_changes_nothing(tmp_path: Path) -> None:
    book = ClassBook(tmp_path)
    book.report("ana", progress(a={"one": (True, 5)}), T0)
    book.report("ana", progress(a={"one": (False, 4)}), T0)
    assert book.learners["ana"].checks["a/one"].ok is True


def test_hostile_reports_are_bounded(tmp_path: Path) -> None:
    book = ClassBook(tmp_path)
    many = {f"c{i}": (True, 1) for i in range(2000)}
    assert book.report("ana", progress(a=many), T0) == 500
    assert book.report("ana", {"lessons": "nope"}, T0) == 0
    assert book.report("ana", {"lessons": {"a": {"b": {"ok": True, "time": "yesterday"}}}},
                       T0) == 0


def test_export_and_forget_from_the_command_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    book = ClassBook(tmp_path)
    for name in ("ana", "ben", "cy"):
        book.report(name, progress(a={"one": (True, 1)}), T0)
    book.save()
    assert main(["classview", "export", "--data", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"{n},{at(1)}" for n in ("ana", "ben", "cy")]
    assert main(["classview", "forget", "--data", str(tmp_path), "ben", "zed"]) == 0
    out = capsys.readouterr()
    assert "Forgot the progress of 1 learner(s): ben" in out.out and "zed" in out.err
    assert sorted(ClassBook(tmp_path).learners) == ["ana", "cy"]
    assert main(["classview", "forget", "--data", str(tmp_path), "--all"]) == 0
    assert ClassBook(tmp_path).learners == {}
    assert main(["classview", "export", "--data", str(tmp_path / "nowhere")]) == 1
    assert "no class view data" in capsys.readouterr().err


GOT: list[tuple[str, str, dict[str, Any]]] = []


class _Catch(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        GOT.append((self.path, self.headers["Authorization"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_checkpoint_sends_progress_with_the_hub_token(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Catch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
        monkeypatch.setenv("LABKIT_CLASS_URL",
                           f"http://127.0.0.1:{server.server_port}/services/labkit-class/")
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-of-ana")
        sent: list[Any] = []
        from labkit import class_report
        real = class_report.send
        monkeypatch.setattr(class_report, "send", lambda data: sent.append(real(data)))
        checks.record("00_start_here", "ready", False, hint="Install the AWS CLI", now=T0)
        sent[0].join(10)
        path, auth, body = GOT[-1]
        assert path == "/services/labkit-class/api/progress"
        assert auth == "token hub-token-of-ana"
        assert body["lessons"]["00_start_here"]["ready"] == {
            "ok": False, "time": at(0), "hint": "Install the AWS CLI"}
        # Without a class view configured, nothing is sent.
        monkeypatch.delenv("LABKIT_CLASS_URL")
        checks.record("00_start_here", "ready", True, now=T0)
        assert sent[-1] is None
    finally:
        server.shutdown()


def test_forget_reaches_a_running_view(tmp_path: Path) -> None:
    running = ClassBook(tmp_path)  # the service's book, held in memory
    running.report("ana", progress(a={"one": (True, 1)}), T0)
    running.report("ben", progress(a={"one": (True, 1)}), T0)
    running.save()
    assert main(["classview", "forget", "--data", str(tmp_path), "ana"]) == 0
    running.refresh()
    running.report("ben", progress(a={"one": (True, 2)}), T0)
    running.save()
    assert sorted(ClassBook(tmp_path).learners) == ["ben"]


def test_start_over_resets_the_lab_and_says_what_it_keeps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from labkit import sandbox

    home = tmp_path / "home"
    lab = home / ".labkit"
    course = home / "aws-access-keys-lab"
    mine = home / "my-notes.ipynb"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[work]\n")
    course.mkdir()
    (course / "00_start_here.ipynb").write_text("{}")
    mine.write_text("{}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LABKIT_HOME", str(lab))
    for name in [n for n in os.environ if n.startswith(("LABKIT_SANDBOX", "AWS_"))]:
        monkeypatch.delenv(name)
    box = sandbox.ensure(lab)
    checks.record("00_start_here", "ready", True, now=T0)
    assert (lab / "progress.json").exists()

    assert main(["start-over", "--course", str(course)]) == 0
    said = capsys.readouterr().out
    assert "Sandbox stopped" in said and "Kept:" in said and "~/.aws" in said
    assert sandbox.status(lab) is None
    assert not lab.exists() and not course.exists()
    assert mine.exists() and (home / ".aws" / "credentials").read_text() == "[work]\n"
    assert box.url  # it was a real sandbox

    # A LABKIT_HOME that holds the home, or a course folder outside it: nothing removed.
    monkeypatch.setenv("LABKIT_HOME", str(home))
    assert main(["start-over"]) == 1
    assert "nothing removed" in capsys.readouterr().err and mine.exists()
    monkeypatch.setenv("LABKIT_HOME", str(lab))
    assert main(["start-over", "--course", str(tmp_path)]) == 1
    assert "not a folder inside your home" in capsys.readouterr().err
    assert home.exists()
