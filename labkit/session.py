"""Connecting: the lab's `Lab` for this kernel, on the sandbox (default) or on real AWS.

The parts live in their own modules: what the environment asks for (`settings`), boto3 sessions
(`boto_session`), the `Lab` and its clients (`lab`), finding and restarting the sandbox
(`sandbox_restart`), its CLI files (`sandbox_cli_files`), what child processes need
(`child_env`), the clock (`lab_clock`) and a stock moto server's stand-ins (`stock_moto_hooks`).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from labkit.boto_session import new_session
from labkit.child_env import point_child_processes_at
from labkit.lab import Identity, Lab, console_identity
from labkit.sandbox_cli_files import write_sandbox_files
from labkit.sandbox_restart import ensure_sandbox
from labkit.settings import LabError, Settings, settings

__all__ = ["Identity", "Lab", "LabError", "Settings", "client_for", "connect", "guard_identity",
           "sandbox_for_server", "settings"]

_lock = threading.RLock()
_current: Lab | None = None


def connect(*, refresh: bool = False) -> Lab:
    """The lab's connection for this kernel: sandbox by default, real AWS when asked for.

    On the sandbox it also changes this process's environment (child_env.point_child_processes_at):
    AWS_ENDPOINT_URL, AWS_DEFAULT_REGION and the CLI files name the sandbox, and AWS_PROFILE and
    AWS_*_KEY* are removed, so `!aws ...` in a cell reaches the sandbox, never ~/.aws."""
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
    box = ensure_sandbox(cfg)
    warm.join()
    key = box.console
    session = new_session(aws_access_key_id=key.access_key_id,
                          aws_secret_access_key=key.reveal_secret())
    lab = Lab(settings=cfg, session=session, identity=console_identity(key), console_key=key,
              endpoint_url=box.url, sandbox=box, message=box.message)
    if not box.labkit:
        lab.identity = lab.whoami()
    _write_files(lab)
    point_child_processes_at(lab.shell_exports())
    return lab


def _write_files(lab: Lab) -> None:
    """The sandbox's CLI files; what was moved aside, if anything, joins the lab's message."""
    assert lab.console_key is not None
    said = write_sandbox_files(lab.credentials_file, lab.config_file, lab.console_key)
    lab.message = " ".join(filter(None, [lab.message, said])) or None


def sandbox_for_server(cfg: Settings) -> tuple[Any, dict[str, str]]:
    """The Jupyter server's sandbox (started or found) and what a terminal needs to reach it.

    Writes the sandbox's CLI files too, so `aws` works in a terminal before any lesson ran. No
    boto3 here: the server process stays small."""
    box = ensure_sandbox(cfg)
    lab = Lab(settings=cfg, session=None, console_key=box.console, endpoint_url=box.url,
              sandbox=box, identity=console_identity(box.console))
    _write_files(lab)
    return box, lab.shell_exports()


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
