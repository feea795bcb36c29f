"""A new class: a learner's lab back to the start (sandbox, progress, lab files), said in words.

`python -m labkit start-over [--course DIR]`, run as the learner (an instructor runs it for each
learner with `sudo -u LEARNER`): stops the learner's sandbox (its simulated account is gone),
removes their LABKIT_HOME (progress, the lab's CLI profiles, downloaded key files, logs) and, with
`--course`, the folder of lessons nbgitpuller made, so the next link pulls fresh copies. Nothing
else in the home is touched: the learner's own notebooks and files, ~/.aws, their shell settings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

DESCRIPTION = ("Start the lab over for a new class: stop your sandbox, forget your progress and "
               "the lab's files, and (with --course) remove the lessons' folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The one option: the lessons' folder to remove as well."""
    parser.add_argument("--course", type=Path, metavar="DIR",
                        help="also remove this folder of lessons (nbgitpuller's copy); the next "
                             "nbgitpuller link pulls them fresh")


def _inside(folder: Path, other: Path) -> bool:
    return folder == other or other in folder.parents


def run(args: argparse.Namespace) -> int:
    """Start over; 0 when done, 1 (nothing removed) when a folder is not the lab's to remove."""
    from labkit import sandbox
    from labkit.settings import LabError, settings

    try:
        cfg = settings()
    except LabError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return 1
    home = Path.home().resolve()
    lab = cfg.home.expanduser().resolve()
    course = args.course.expanduser().resolve() if args.course else None
    if _inside(home, lab):
        print(f"labkit: LABKIT_HOME is {lab}, which holds your home: nothing removed. Unset "
              "LABKIT_HOME (the lab's folder is then ~/.labkit) and run this again.",
              file=sys.stderr)
        return 1
    if course is not None and (_inside(home, course) or not _inside(course, home)):
        print(f"labkit: --course {course} is not a folder inside your home: nothing removed. "
              "Name the lessons' folder, for example --course ~/aws-access-keys-lab.",
              file=sys.stderr)
        return 1
    done = ["Sandbox stopped: its simulated account is gone; the next lesson starts a fresh one."
            if sandbox.stop(lab) else "No sandbox was running."]
    if lab.exists():
        shutil.rmtree(lab)
        done.append(f"Removed {lab}: your progress, the lab's CLI profiles and key files, logs.")
    if course is not None and course.exists():
        shutil.rmtree(course)
        done.append(f"Removed {course}: the next nbgitpuller link pulls the lessons fresh.")
    done.append("Kept: everything else in your home (your own notebooks and files, ~/.aws, your "
                "shell settings). The class view keeps your row until the instructor runs "
                "`python -m labkit classview forget`.")
    print("\n".join(done))
    return 0
