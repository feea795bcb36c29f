"""What an IAM client needs on a stock moto server, which has none of labkit's sandbox fixes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.sandbox.managed_policies import for_server
from labkit.sandbox.stock_trust import TrustShim


class StockMotoHooks:
    """Stand-ins for AWS managed policies and same-account trust, registered on IAM clients.

    `plain_iam` makes an IAM client without these hooks (the stand-ins call IAM themselves; with
    the hooks they would recurse)."""

    def __init__(self, endpoint_url: str, account: str, plain_iam: Callable[[], Any]) -> None:
        self.endpoint_url = endpoint_url
        self.account = account
        self.plain_iam = plain_iam
        self._trust: TrustShim | None = None

    def register(self, iam_client: Any) -> None:
        """Register both stand-ins on `iam_client`."""
        # Managed policies a stock moto server may lack (said once per server).
        for_server(self.endpoint_url, self.account, self.plain_iam).register(iam_client)
        # Identity policies a stock moto server wants where AWS's trust policy is enough.
        if self._trust is None:
            self._trust = TrustShim(self.account, self.plain_iam)
        self._trust.register(iam_client)
