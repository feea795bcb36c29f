"""An operation the sandbox does not model gets an AWS-style error, never moto's HTML 500 page.

moto raises NotImplementedError for an operation it lacks; Flask turns that into an HTML page that
botocore cannot parse (a ResponseParserError), and the request never reaches the activity trail.
`AnswersUnmodelled` is mixed into labkit's response classes (IAM, STS, Organizations): the caller
gets AWS's InvalidAction error instead, after authentication, and the trail records it.
"""

from __future__ import annotations

from typing import Any

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
