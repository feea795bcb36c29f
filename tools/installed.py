"""Is the labkit that a lesson's kernel imports this checkout's?

A kernel starts in notebooks/ and imports labkit from the environment, and requirements.txt
installs a copy of labkit, not a link to the checkout: after a change, the copy from an earlier
`pip install` would run the lessons instead of the code you changed (unit tests, which import
the checkout, would not notice). The tests (conftest.py) and bench/ check this before they start.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

FIX = ("Install this checkout's labkit again, then run this again: "
       "`pip install --no-deps --force-reinstall .` (or `pip install -e .`).")


def stale_install(root: Path) -> str | None:
    """None when a kernel started in `root`/notebooks imports this checkout's labkit, else what
    differs, in plain words, with what to do."""
    found = subprocess.run([sys.executable, "-c", "import labkit; print(labkit.__file__)"],
                           cwd=root / "notebooks", capture_output=True, text=True, timeout=60,
                           check=False)
    if found.returncode != 0:
        return ("A lesson's kernel cannot import labkit: it is not installed in this Python "
                f"({sys.executable}). Run `pip install -r requirements.txt`, then run this again.")
    installed = Path(found.stdout.strip()).resolve().parent
    checkout = (root / "labkit").resolve()
    if installed == checkout:
        return None  # an editable install, or PYTHONPATH names the checkout
    differ = sorted(str(p.relative_to(checkout)) for p in checkout.rglob("*.py")
                    if "__pycache__" not in p.parts
                    and not _same(p, installed / p.relative_to(checkout)))
    if not differ:
        return None
    shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
    return (f"Lessons' kernels import the labkit installed in {installed}, which is not this "
            f"checkout's: {len(differ)} file(s) differ ({shown}). {FIX}")


def _same(a: Path, b: Path) -> bool:
    return os.path.isfile(b) and filecmp.cmp(a, b, shallow=False)
