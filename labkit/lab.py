"""A connection to the lab's AWS (`Lab`): who you are, and boto3 clients aimed at the lab."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from labkit import lab_clock
from labkit.boto_session import REGION, new_session, sandbox_client_config
from labkit.child_env import sandbox_exports
from labkit.keys import AccessKey, mask_key_id
from labkit.sandbox.state import ACCOUNT
from labkit.sandbox_restart import Restarter
from labkit.settings import Settings
from labkit.stock_moto_hooks import StockMotoHooks


@dataclass(frozen=True)
class Identity:
    """The answer of `sts get-caller-identity`."""

    user_id: str
    account: str
    arn: str

    @property
    def name(self) -> str:
        """The user's (or role's) name, the last part of the ARN."""
        return self.arn.rsplit("/", 1)[-1] if "/" in self.arn else self.arn.rsplit(":", 1)[-1]

    @property
    def is_root(self) -> bool:
        """True for the account's root user."""
        return self.arn.endswith(":root")


def console_identity(key: AccessKey) -> Identity:
    """Who the console identity is: labkit's own sandbox made it itself, so no need to ask."""
    return Identity("", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/{key.user_name}")


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
    _restarter: Restarter | None = None
    _stock_hooks: StockMotoHooks | None = None

    @property
    def region(self) -> str:
        """The lab's one region."""
        return REGION

    @property
    def simulated(self) -> bool:
        """True on a sandbox (labkit's or a stock moto server), False on real AWS."""
        return self.settings.backend == "sandbox"

    @property
    def guarded(self) -> bool:
        """True in real-AWS mode: the lab then touches only what it created itself."""
        return self.settings.backend == "aws"

    @property
    def credentials_file(self) -> Path:
        """The AWS CLI credentials file the lab uses (the sandbox's own in sandbox mode)."""
        return self.settings.home / "aws" / "credentials" if self.simulated \
            else self.settings.credentials_file

    @property
    def config_file(self) -> Path:
        """The AWS CLI config file the lab uses (the sandbox's own in sandbox mode)."""
        return self.settings.home / "aws" / "config" if self.simulated \
            else self.settings.config_file

    @property
    def cli_files(self) -> dict[str, Path]:
        """The lab's CLI files, as the keyword arguments labkit.profiles takes."""
        return {"credentials_file": self.credentials_file, "config_file": self.config_file}

    def shell_exports(self) -> dict[str, str]:
        """What a shell needs to reach the lab's sandbox (`python -m labkit env`)."""
        return sandbox_exports(self.endpoint_url, self.credentials_file, self.config_file)

    def missing_fix(self, fix: str) -> bool:
        """True when the sandbox is a stock moto server without labkit's fix `fix`."""
        return self.simulated and self.sandbox is not None and fix not in self.sandbox.fixes

    @property
    def stock_moto(self) -> bool:
        """True on a stock moto server (none of labkit's fixes)."""
        return self.simulated and self.sandbox is not None and not self.sandbox.labkit

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
        """A client of `service` for a boto3 session or an AccessKey, aimed at the lab's AWS.

        On real AWS an IAM client checks the lab's tag before every change (labkit.guard); on a
        sandbox every client restarts a stopped sandbox (sandbox_restart), and on a stock moto
        server an IAM client gets stand-ins for labkit's fixes (stock_moto_hooks)."""
        session = self.session_for(session_or_key) if isinstance(session_or_key, AccessKey) \
            else session_or_key
        client = session.client(service, region_name=REGION, endpoint_url=self.endpoint_url,
                                config=sandbox_client_config() if self.simulated else None)
        if self.guarded:
            if service == "iam":
                from labkit import guard

                guard.install(client)  # every changing call checks the lab's tag first
            return client
        client.meta.events.register("needs-retry.*.*", self._restart_hook())
        if service == "iam" and self.stock_moto:
            self._stock_moto_hooks().register(client)
        return client

    def _restart_hook(self) -> Restarter:
        if self._restarter is None:
            self._restarter = Restarter(self.settings, self.endpoint_url, self._adopt)
        return self._restarter

    def _adopt(self, fresh: Any) -> None:
        self.sandbox = fresh

    def _stock_moto_hooks(self) -> StockMotoHooks:
        if self._stock_hooks is None:
            self._stock_hooks = StockMotoHooks(
                self.endpoint_url or "", self.identity.account or ACCOUNT,
                lambda: self.session.client("iam", region_name=REGION,
                                            endpoint_url=self.endpoint_url))
        return self._stock_hooks

    def now(self) -> datetime:
        """The time as this lab's AWS sees it: the sandbox's clock, or real time (UTC)."""
        return lab_clock.now(self.simulated, self.sandbox)

    def advance_clock(self, duration: str | timedelta) -> datetime:
        """Move the sandbox's clock forward (`"20m"`, `"2h"`, `"91d"`); returns the new time."""
        return lab_clock.advance(self.simulated, self.sandbox, duration)

    def whoami(self, session: Any = None) -> Identity:
        """Who the console identity (or `session`) is, as `aws sts get-caller-identity` says."""
        sts = self.client("sts") if session is None else self.client_for(session, "sts")
        got = sts.get_caller_identity()
        return Identity(got["UserId"], got["Account"], got["Arn"])

    def banner(self) -> str:
        """One line: backend, region, who you are (masked)."""
        where = "Sandbox (simulated AWS, free)" if self.simulated else "REAL AWS account"
        if self.stock_moto:
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
