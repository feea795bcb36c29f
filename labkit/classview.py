"""The instructor's live class view: a JupyterHub service, the same on one machine and Kubernetes.

`python -m labkit classview serve` runs it (the hub starts it: see docs/jupyterhub_config.py).
- `/` (the page) and `/api/class` (what it polls) open only for those whose hub token holds
  `access:services!service=NAME`: hub admins, and the instructors group the hub's roles name;
  anyone else gets 403 from JupyterHub's own OAuth check.
- `/api/progress`: learners' servers POST their progress.json with their JUPYTERHUB_API_TOKEN; the
  hub says whose token it is, and the report is filed under that name only.
- `/export.csv`: one row per learner, a column per check, the time each was first passed.
`python -m labkit classview export|forget --data DIR` do the same from the command line.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.classbook import ClassBook

DESCRIPTION = ("The instructor's class view (a JupyterHub service): serve it, export the class "
               "as CSV, or forget learners' progress for a new class.")
PAGE = Path(__file__).with_name("class_files") / "classview.html"
STUCK_MINUTES = 10.0
ROSTER_SECONDS = 15.0
INSTRUCTORS_GROUP = "instructors"
MAX_REPORT_BYTES = 256 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve`, `export` and `forget`, each with the folder the view keeps its book in."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("serve", "run the view (JupyterHub starts it as a service)"),
                       ("export", "print the class as CSV: a column per check, first passed at"),
                       ("forget", "forget learners' progress (a new class)")):
        action = actions.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
        action.add_argument("--data", type=Path, default=Path("labkit-class"), metavar="DIR",
                            help="the view's folder (default: ./labkit-class)")
        if name == "serve":
            action.add_argument("--stuck-minutes", type=float, default=STUCK_MINUTES,
                                help="flag a learner failing one check for longer than this")
        if name == "forget":
            who = action.add_mutually_exclusive_group(required=True)
            who.add_argument("learners", nargs="*", default=[], metavar="LEARNER")
            who.add_argument("--all", action="store_true", help="every learner")


def run(args: argparse.Namespace) -> int:
    """Run one `classview` action; its exit status."""
    if args.action == "serve":
        return serve(args.data, args.stuck_minutes)
    if not (args.data / "classbook.json").exists():
        print(f"labkit: no class view data in {args.data} (give the folder the service runs "
              "in with --data)", file=sys.stderr)
        return 1
    book = ClassBook(args.data)
    if args.action == "export":
        sys.stdout.write(book.csv())
        return 0
    if not args.all and not args.learners:
        print("labkit: name the learners to forget, or --all", file=sys.stderr)
        return 2
    gone = book.forget(None if args.all else args.learners)
    book.save()
    missing = sorted(set(args.learners) - set(gone))
    print(f"Forgot the progress of {len(gone)} learner(s): {', '.join(gone) or 'none'}. "
          "Kept: learners' own files, sandboxes and hub accounts (a running view shows the "
          "change at its next refresh).")
    if missing:
        print(f"Not in the class view: {', '.join(missing)}", file=sys.stderr)
    return 0


def serve(folder: Path, stuck_minutes: float) -> int:
    """Serve the view until stopped (JupyterHub passes where and under which prefix)."""
    import asyncio
    from urllib.parse import urlparse

    from labkit.settings import hub_service

    url, prefix = hub_service()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    app = make_app(ClassBook(folder), prefix, stuck_minutes)
    where = urlparse(url)
    app.listen(where.port or 80, where.hostname or "127.0.0.1")
    print(f"labkit class view at {url} (prefix {prefix})", file=sys.stderr)
    asyncio.get_event_loop_policy().get_event_loop().run_forever()
    return 0


def make_app(book: ClassBook, prefix: str, stuck_minutes: float,
             now: Any = None) -> Any:
    """The tornado application (`now`: a clock for tests; default the real time)."""
    from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    clock = now or (lambda: datetime.now(UTC))
    auth = HubOAuth(cache_max_age=5)
    roster = Roster(auth)

    class Page(HubOAuthenticated, web.RequestHandler):
        hub_auth = auth

        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Content-Security-Policy", "default-src 'self'; "
                            "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'")
            # The page's polls send it back: the hub accepts a cookie on fetch() only with it.
            token = self.xsrf_token
            token = token.decode() if isinstance(token, bytes) else token
            self.write(PAGE.read_text(encoding="utf-8").replace("{{xsrf}}", html.escape(token)))

    class ClassData(Page):
        @web.authenticated
        async def get(self) -> None:
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            book.refresh()
            self.write(json.dumps(book.view(clock(), stuck_minutes, await roster.names())))

    class Export(Page):
        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.set_header("Content-Disposition", 'attachment; filename="class-progress.csv"')
            book.refresh()
            self.write(book.csv())

    class Report(web.RequestHandler):
        async def post(self) -> None:
            header = self.request.headers.get("Authorization", "")
            token = header[6:].strip() if header.lower().startswith("token ") else ""
            if not token:
                raise web.HTTPError(401, "a learner's JupyterHub token is required")
            user = await auth.user_for_token(token, use_cache=True, sync=False)
            if not user or user.get("kind", "user") != "user" or not user.get("name"):
                raise web.HTTPError(403, "not a learner's token")
            if len(self.request.body) > MAX_REPORT_BYTES:
                raise web.HTTPError(413, "a progress report is a few KB")
            try:
                progress = json.loads(self.request.body)
            except ValueError:
                raise web.HTTPError(400, "send the learner's progress.json") from None
            if not isinstance(progress, dict):
                raise web.HTTPError(400, "send the learner's progress.json")
            book.refresh()
            count = book.report(user["name"], progress, clock())
            book.save()
            self.write({"learner": user["name"], "checks": count})

        def check_xsrf_cookie(self) -> None:
            """Token-authenticated API calls from servers carry no cookie to forge."""

    return web.Application([
        (prefix, Page),
        (prefix + "api/class", ClassData),
        (prefix + "export.csv", Export),
        (prefix + "api/progress", Report),
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
    ], cookie_secret=secrets.token_bytes(32))


class Roster:
    """The hub's learners (users outside the instructors group), asked of the hub's API with the
    service's own token, at most every ROSTER_SECONDS: the view lists who has not started too."""

    def __init__(self, auth: Any) -> None:
        self.auth = auth
        self._names: list[str] = []
        self._asked = -ROSTER_SECONDS

    async def names(self) -> list[str]:
        """The learners' names; the last list known when the hub does not answer."""
        import time

        from tornado.httpclient import AsyncHTTPClient, HTTPClientError

        if time.monotonic() - self._asked < ROSTER_SECONDS:
            return self._names
        self._asked = time.monotonic()
        try:
            got = await AsyncHTTPClient().fetch(
                self.auth.api_url.rstrip("/") + "/users",
                headers={"Authorization": f"token {self.auth.api_token}"}, request_timeout=10)
            users = json.loads(got.body)
        except (HTTPClientError, OSError, ValueError):
            return self._names
        users = users if isinstance(users, list) else users.get("items", [])
        self._names = sorted(u["name"] for u in users if isinstance(u, dict) and "name" in u
                             and INSTRUCTORS_GROUP not in (u.get("groups") or []))
        return self._names
