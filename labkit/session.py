"""Which AWS the lab talks to, and boto3 sessions for it. The only module that reads the environment.

- sandbox (default): the learner's own simulated account, started on first use;
- a sandbox someone else started: `LABKIT_SANDBOX_URL=http://host:port`;
- real AWS: `LABKIT_BACKEND=aws` plus `LABKIT_AWS_ACCOUNT=<12-digit id>` to confirm which
  account, with guardrails (no root credentials, not on Binder).
"""

from __future__ import annotations

import getpass
import html
import importlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from labkit.keys import AccessKey, mask_key_id
from labkit.plain_json import plain_json_loader
from labkit.sandbox.state import ACCOUNT, STATE, read_json  # the sandbox's account, state file

REGION = "us-east-1"
BACKENDS = ("sandbox", "aws")
# Set by labkit's Jupyter server extension (`PID:START` of the server): kernels and terminals of
# that server start a sandbox that exits once the server is gone.
SERVER_PROCESS_VAR = "LABKIT_SERVER_PROCESS"


class LabError(RuntimeError):
    """The lab cannot connect as configured; the message says what to do."""


class SandboxNotAnswering(LabError):
    """The sandbox process is alive but did not answer in time (paused, or swamped)."""


# Seconds a sandbox call may take before labkit gives up (a healthy sandbox answers in ms).
SANDBOX_CONNECT_TIMEOUT = 3.0
SANDBOX_READ_TIMEOUT = 15.0


def _sandbox_config() -> Any:
    """Client settings for the sandbox: short timeouts, so a paused sandbox fails in seconds."""
    from botocore.config import Config

    return Config(connect_timeout=SANDBOX_CONNECT_TIMEOUT, read_timeout=SANDBOX_READ_TIMEOUT,
                  retries={"total_max_attempts": 3, "mode": "legacy"})


@dataclass(frozen=True)
class Settings:
    """What the environment asks for."""

    backend: str = "sandbox"
    home: Path = field(default_factory=lambda: Path.home() / ".labkit")
    sandbox_url: str | None = None
    aws_profile: str | None = None
    aws_account: str | None = None
    binder: bool = False
    learner: str = ""
    credentials_file: Path = field(default_factory=lambda: Path.home() / ".aws" / "credentials")
    config_file: Path = field(default_factory=lambda: Path.home() / ".aws" / "config")
    server_process: str | None = None
    # The class view this learner's server reports to, and the hub token it signs with.
    class_url: str | None = None
    hub_token: str | None = field(default=None, repr=False)


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read LABKIT_* (and the few AWS_* and BINDER_* variables that matter) from the environment."""
    env = os.environ if env is None else env
    backend = (env.get("LABKIT_BACKEND") or "sandbox").strip().lower()
    if backend not in BACKENDS:
        raise LabError(
            f"LABKIT_BACKEND={env.get('LABKIT_BACKEND')!r} is not a backend the lab knows. "
            "Use LABKIT_BACKEND=sandbox (the default, simulated and free) or LABKIT_BACKEND=aws."
        )
    home = Path(env.get("LABKIT_HOME") or Path(env.get("HOME") or Path.home()) / ".labkit")
    aws_home = Path(env.get("HOME") or Path.home()) / ".aws"
    try:
        learner = env.get("JUPYTERHUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        learner = "learner"
    return Settings(
        backend=backend,
        home=home.expanduser(),
        sandbox_url=(env.get("LABKIT_SANDBOX_URL") or "").strip() or None,
        aws_profile=(env.get("LABKIT_AWS_PROFILE") or "").strip() or None,
        aws_account=(env.get("LABKIT_AWS_ACCOUNT") or "").strip() or None,
        binder=any(k.startswith("BINDER_") for k in env),
        learner=learner,
        credentials_file=Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or aws_home / "credentials"),
        config_file=Path(env.get("AWS_CONFIG_FILE") or aws_home / "config"),
        server_process=(env.get(SERVER_PROCESS_VAR) or "").strip() or None,
        class_url=(env.get("LABKIT_CLASS_URL") or "").strip() or None,
        hub_token=(env.get("JUPYTERHUB_API_TOKEN") or "").strip() or None,
    )


def hub_service(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The address a JupyterHub service listens on, and its URL prefix (from the hub)."""
    env = os.environ if env is None else env
    return (env.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101",
            env.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/labkit-class/")


@dataclass(frozen=True)
class Identity:
    """The answer of `sts get-caller-identity`."""

    user_id: str
    account: str
    arn: str

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1] if "/" in self.arn else self.arn.rsplit(":", 1)[-1]

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")


@dataclass(repr=False, eq=False)
class Lab:
    """A connection to the lab's AWS: the console identity's session, and clients for it."""

    settings: Settings
    session: Any
    identity: Identity
    console_key: AccessKey | None = None
    endpoint_url: str | None = None
    sandbox: Any = None
    message: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _revived_at: float = -1e9
    _trust_shim: Any = None

    @property
    def region(self) -> str:
        return REGION

    @property
    def simulated(self) -> bool:
        return self.settings.backend == "sandbox"

    @property
    def guarded(self) -> bool:
        """True in real-AWS mode: the lab then touches only what it created itself."""
        return self.settings.backend == "aws"

    @property
    def credentials_file(self) -> Path:
        return self.settings.home / "aws" / "credentials" if self.simulated \
            else self.settings.credentials_file

    @property
    def config_file(self) -> Path:
        return self.settings.home / "aws" / "config" if self.simulated else self.settings.config_file

    @property
    def cli_files(self) -> dict[str, Path]:
        """The lab's CLI files, as the keyword arguments labkit.profiles takes."""
        return {"credentials_file": self.credentials_file, "config_file": self.config_file}

    def missing_fix(self, fix: str) -> bool:
        """True when the sandbox is a stock moto server without labkit's fix `fix`."""
        return self.simulated and self.sandbox is not None and fix not in self.sandbox.fixes

    def client(self, service: str) -> Any:
        """A boto3 client for the console identity (cached)."""
        if service not in self._clients:
            self._clients[service] = self.client_for(self.session, service)
        return self._clients[service]

    def session_for(self, key: AccessKey) -> Any:
        """A boto3 session that signs with `key` (an access key pair the learner holds)."""
        return new_session(aws_access_key_id=key.access_key_id,
                           aws_secret_access_key=key.reveal_secret(),
                           aws_session_token=key.session_token)

    def session_for_profile(self, profile: str) -> Any:
        """A boto3 session from a named profile in the lab's credentials and config files."""
        return new_session(profile_name=profile, config={
            "credentials_file": str(self.credentials_file), "config_file": str(self.config_file)})

    def client_for(self, session_or_key: Any, service: str) -> Any:
        """A client of `service` for a boto3 session or an AccessKey, aimed at the lab's AWS."""
        session = self.session_for(session_or_key) if isinstance(session_or_key, AccessKey) \
            else session_or_key
        client = session.client(service, region_name=REGION, endpoint_url=self.endpoint_url,
                                config=_sandbox_config() if self.simulated else None)
        if self.guarded:
            if service == "iam":
                from labkit import guard

                guard.install(client)  # every changing call checks the lab's tag first
            return client
        client.meta.events.register("needs-retry.*.*", self._revive)
        if service == "iam" and self._stock_moto:  # a stock moto has none of labkit's fixes
            self._managed_policy_copies().register(client)
            self._same_account_trust().register(client)
        return client

    @property
    def _stock_moto(self) -> bool:
        return self.simulated and self.sandbox is not None and not self.sandbox.labkit

    def _plain_iam(self) -> Any:
        """The console identity's IAM client without the stock-moto hooks (they would recurse)."""
        return self.session.client("iam", region_name=REGION, endpoint_url=self.endpoint_url)

    def _managed_policy_copies(self) -> Any:
        """Stand-ins for the AWS managed policies a stock moto server may lack (said once)."""
        from labkit.sandbox.managed_policies import for_server

        return for_server(self.endpoint_url or "", self.identity.account or ACCOUNT,
                          self._plain_iam)

    def _same_account_trust(self) -> Any:
        """Identity policies a stock moto server wants where AWS's trust policy is enough."""
        from labkit.sandbox.stock_trust import TrustShim

        if self._trust_shim is None:
            self._trust_shim = TrustShim(self.identity.account or ACCOUNT, self._plain_iam)
        return self._trust_shim

    def now(self) -> datetime:
        """The time as this lab's AWS sees it: the sandbox's clock, or real time (UTC)."""
        if self.simulated and self.sandbox is not None and "clock" in self.sandbox.fixes:
            return datetime.fromisoformat(self.sandbox.admin("GET", "clock")["now"])
        return datetime.now(UTC).replace(microsecond=0)

    def advance_clock(self, duration: str | timedelta) -> datetime:
        """Move the sandbox's clock forward (`"20m"`, `"2h"`, `"91d"`); returns the new time."""
        from labkit.sandbox.clock import DurationError, parse_duration

        if not self.simulated:
            raise LabError("This lab uses a real AWS account, whose clock is the world's: there "
                           "is no clock to move. Wait, or use the sandbox to try it.")
        if self.sandbox is None or "clock" not in self.sandbox.fixes:
            raise LabError("This sandbox is a stock moto server: it has no clock to move. Unset "
                           "LABKIT_SANDBOX_URL to use labkit's own sandbox, which has one.")
        try:
            delta = parse_duration(duration)
        except DurationError as exc:
            raise LabError(str(exc)) from None
        got = self.sandbox.admin("POST", "clock", {"advance": f"{int(delta.total_seconds())}s"})
        return datetime.fromisoformat(got["now"])

    def _revive(self, caught_exception: Exception | None = None, **_: Any) -> int | None:
        """On a refused connection, restart the sandbox and retry once (a fresh account); on a
        timeout (a paused or swamped sandbox, alive), give up at once with a plain message."""
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        if isinstance(caught_exception, (ReadTimeoutError, ConnectTimeoutError)):
            raise SandboxNotAnswering(
                f"The sandbox at {self.endpoint_url} did not answer within "
                f"{SANDBOX_READ_TIMEOUT:.0f} s. It may be paused or very busy; nothing in it was "
                "lost. Wait a moment and run the cell again; if it stays like this, run "
                "`python -m labkit sandbox stop`, then any lab call starts a fresh, empty one."
            ) from None
        if not isinstance(caught_exception, (EndpointConnectionError, ConnectionClosedError)):
            return None
        if self.settings.sandbox_url and not _own_sandbox(self.settings):
            return None  # someone else's sandbox: not ours to restart
        if time.monotonic() - self._revived_at < 10:
            return None  # just restarted and still unreachable: restarting again will not help
        self._revived_at = time.monotonic()
        with _lock:
            try:
                fresh = _ensure_sandbox(self.settings)
            except LabError as exc:
                print(exc)
                return None
            if fresh.message:
                print(fresh.message)
            if fresh.url != self.endpoint_url:
                print("The sandbox moved to a new address; run your lesson's Setup cell again.")
                return None
            self.sandbox = fresh
        return 0

    def whoami(self, session: Any = None) -> Identity:
        """Who the console identity (or `session`) is, as `aws sts get-caller-identity` says."""
        sts = self.client("sts") if session is None else self.client_for(session, "sts")
        got = sts.get_caller_identity()
        return Identity(got["UserId"], got["Account"], got["Arn"])

    def banner(self) -> str:
        """One line: backend, region, who you are (masked)."""
        where = "Sandbox (simulated AWS, free)" if self.simulated else "REAL AWS account"
        if self._stock_moto:
            where = "Sandbox (stock moto server)"
        key = f" with key {mask_key_id(self.console_key.access_key_id)}" if self.console_key else ""
        return (f"{where} · account {self.identity.account} · region {REGION} · "
                f"you are {self.identity.name}{key}")

    def __repr__(self) -> str:
        return self.banner()

    def _repr_html_(self) -> str:
        colour = "#1b5e20" if self.simulated else "#b71c1c"
        lines = [f"<b style='color:{colour}'>{html.escape(self.banner())}</b>"]
        if self.message:
            lines.append(html.escape(self.message))
        return "<div class='labkit-banner'>" + "<br>".join(lines) + "</div>"


_lock = threading.RLock()
_current: Lab | None = None
_loader: Any = None


def new_session(*, profile_name: str | None = None, config: dict[str, str] | None = None,
                **credentials: Any) -> Any:
    """A boto3 session; all of them share one botocore data loader, so a new session's first
    client takes milliseconds instead of a tenth of a second (the service models load once)."""
    global _loader
    import boto3
    import botocore.session

    core = botocore.session.Session(profile=profile_name)
    for name, value in (config or {}).items():
        core.set_config_variable(name, value)
    with _lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
            _loader.file_loader = plain_json_loader()
        else:
            core.register_component("data_loader", _loader)
    return boto3.session.Session(botocore_session=core, region_name=REGION, **credentials)


def _own_sandbox(cfg: Settings) -> bool:
    """True when LABKIT_SANDBOX_URL names the sandbox this LABKIT_HOME started (binder/start):
    then the lab may restart it like its own."""
    return (read_json(cfg.home / STATE) or {}).get("url") == cfg.sandbox_url.rstrip("/")


def _ensure_sandbox(cfg: Settings) -> Any:
    from labkit import sandbox
    from labkit.sandbox.owner import parse

    try:
        if cfg.sandbox_url and not _own_sandbox(cfg):
            return sandbox.attach(cfg.sandbox_url, cfg.home)
        return sandbox.ensure(cfg.home, owner=parse(cfg.server_process))
    except (sandbox.HomeError, sandbox.SandboxError) as exc:
        raise LabError(str(exc)) from None


def connect(*, refresh: bool = False) -> Lab:
    """The lab's connection for this kernel: sandbox by default, real AWS when asked for."""
    global _current
    cfg = settings()
    with _lock:
        if (_current is not None and not refresh and _current.settings == cfg
                and (not _current.simulated or _still_up(_current))):
            return _current
        _current = _connect_sandbox(cfg) if cfg.backend == "sandbox" else _connect_aws(cfg)
        return _current


def _still_up(lab: Lab) -> bool:
    from labkit.sandbox import attach_running

    if lab.settings.sandbox_url:
        return True
    found = attach_running(lab.settings.home)
    return found is not None and found.instance == lab.sandbox.instance


def _connect_sandbox(cfg: Settings) -> Lab:
    # Import boto3 meanwhile: its imports overlap the sandbox's start-up (two processes, two cores).
    warm = threading.Thread(target=importlib.import_module, args=("boto3",), daemon=True)
    warm.start()
    box = _ensure_sandbox(cfg)
    warm.join()
    key = box.console
    session = new_session(aws_access_key_id=key.access_key_id,
                          aws_secret_access_key=key.reveal_secret())
    lab = Lab(settings=cfg, session=session, identity=_console_identity(key), console_key=key,
              endpoint_url=box.url, sandbox=box, message=box.message)
    if not box.labkit:
        lab.identity = lab.whoami()
    _write_sandbox_files(lab)
    _export_for_child_processes(lab)
    return lab


def _console_identity(key: AccessKey) -> Identity:
    """Who the console identity is: labkit's own sandbox made it itself, so no need to ask."""
    return Identity("", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/{key.user_name}")


def _write_sandbox_files(lab: Lab) -> None:
    """The sandbox's own AWS CLI files: [console] for the admin, [default] until `aws configure`.
    A damaged one (the lab's own, in LABKIT_HOME) is moved aside and written afresh."""
    from labkit.profiles import ProfileFileError, configure_profile, read_profile

    files = lab.cli_files
    try:
        read_profile("default", **files)
    except ProfileFileError as exc:
        moved = []
        for path in (lab.credentials_file, lab.config_file):
            try:
                read_profile("default", credentials_file=path, config_file=path.with_name(
                    ".labkit-none"))
            except ProfileFileError:
                aside = path.with_name(path.name + ".damaged")
                os.replace(path, aside)
                os.chmod(aside, 0o600)  # it may hold keys
                moved.append(f"{path} to {aside}")
        why = str(exc).split(", so ")[0]
        lab.message = " ".join(filter(None, [lab.message, (
            f"{why}, so the lab moved it aside ({'; '.join(moved)}) and wrote a fresh one: "
            "[default] is the console admin again; run `aws configure` again if you had.")]))
    key = lab.console_key
    assert key is not None
    configure_profile("console", key, region=REGION, **files)
    if read_profile("default", **files) is None:
        configure_profile("default", key, region=REGION, **files)


def sandbox_for_server(cfg: Settings) -> tuple[Any, dict[str, str]]:
    """The Jupyter server's sandbox (started or found) and what a terminal needs to reach it.

    Writes the sandbox's CLI files too, so `aws` works in a terminal before any lesson ran. No
    boto3 here: the server process stays small."""
    box = _ensure_sandbox(cfg)
    lab = Lab(settings=cfg, session=None, console_key=box.console, endpoint_url=box.url,
              sandbox=box, identity=_console_identity(box.console))
    _write_sandbox_files(lab)
    return box, env_exports(lab)


def env_exports(lab: Lab) -> dict[str, str]:
    """What a shell needs to reach the lab's sandbox (`python -m labkit env`)."""
    return {
        "AWS_ENDPOINT_URL": lab.endpoint_url or "",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_SHARED_CREDENTIALS_FILE": str(lab.credentials_file),
        "AWS_CONFIG_FILE": str(lab.config_file),
    }


# Variables that would make a child process (`!aws ...`, a terminal's `aws`) sign with something
# else than the lab's files.
SHADOWING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN")


def _export_for_child_processes(lab: Lab) -> None:
    # `!aws ...` in a lesson runs in a child of the kernel: point it at the sandbox, never ~/.aws.
    for name in SHADOWING:
        os.environ.pop(name, None)
    os.environ.update(env_exports(lab))


def _connect_aws(cfg: Settings) -> Lab:
    from botocore.exceptions import BotoCoreError, ClientError

    if cfg.binder:
        raise LabError(
            "Real AWS is switched off on Binder: a Binder session is public and short-lived, so "
            "never type real keys there. Unset LABKIT_BACKEND to use the free sandbox."
        )
    from labkit.profiles import ProfileFileError, read_profile

    try:  # botocore would only say "Unable to parse config file"; say which line, and what to do
        read_profile(cfg.aws_profile or "default", credentials_file=cfg.credentials_file,
                     config_file=cfg.config_file)
    except (ProfileFileError, ValueError) as exc:
        raise LabError(str(exc)) from None
    try:
        session = new_session(profile_name=cfg.aws_profile)
        lab = Lab(settings=cfg, session=session, identity=Identity("", "", ""))
        lab.identity = lab.whoami()
    except (BotoCoreError, ClientError) as exc:
        raise LabError(
            f"The lab could not sign in to AWS ({exc}). Check your credentials with "
            "`aws sts get-caller-identity`, or unset LABKIT_BACKEND to use the sandbox."
        ) from None
    guard_identity(lab.identity, cfg)
    return lab


def guard_identity(identity: Identity, cfg: Settings) -> None:
    """Real-AWS guardrails on who is signing: never root, and only the confirmed account."""
    if identity.is_root:
        raise LabError(
            "These are root user credentials. The root user can do anything in the account and "
            "should never have access keys: the tutorial makes keys for an IAM user instead. "
            "Sign in as an IAM user (or role) allowed to manage IAM users, and try again."
        )
    if cfg.aws_account != identity.account:
        raise LabError(
            f"You are about to use the real AWS account {identity.account} as "
            f"{identity.name}. The lab will create (and later delete) an IAM user and keys "
            f"there. To confirm, set LABKIT_AWS_ACCOUNT={identity.account} and run again."
        )


def client_for(session_or_key: Any, service: str) -> Any:
    """A client for `service` from a boto3 session or AccessKey, aimed at the lab's AWS."""
    return connect().client_for(session_or_key, service)
