"""AWS managed policies on a stock moto server that has none (`moto_server` with its defaults).

A lesson calls `iam.attach_user_policy(PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")`
as on AWS. On such a server, a botocore hook on labkit's IAM clients maps that ARN to a customer
managed copy with the same document (from moto's own policy data), and maps the copy's ARN back
in answers, so the lesson's code and its checks read as on AWS. Said once, in one line.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

from labkit.errors import error_code

AWS_POLICY = re.compile(r"^arn:aws:iam::aws:policy/(?:.*/)?([^/]+)$")
# Calls whose PolicyArn may name an AWS managed policy (never delete or change one: AWS refuses).
OPERATIONS = ("AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "DetachUserPolicy",
              "DetachRolePolicy", "DetachGroupPolicy", "GetPolicy", "GetPolicyVersion",
              "ListPolicyVersions", "ListEntitiesForPolicy")
NOTICE = ("This moto server has no AWS managed policies, so the lab made a customer managed copy "
          "of {name} with the same permissions and uses it wherever you name the AWS one.")

_lock = threading.RLock()
_servers: dict[str, Copies] = {}


def document(name: str) -> str | None:
    """The policy document of the AWS managed policy `name`, from moto's copy of AWS's data."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data).get(name)
    return json.dumps(data["Document"]) if data else None


class Copies:
    """Which AWS managed policies one stock moto server lacks, and the copies standing in."""

    def __init__(self, account: str, admin: Callable[[], Any]) -> None:
        self.account = account
        self.admin = admin  # a factory: the console identity's IAM client, without these hooks
        self.present: dict[str, bool] = {}  # AWS ARN -> the server has the real policy
        self.copies: dict[str, str] = {}  # copy's ARN -> AWS ARN
        self.said = False

    def local(self, aws_arn: str) -> str | None:
        """The copy's ARN to use instead of `aws_arn` (None: the server has it, or no data)."""
        match = AWS_POLICY.match(aws_arn)
        if not match:
            return None
        with _lock:
            if aws_arn not in self.present:
                self.present[aws_arn] = self._server_has(aws_arn)
            if self.present[aws_arn]:
                return None
            name = match.group(1)
            arn = f"arn:aws:iam::{self.account}:policy/{name}"
            if arn not in self.copies:
                if not self._make_copy(name):
                    return None
                self.copies[arn] = aws_arn
                if not self.said:
                    self.said = True
                    print(NOTICE.format(name=name))
            return arn

    def _server_has(self, aws_arn: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.admin().get_policy(PolicyArn=aws_arn)
            return True
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return False
            raise

    def _make_copy(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        body = document(name)
        if body is None:
            return False
        try:
            self.admin().create_policy(PolicyName=name, PolicyDocument=body,
                                       Description=f"labkit's copy of the AWS managed {name}")
        except ClientError as exc:
            if error_code(exc) != "EntityAlreadyExists":
                raise
        return True

    def before_parameter_build(self, params: dict[str, Any], **_: Any) -> None:
        """Hook: name the copy where the call names an AWS managed policy the server lacks."""
        arn = params.get("PolicyArn")
        if isinstance(arn, str):
            local = self.local(arn)
            if local:
                params["PolicyArn"] = local

    def after_call(self, parsed: dict[str, Any], **_: Any) -> None:
        """Hook: show AWS's ARN wherever an answer names a copy (as AWS's answer would)."""
        if self.copies:
            _rename(parsed, self.copies)

    def register(self, client: Any) -> None:
        """Install both hooks on an IAM client."""
        for op in OPERATIONS:
            client.meta.events.register(f"before-parameter-build.iam.{op}",
                                        self.before_parameter_build)
        client.meta.events.register("after-call.iam.*", self.after_call)


def _rename(value: Any, names: dict[str, str]) -> None:
    """Replace, in place, every string in `names` found in a parsed answer (dicts and lists)."""
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        if k == "ResponseMetadata":
            continue
        if isinstance(v, str) and v in names:
            value[k] = names[v]
        else:
            _rename(v, names)


def for_server(url: str, account: str, admin: Callable[[], Any]) -> Copies:
    """The one `Copies` of the stock moto server at `url` in this process (says its line once)."""
    with _lock:
        if url not in _servers:
            _servers[url] = Copies(account, admin)
        return _servers[url]


def forget(url: str) -> None:
    """The server at `url` was reset: its copies are gone, make them again when needed."""
    with _lock:
        _servers.pop(url.rstrip("/"), None)
