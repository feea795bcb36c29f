"""Errors in the protocol the caller speaks: JSON for the X-Amz-Target APIs (CloudWatch Logs,
and others), XML for the query APIs (IAM, STS, SNS, EC2).

moto raises its authorization errors (AccessDenied, ExpiredToken, ...) as XML whatever the
service, so botocore could not read them from a JSON service: a learner saw "An error occurred
(403)" and an XML page as the message. The server passes such an answer through
`json_error_from_xml`, which says the same in the JSON envelope AWS uses, with AWS's JSON name
for access denied (AccessDeniedException, HTTP 400, as AWS's common errors list it).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

# The XML error codes whose JSON services' names differ (AWS's common errors).
JSON_NAMES = {"AccessDenied": ("AccessDeniedException", 400)}

_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


def speaks_json(environ: dict[str, Any]) -> bool:
    """True for a JSON-protocol request (an X-Amz-Target header and a JSON body)."""
    return bool(environ.get("HTTP_X_AMZ_TARGET")) and "json" in environ.get("CONTENT_TYPE", "")


def json_error_from_xml(environ: dict[str, Any], status: int,
                        body: bytes) -> tuple[str, int, str] | None:
    """(code, HTTP status, message) to answer in JSON instead of moto's XML error `body`, or
    None when the request is not a JSON one or the answer is not an XML error."""
    if status < 400 or not speaks_json(environ):
        return None
    code = _CODE.search(body)
    if code is None:
        return None
    message = _MESSAGE.search(body)
    name, new_status = JSON_NAMES.get(code.group(1).decode(), (code.group(1).decode(), status))
    return name, new_status, unescape(message.group(1).decode()) if message else ""
