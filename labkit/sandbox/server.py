"""The sandbox server process: moto on 127.0.0.1 over TLS, the fidelity fixes, a guarded admin API.

Run as `python -m labkit sandbox serve --home DIR` (labkit.sandbox starts it detached). It reads
its token and the console identity from files in DIR, so no secret appears on a command line.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from labkit.sandbox import connections, fidelity, gate, owner, state
from labkit.sandbox.activity import Trail, event
from labkit.sandbox.admin import Admin, bootstrap
from labkit.sandbox.clock import DurationError
from labkit.sandbox.process_log import (
    LOG_FORMAT,
    LOG_MAX_BYTES,
    one_malloc_arena,
    raise_fd_limit,
    rotating_log,
)
from labkit.sandbox.tls import CERT, server_context
from labkit.sandbox.protocols import json_error_from_xml, speaks_json
from labkit.sandbox.unmodelled import unmodelled_error

__all__ = ["LOG_FORMAT", "LOG_MAX_BYTES", "SandboxApp", "one_malloc_arena", "rotating_log", "serve"]

TOKEN_HEADER = "HTTP_X_LABKIT_TOKEN"
# AWS's common error for a failure of its own (HTTP 500).
INTERNAL_FAILURE = ("InternalFailure", 500, "The request processing has failed because of an "
                    "unknown error, exception or failure.")
# The services the course calls, by signing name and model name: their moto apps and request
# routers are built as the sandbox starts, not by a learner's first call to each (30-110 ms).
COURSE_SERVICES = (("iam", "iam"), ("sts", "sts"), ("logs", "logs"), ("sns", "sns"),
                   ("monitoring", "cloudwatch"), ("cloudtrail", "cloudtrail"))

Start = Callable[[str, list[tuple[str, str]]], Any]


class SandboxApp:
    """WSGI wrapper: guards the admin APIs with the token and records the activity trail."""

    def __init__(self, moto_app: Any, token: str, console: dict[str, str], instance: str) -> None:
        self.moto_app = moto_app
        self.token = token
        self.console = console
        self.instance = instance
        self.trail = Trail()
        self.started = time.time()
        self.api = Admin(console, instance, self.trail, self.started)

    def __call__(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/moto-api", "/labkit-api")):
            if not hmac.compare_digest(environ.get(TOKEN_HEADER, ""), self.token):
                return _json(start_response, 403, {
                    "message": "This sandbox's admin API answers only its owner (token missing "
                               "or wrong)."})
            if path.startswith("/labkit-api"):
                return self.admin(environ, start_response)
            return self.moto_app(environ, start_response)
        refused = gate.body_refusal(environ)
        if refused is not None:  # not a byte of the body is read (so the connection is closed
            environ["wsgi.input"] = io.BytesIO()  # after the answer: keepalive.py)
            return _aws_error(environ, start_response, *refused)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        refused = gate.authenticate(environ, body)
        if refused is not None:  # refused before moto: no account, no last-used date, no trail
            return _aws_error(environ, start_response, *refused)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.aws_request(environ, start_response, body)

    def aws_request(self, environ: dict[str, Any], start_response: Start,
                    body: bytes) -> Iterable[bytes]:
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return written.append  # answered below, once it is known to be AWS's kind of answer

        try:
            chunks = written + list(self.moto_app(environ, capture))
            status, headers = captured.get("status", "500 "), captured.get("headers", [])
            unmodelled = status.startswith("500") and any(
                k.lower() == "content-type" and "html" in v for k, v in headers)
        except NotImplementedError:  # an operation moto lacks (it would answer an HTML page)
            unmodelled = True
        except Exception:  # noqa: BLE001 - moto failed: AWS's InternalFailure, not an HTML page
            logging.getLogger("labkit.sandbox").exception("moto failed on a request")
            chunks = _aws_error(environ, start_response, *INTERNAL_FAILURE)
            self.trail.record(event(environ, body, 500, b"".join(chunks)))
            return chunks
        in_json = None if unmodelled else json_error_from_xml(
            environ, int(status.split()[0]), b"".join(chunks))
        if unmodelled or in_json:
            refusal = in_json or unmodelled_error(environ, body)
            chunks = _aws_error(environ, start_response, *refusal)
            status = str(refusal[1])
        else:
            start_response(status, headers)
        try:
            self.trail.record(event(environ, body, int(status.split()[0]), b"".join(chunks)))
        except Exception:  # the trail must never break a request
            logging.getLogger("labkit.sandbox").exception("trail")
        return chunks

    def admin(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ["PATH_INFO"].removeprefix("/labkit-api/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            data = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            answer = self.api.call(environ["REQUEST_METHOD"], path,
                                   environ.get("QUERY_STRING", ""), data)
        except DurationError as exc:  # its message says what to type instead
            return _json(start_response, 400, {"message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - an admin call with bad data: say so, stay up
            return _json(start_response, 400, {"message": f"{type(exc).__name__}: {exc}"})
        if answer is None:
            return _json(start_response, 404, {"message": f"no such admin call: {path}"})
        return _json(start_response, 200, answer)


def warm_up(moto_app: Any, services: Iterable[tuple[str, str]] = COURSE_SERVICES) -> None:
    """Build moto's app, service model and request router for each of `services`, as a first
    call would (moto reads the model with a loader that walks botocore's folders: 40-90 ms a
    service). Routers are moto's newer request routing (5.2.6); older moto has none."""
    from moto.core.utils import get_service_model

    try:
        from moto.core.routing import get_service_router
    except ImportError:  # moto before 5.2.6 routes without one
        get_service_router = None

    for signing_name, model in services:
        environ = {"HTTP_HOST": "127.0.0.1", "PATH_INFO": "/", "REQUEST_METHOD": "POST",
                   "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAWARMUP/20260101/"
                   f"us-east-1/{signing_name}/aws4_request, Signature=warm-up"}
        try:
            moto_app.get_application(environ)
            get_service_model(model)
            if get_service_router is not None:
                get_service_router(model)
        except Exception:  # noqa: BLE001 - a service moto lacks: its first call says so
            logging.getLogger("labkit.sandbox").exception("warm-up of %s", model)


def close_public_operations() -> None:
    """Make moto authenticate Cognito's "public" operations too: the course needs none of them,
    and on a shared machine they were a way into the sandbox without credentials."""
    from moto.core.authorization import ActionAuthenticatorMixin

    ActionAuthenticatorMixin.PUBLIC_OPERATIONS = []


def lighter_service_models() -> None:
    """moto reads botocore's service models (IAM's is 0.7 MB of JSON) into OrderedDicts; plain
    dicts keep the same order and leave the sandbox 1-2 MB smaller."""
    from moto.core import loaders

    from labkit.plain_json import plain_json_loader

    loaders.Loader.FILE_LOADER_CLASS = type(plain_json_loader())


def _aws_error(environ: dict[str, Any], start_response: Start, code: str, status: int,
               message: str) -> list[bytes]:
    """An error in the protocol the caller speaks: JSON for X-Amz-Target APIs, else XML."""
    request_id = os.urandom(16).hex()
    if speaks_json(environ):
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/x-amz-json-1.1"
    else:
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
                f"<Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        ctype = "text/xml"
    start_response(f"{status} {HTTPStatus(status).phrase}", [
        ("Content-Type", ctype), ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id)])
    return [body]


def _json(start_response: Start, status: int, data: dict[str, Any]) -> list[bytes]:
    body = json.dumps(data, default=str).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _make_server(port: int, app: Any, tls: Any) -> Any:
    from labkit.sandbox.keepalive import KeepAliveHandler

    class QuietHandler(KeepAliveHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # the trail records requests; the log keeps only errors

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header is on the host's calendar, as every time the sandbox presents
            # (clock.py says why): clients that read it (the key inventory) agree with the rest.
            return super().date_time_string(timestamp)

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            if "timed out" not in format % args:  # idle connections closed: not worth a line
                super().log_error(format, *args)

    return connections.make_server(port, app, QuietHandler, tls)


def _listen(port_hint: int, app: Any, tls: Any) -> Any:
    """Listen on the port the sandbox had before (so exported settings stay right), else any."""
    # A killed sandbox's port can take a moment to be released: try it a few times first.
    for attempt in range(5 if port_hint else 0):
        try:
            return _make_server(port_hint, app, tls)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken
            time.sleep(0.05 * (attempt + 1))
    try:
        return _make_server(0, app, tls)
    except (OSError, SystemExit):
        return None


def _watch_owner(home: Path, instance: str, stop: Callable[[], None]) -> None:
    """Exit once the Jupyter server that owns this sandbox is gone (killed without stopping it).

    The owner is reread from the state file on every check, so a server that adopts a running
    sandbox takes over; a sandbox without an owner runs until it is stopped."""

    def watch() -> None:
        while True:
            time.sleep(owner.WATCH_INTERVAL)
            data = state.read_json(home / state.STATE) or {}
            if data.get("instance") != instance:
                continue  # state being rewritten, or another instance's: nothing to judge by
            who = owner.valid(data.get("owner"))
            if who and not owner.alive(who):
                logging.getLogger("labkit.sandbox").warning(
                    "the Jupyter server (pid %s) that owned this sandbox is gone: stopping",
                    who["pid"])
                stop()
                return

    threading.Thread(target=watch, name="labkit-owner-watch", daemon=True).start()


def serve(home: Path) -> int:
    """Start the sandbox described by HOME's state file and serve until stopped."""
    one_malloc_arena()  # before any thread starts
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    launch = state.read_json(home / state.STATE) or {}
    console = state.read_json(home / state.CONSOLE)
    if not launch.get("token") or not console:
        print("sandbox: no launch data in LABKIT_HOME; start it with `python -m labkit sandbox "
              "start`", file=sys.stderr)
        return 2
    raise_fd_limit()
    fidelity.install()
    close_public_operations()
    lighter_service_models()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = SandboxApp(DomainDispatcherApplication(create_backend_app), launch["token"], console,
                     launch["instance"])
    tls = server_context(home)  # the same certificate across restarts: clients pin it
    server = _listen(int(launch.get("port_hint") or 0), app, tls)
    if server is None:
        print("sandbox: could not open a network port on 127.0.0.1 (all are in use, or the "
              "loopback network is off). Stop other sandboxes (python -m labkit sandbox stop) "
              "or programs, then try again.", file=sys.stderr, flush=True)
        return 3
    bootstrap(console)
    rotating_log(home)
    port = server.server_address[1]
    launch.update({"status": "ready", "pid": os.getpid(), "port": port,
                   "url": f"https://127.0.0.1:{port}", "ca": str(home / CERT),
                   "started": app.started})
    state.write_private(home / state.STATE, launch)
    threading.Thread(target=warm_up, args=(app.moto_app,), name="labkit-warm-up",
                     daemon=True).start()

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _watch_owner(home, launch["instance"], stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        current = state.read_json(home / state.STATE) or {}
        if current.get("instance") == launch["instance"]:
            # Keep the address: a restart tries the same port, so exported settings stay right.
            state.write_private(home / state.STATE, dict(current, status="stopped"))
    return 0
