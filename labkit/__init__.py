"""labkit: helpers for the AWS access keys lab."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.course import Lesson


def start(lesson: str) -> "Lesson":
    """Set up a lesson: connect to the lab and catch up on what earlier lessons made."""
    from labkit.course import start as start_lesson

    return start_lesson(lesson)
