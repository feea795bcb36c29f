"""An operation the sandbox does not model gets an AWS-style error, never moto's HTML 500 page.

moto raises NotImplementedError for an operation it lacks; Flask turns that into an HTML page that
botocore cannot parse (a ResponseParserError), and the request never reaches the activity trail.
`AnswersUnmodelled` is mixed into labkit's response classes (IAM, STS, Organizations): the caller
gets AWS's InvalidAction error instead, after authentication, and the trail records it. Any other
service's HTML 500 is turned into the same error by the server (`unmodelled_error`), in the
protocol the caller speaks.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from labkit.sandbox import moto_adapter

INVALID_ACTION = ("The action or operation requested is invalid. Verify that the action is "
                  "typed correctly. (The lab's sandbox does not model {service}:{action}.)")


class UnmodelledOperation(ServiceException):
    """AWS's common InvalidAction error (HTTP 400), naming what the sandbox lacks."""

    code = "InvalidAction"


class AnswersUnmodelled:
    """Mixin for a moto response class: AWS's error for an operation moto does not implement."""

    def call_action(self) -> Any:
        """moto's call_action, with InvalidAction where moto would answer an HTML 500 page."""
        try:
            return super().call_action()  # type: ignore[misc]
        except NotImplementedError:
            this: Any = self
            error = UnmodelledOperation(INVALID_ACTION.format(
                service=this.service_name, action=moto_adapter.operation(this)))
            status, headers, body = this.serialized(ActionResult(error))
            headers.pop("status", None)
            return status, headers, body


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/")


def unmodelled_error(environ: dict[str, Any], body: bytes) -> tuple[str, int, str]:
    """AWS's InvalidAction (code, HTTP status, message) for a request to an operation that moto
    answered with its HTML page: the service from the signature's scope, the operation from the
    X-Amz-Target header, the Action parameter, or the method and path (REST APIs)."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope["service"] if scope else "aws"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    form = parse_qs(body.decode("utf-8", "replace")) if b"Action=" in body else parse_qs(
        environ.get("QUERY_STRING", ""))
    action = target.rsplit(".", 1)[-1] if target else (form.get("Action") or [
        f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"])[0]
    return "InvalidAction", 400, INVALID_ACTION.format(service=service, action=action)
