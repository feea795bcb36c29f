"""The sandbox server process: moto on 127.0.0.1, the fidelity fixes, a guarded admin API.

Run as `python -m labkit sandbox serve --home DIR` (labkit.sandbox starts it detached). It reads
its token and the console identity from files in DIR, so no secret appears on a command line.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from labkit.sandbox import fidelity, owner, state
from labkit.sandbox.clock import CLOCK, DurationError

TOKEN_HEADER = "HTTP_X_LABKIT_TOKEN"
_AUTH_RE = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([^/]+)/([^/]+)/")
_CODE_RE = re.compile(rb"<Code>([^<]+)</Code>")
_JSON_CODE_RE = re.compile(rb'"__type"\s*:\s*"(?:[^"#]*#)?([^"]+)"')
# Request parameters worth showing in an activity trail (never a secret).
_TRAIL_PARAMS = ("UserName", "PolicyArn", "RoleArn", "RoleName", "RoleSessionName", "Status",
                 "AccessKeyId", "GroupName", "PolicyName")

Start = Callable[[str, list[tuple[str, str]]], Any]


class Trail:
    """Who did what, when: a bounded in-memory history of the sandbox's AWS requests."""

    def __init__(self, limit: int = 50_000) -> None:
        self.events: deque[dict[str, Any]] = deque(maxlen=limit)
        self.lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def since(self, t: float) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["time"] >= t]

    def clear(self) -> None:
        with self.lock:
            self.events.clear()


class SandboxApp:
    """WSGI wrapper: guards the admin APIs with the token and records the activity trail."""

    def __init__(self, moto_app: Any, token: str, console: dict[str, str], instance: str) -> None:
        self.moto_app = moto_app
        self.token = token
        self.console = console
        self.instance = instance
        self.trail = Trail()
        self.started = time.time()

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
        refused = _unauthenticated(environ)
        if refused is not None:
            return _aws_error(environ, start_response, *refused)
        return self.aws_request(environ, start_response)

    def aws_request(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(
                status, headers)

        chunks = list(self.moto_app(environ, capture))
        try:
            self.trail.record(_event(environ, body, captured.get("status", 0), b"".join(chunks)))
        except Exception:  # the trail must never break a request
            logging.getLogger("labkit.sandbox").exception("trail")
        return chunks

    def admin(self, environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ["PATH_INFO"].removeprefix("/labkit-api/")
        method = environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        try:
            if path == "health":
                return _json(start_response, 200, {
                    "labkit": True, "instance": self.instance, "fixes": list(fidelity.FIXES),
                    "pid": os.getpid(), "started": self.started, "account": state.ACCOUNT})
            if path == "trail" and method == "GET":
                since = float(parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0])
                return _json(start_response, 200, {"events": self.trail.since(since)})
            if path == "reset" and method == "POST":
                reset(self.console)
                self.trail.clear()
                return _json(start_response, 200, {"status": "ok"})
            if path == "backdate" and method == "POST":
                backdate(data)
                return _json(start_response, 200, {"status": "ok"})
            if path == "users" and method == "POST":
                return _json(start_response, 200, seed_users(data))
            if path == "users" and method == "DELETE":
                return _json(start_response, 200, delete_users(data))
            if path == "clock":  # GET: the sandbox's time; POST {"advance": "20m"}: move it
                if method == "POST":
                    CLOCK.advance(str(data.get("advance", "")))
                return _json(start_response, 200, CLOCK.describe())
            if path == "issued" and method == "POST":
                return _json(start_response, 200, {"issued": fidelity.issued(data["candidates"])})
            if path == "root-key" and method == "POST":
                fidelity.ROOT_KEY.update({k: data.get(k) for k in fidelity.ROOT_KEY})
                return _json(start_response, 200, {"status": "ok"})
        except DurationError as exc:  # its message says what to type instead
            return _json(start_response, 400, {"message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - an admin call with bad data: say so, stay up
            return _json(start_response, 400, {"message": f"{type(exc).__name__}: {exc}"})
        return _json(start_response, 404, {"message": f"no such admin call: {path}"})


# AWS's words for the two ways a request can lack a usable signature (Common Errors, AWS docs).
MISSING_TOKEN = ("MissingAuthenticationToken", 403, "The request must contain either a valid "
                 "(registered) AWS access key ID or X.509 certificate.")
INCOMPLETE_SIGNATURE = ("IncompleteSignature", 400,
                        "The request signature does not conform to AWS standards.")
_SIGV4_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=[^/\s]+/\d{8}/[^/]+/[^/]+/aws4_request,\s*"
                       r"SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}$")


def _unauthenticated(environ: dict[str, Any]) -> tuple[str, int, str] | None:
    """Why an AWS request cannot be authenticated at all, or None when it carries a signature.

    Checked before moto sees the request: every request must be signed, whatever its
    X-Amz-Target says (moto would let Cognito's "public" operations through unsigned)."""
    auth = environ.get("HTTP_AUTHORIZATION", "").strip()
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if not auth:
        if "X-Amz-Signature" in query and "X-Amz-Credential" in query:
            return None  # a presigned URL: moto checks it
        return MISSING_TOKEN
    if not _SIGV4_RE.match(auth):
        return INCOMPLETE_SIGNATURE
    return None


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
    if environ.get("HTTP_X_AMZ_TARGET") and "json" in environ.get("CONTENT_TYPE", ""):
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/x-amz-json-1.1"
    else:
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
                f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
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


def _event(environ: dict[str, Any], body: bytes, status: int, response: bytes) -> dict[str, Any]:
    from moto.iam.models import iam_backends

    auth = _AUTH_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    key_id, region, service = auth.groups() if auth else ("", "", "")
    query = body.decode("utf-8", "replace") if body and b"Action=" in body \
        else environ.get("QUERY_STRING", "")
    params = parse_qs(query)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    action = (params.get("Action") or [target.rsplit(".", 1)[-1] if target else ""])[0]
    user = ""
    if key_id:
        key = iam_backends[state.ACCOUNT]["aws"].access_keys.get(key_id)
        user = key.user_name if key is not None and key.user_name else ""
    session = ""
    if key_id.startswith("ASIA"):  # temporary credentials: whose session, as CloudTrail's ARN
        from moto.sts.models import sts_backends

        assumed = sts_backends[state.ACCOUNT]["aws"].get_assumed_role_from_access_key(key_id)
        session = assumed.arn if assumed is not None else ""
    code = ""
    if status >= 400:
        m = _CODE_RE.search(response) or _JSON_CODE_RE.search(response)
        code = m.group(1).decode() if m else str(status)
    return {
        "time": _sandbox_time(),
        "event": action or environ.get("REQUEST_METHOD", ""),
        "service": service,
        "region": region,
        "access_key_id": key_id,
        "user": user,
        "session": session,
        "source": environ.get("HTTP_USER_AGENT", "").split(" ", 1)[0],
        "status": status,
        "error": code,
        "params": {k: v[0] for k, v in params.items() if k in _TRAIL_PARAMS},
    }


def _sandbox_time() -> float:
    """Now on the sandbox's clock, as a UNIX time (the trail keeps sub-second order)."""
    return time.time() + CLOCK.offset.total_seconds()


def bootstrap(console: dict[str, str]) -> None:
    """Create the console identity (with its fixed key) and switch IAM authentication on."""
    from moto import settings
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    name = console["user_name"]
    if name not in backend.users:
        backend.create_user(None, name, path="/", tags=[{"Key": "labkit", "Value": "console"}])
        backend.attach_user_policy("arn:aws:iam::aws:policy/AdministratorAccess", name)
        key = backend.create_access_key(name)
        # Keep the console key stable across restarts, so open terminals and kernels keep working.
        del backend.access_keys[key.access_key_id]
        key.access_key_id = console["access_key_id"]
        key.secret_access_key = console["secret_access_key"]
        fidelity._remember(key.secret_access_key)
        backend.access_keys[key.access_key_id] = key
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


def reset(console: dict[str, str]) -> None:
    """Forget everything the learner made, as a fresh sandbox; the console identity stays."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    CLOCK.reset()  # a fresh account lives in real time again
    fidelity.ROOT_KEY.update({"active": None, "created": None, "last_used": None})
    bootstrap(console)


def backdate(data: dict[str, Any]) -> None:
    """Set creation and last-use times, so a lesson can show keys that are months old."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    if data.get("user_created"):
        backend.get_user(data["user"]).create_date = _dt(data["user_created"])
    if data.get("access_key_id"):
        key = backend.access_keys[data["access_key_id"]]
        if data.get("created"):
            key.create_date = _dt(data["created"])
        if data.get("last_used"):
            key.last_used = AccessKeyLastUsed(_dt(data["last_used"]), data.get("service") or "iam",
                                              data.get("region") or "us-east-1")


def seed_users(data: dict[str, Any]) -> dict[str, Any]:
    """Create users with keys of given ages in one call (the audit scenario): a lesson's seeding
    then costs one request instead of dozens. Users of the same name are replaced."""
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    made = 0
    for spec in data["users"]:
        name = spec["name"]
        if name in backend.users:
            _delete_user(backend, name)
        backend.create_user(None, name, path="/")
        if spec.get("password"):
            backend.create_login_profile(name, spec["password"])
        for key_spec in spec.get("keys", []):
            key = backend.create_access_key(name)
            if not key_spec.get("active", True):
                backend.update_access_key(name, key.access_key_id, "Inactive")
            backdate({"user": name, "user_created": spec.get("created"),
                      "access_key_id": key.access_key_id, **key_spec})
            made += 1
    return {"users": len(data["users"]), "keys": made}


def delete_users(data: dict[str, Any]) -> dict[str, Any]:
    """Delete users and everything hanging off them, in one call; names that do not exist are
    skipped. Returns the names deleted."""
    from moto.iam.models import iam_backends

    backend = iam_backends[state.ACCOUNT]["aws"]
    gone = [name for name in data["users"] if name in backend.users]
    for name in gone:
        _delete_user(backend, name)
    return {"deleted": gone}


def _delete_user(backend: Any, name: str) -> None:
    # What IAM's DeleteUser wants gone first (fidelity checks the same list, so a leftover here
    # fails loudly instead of leaving half a user).
    user = backend.get_user(name)
    user.password = None
    for key in list(user.access_keys):
        backend.delete_access_key(key.access_key_id, name)
    for attribute in ("signing_certificates", "ssh_public_keys", "service_specific_credentials",
                      "mfa_devices", "policies"):
        getattr(user, attribute, {}).clear()
    for arn in list(user.managed_policies):
        backend.detach_user_policy(arn, name)
    for group in backend.groups.values():
        if user in group.users:
            group.users.remove(user)
    backend.delete_user(name)


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    # moto keeps naive UTC datetimes
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# Connections from other OS users (the sandbox answers them only with a valid signature anyway)
# share a small pool with a short idle timeout, so holding hundreds of idle connections cannot
# starve the owner's calls; the owner's own connections are never refused.
FOREIGN_CONNECTIONS = 16
FOREIGN_IDLE_TIMEOUT = 5.0
OWNER_IDLE_TIMEOUT = 120.0


def peer_uid(client: tuple[str, int], server_port: int) -> int | None:
    """The OS user owning the other end of a loopback TCP connection (Linux), else None."""
    if client[0] != "127.0.0.1":
        return None
    needle = f"0100007F:{client[1]:04X} 0100007F:{server_port:04X}"
    try:
        with open("/proc/net/tcp") as fh:
            text = fh.read()
    except OSError:
        return None
    at = text.find(needle)
    if at < 0:
        return None
    line = text[text.rfind("\n", 0, at) + 1:text.find("\n", at)]
    try:
        return int(line.split()[7])
    except (IndexError, ValueError):
        return None


def _raise_fd_limit() -> None:
    """Use every file descriptor the system allows (a hub user's soft limit is often 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 1 << 20), hard))
        except (ValueError, OSError):
            pass


def _make_server(port: int, app: Any) -> Any:
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # the trail records requests; the log keeps only errors

        def date_time_string(self, timestamp: float | None = None) -> str:
            # The Date header tells the sandbox's time, as AWS's tells its own: clients that
            # read it (the key inventory) follow the sandbox's clock.
            return super().date_time_string(_sandbox_time() if timestamp is None else timestamp)

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            if "timed out" not in format % args:  # idle connections closed: not worth a line
                super().log_error(format, *args)

    class GuardedServer(ThreadedWSGIServer):
        """Serves the owner without limit; everyone else from a small, short-lived pool."""

        owner = os.getuid()
        counting = threading.Lock()
        foreign: set[int] = set()  # id() of the open connections from other users

        def verify_request(self, request: Any, client_address: Any) -> bool:
            uid = peer_uid(client_address, self.server_address[1])
            # Unknown (no /proc, or the client already left): serve it like the owner's, so a
            # system without /proc/net/tcp keeps working; only a known other user is pooled.
            mine = uid is None or uid == self.owner
            if not mine:
                with self.counting:
                    if len(self.foreign) >= FOREIGN_CONNECTIONS:
                        return False  # closed at once, before any thread or read
                    self.foreign.add(id(request))
            request.settimeout(OWNER_IDLE_TIMEOUT if mine else FOREIGN_IDLE_TIMEOUT)
            return True

        def shutdown_request(self, request: Any) -> None:
            with self.counting:
                self.foreign.discard(id(request))
            super().shutdown_request(request)

    return GuardedServer("127.0.0.1", port, app, handler=QuietHandler)


def _listen(port_hint: int, app: Any) -> Any:
    """Listen on the port the sandbox had before (so exported settings stay right), else any."""
    # A killed sandbox's port can take a moment to be released: try it a few times first.
    for attempt in range(5 if port_hint else 0):
        try:
            return _make_server(port_hint, app)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken
            time.sleep(0.05 * (attempt + 1))
    try:
        return _make_server(0, app)
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


# sandbox.log is capped: LOG_MAX_BYTES, then it moves to sandbox.log.1 (one old copy is kept),
# so a flood of failing requests cannot fill the learner's disk.
LOG_MAX_BYTES = 1024 * 1024
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


class _LogStream(io.TextIOBase):
    """stdout/stderr of the sandbox process, sent through the capped log."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, text: str) -> int:
        if text.strip():
            self.logger.warning(text.rstrip())
        return len(text)


def rotating_log(home: Path) -> None:
    """Send all of the sandbox's logging, stdout and stderr to sandbox.log, capped in size."""
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        def _open(self) -> Any:
            # 0600 from the first byte, also for the file that starts after a rotation
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors="replace")

    handler = PrivateRotatingFileHandler(home / state.LOG, maxBytes=LOG_MAX_BYTES, backupCount=1,
                                         delay=True)
    logging.basicConfig(handlers=[handler], level=logging.WARNING, format=LOG_FORMAT, force=True)
    sys.stdout = sys.stderr = _LogStream(logging.getLogger("labkit.sandbox.output"))
    # Writes straight to the file descriptors (C code) would bypass the cap: discard them.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def one_malloc_arena() -> bool:
    """Let all threads share one glibc malloc arena (M_ARENA_MAX = 1); False where not glibc.

    The server answers each request in a thread of its own, and glibc gives threads arenas of
    their own that keep what they once held: 12-20 MB more after a burst of parallel requests
    (bench/results.md). Python's GIL lets one thread allocate at a time anyway."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(-8, 1))  # M_ARENA_MAX from glibc's malloc.h
    except (OSError, AttributeError):
        return False


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
    _raise_fd_limit()
    fidelity.install()
    close_public_operations()
    lighter_service_models()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = SandboxApp(DomainDispatcherApplication(create_backend_app), launch["token"], console,
                     launch["instance"])
    server = _listen(int(launch.get("port_hint") or 0), app)
    if server is None:
        print("sandbox: could not open a network port on 127.0.0.1 (all are in use, or the "
              "loopback network is off). Stop other sandboxes (python -m labkit sandbox stop) "
              "or programs, then try again.", file=sys.stderr, flush=True)
        return 3
    bootstrap(console)
    rotating_log(home)
    port = server.server_address[1]
    launch.update({"status": "ready", "pid": os.getpid(), "port": port,
                   "url": f"http://127.0.0.1:{port}", "started": app.started})
    state.write_private(home / state.STATE, launch)

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
