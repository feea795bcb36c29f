"""What the environment asks for: the one module of labkit that reads environment variables.

- sandbox (default): the learner's own simulated account, started on first use;
- a sandbox someone else started: `LABKIT_SANDBOX_URL=http://host:port`;
- real AWS: `LABKIT_BACKEND=aws` plus `LABKIT_AWS_ACCOUNT=<12-digit id>` to confirm which
  account, with guardrails (no root credentials, not on Binder).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("sandbox", "aws")
# Set by labkit's Jupyter server extension (`PID:START` of the server): kernels and terminals of
# that server start a sandbox that exits once the server is gone.
SERVER_PROCESS_VAR = "LABKIT_SERVER_PROCESS"


class LabError(RuntimeError):
    """The lab cannot connect as configured; the message says what to do."""


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
    # The PATH this process was given (the server extension puts this environment's bin first).
    path: str = ""


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
        path=env.get("PATH", ""),
    )


def hub_service(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The address a JupyterHub service listens on, and its URL prefix (from the hub)."""
    env = os.environ if env is None else env
    return (env.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101",
            env.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/labkit-class/")
