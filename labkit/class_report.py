"""A learner's server tells the class view how they are doing, with their own JupyterHub token.

On a hub configured with the class view (LABKIT_CLASS_URL in the spawner's environment), every
checkpoint result sends the learner's progress.json to the view, signed with the
JUPYTERHUB_API_TOKEN the hub gave their server: the view asks the hub whose token it is, so a
learner can only ever report for themselves. Sending happens in the background and never fails
a lesson: a view that is down misses a report, and the next checkpoint sends everything again.
"""

from __future__ import annotations

import atexit
import json
import threading
import urllib.error
import urllib.request
from typing import Any

REPORT_PATH = "api/progress"
TIMEOUT_S = 5.0
# A kernel shut down right after a checkpoint waits this long for its report to leave.
AT_EXIT_S = 3.0
_pending: list[threading.Thread] = []


def report_url(base: str) -> str:
    """The view's report endpoint under its base URL (".../services/labkit-class/")."""
    return base.rstrip("/") + "/" + REPORT_PATH


def post(base: str, token: str, progress: dict[str, Any]) -> int:
    """Send `progress` now; the HTTP status, or 0 when the view could not be reached."""
    request = urllib.request.Request(
        report_url(base), data=json.dumps(progress).encode(), method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


def send(progress: dict[str, Any]) -> threading.Thread | None:
    """Send `progress` in the background when this server reports to a class view."""
    from labkit.settings import LabError, settings

    try:
        cfg = settings()
    except LabError:
        return None
    if not cfg.class_url or not cfg.hub_token:
        return None
    thread = threading.Thread(target=post, args=(cfg.class_url, cfg.hub_token, dict(progress)),
                              name="labkit-class-report", daemon=True)
    thread.start()
    if not _pending:
        atexit.register(_finish)
    _pending[:] = [t for t in _pending if t.is_alive()] + [thread]
    return thread


def _finish() -> None:
    """At exit: give reports still on their way a moment to arrive."""
    for thread in _pending:
        thread.join(AT_EXIT_S)
