"""Faults a learner can meet mid-course: the sandbox killed, a skipped lesson."""

from __future__ import annotations

import os
import time

import pytest

from labkit import course, iam, sandbox


@pytest.mark.slow
def test_a_killed_sandbox_comes_back_on_the_next_call(lab, capsys) -> None:
    client = lab.client("iam")
    iam.create_user(client)
    pid = lab.sandbox.pid
    os.kill(pid, 9)
    while sandbox._alive(pid):
        time.sleep(0.01)
    # The very next call (through the same client) restarts the sandbox and says what was lost.
    assert iam.get_user(client) is None
    assert "What you made in it before is gone" in capsys.readouterr().out
    # The next lesson's catch-up rebuilds what it needs.
    lesson = course.start("05_rotate_access_keys")
    assert iam.get_user(lesson.lab.client("iam")) is not None
    assert any("Caught up" in line for line in lesson.caught_up)
    profile = lesson.lab.session_for_profile(course.PROFILE)
    assert lesson.lab.whoami(profile).name == "temporary-iam-user"


def test_a_lesson_started_twice_catches_up_once(lab) -> None:
    first = course.start("09_clean_up")
    again = course.start("09_clean_up")
    assert first.caught_up and again.caught_up == []
