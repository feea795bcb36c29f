"""Nothing happens before authentication: the sandbox checks each AWS request's signature itself.

moto registers a request (creates the account named by `x-moto-account-id`, sets the key's
last-used date, service and region) before it checks the signature, and the trail would record
it. So the sandbox reads at most MAX_BODY bytes, verifies the SigV4 signature against the
secrets it issued, and only then hands the request to moto. A refused request changes nothing.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from labkit.sandbox import state

# The largest request body the sandbox reads. IAM's largest parameters (policy documents) are a
# few KB; AWS answers 413 to bodies over a service's limit.
MAX_BODY = 1024 * 1024

Refusal = tuple[str, int, str]

# AWS's words (Common Errors, AWS docs).
MISSING_TOKEN = ("MissingAuthenticationToken", 403, "The request must contain either a valid "
                 "(registered) AWS access key ID or X.509 certificate.")
INCOMPLETE_SIGNATURE = ("IncompleteSignature", 400,
                        "The request signature does not conform to AWS standards.")
INVALID_KEY = ("InvalidClientTokenId", 403,
               "The security token included in the request is invalid.")
WRONG_SIGNATURE = ("SignatureDoesNotMatch", 403,
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method. Consult the "
                   "service documentation for details.")
TOO_LARGE = ("RequestEntityTooLarge", 413,
             f"Request body too large: the limit is {MAX_BODY} bytes.")
OTHER_ACCOUNT = ("InvalidParameterValue", 400,
                 f"This sandbox is one AWS account ({state.ACCOUNT}); x-moto-account-id may "
                 "name no other.")
LENGTH_REQUIRED = ("MissingContentLength", 411,
                   "You must provide the Content-Length HTTP header.")

_SIGV4_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s]+)/(?P<day>\d{8})/"
                       r"(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,\s*"
                       r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]{64})$")


def body_refusal(environ: dict[str, Any]) -> Refusal | None:
    """Why the request's body will not be read at all, or None when it is small enough."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return LENGTH_REQUIRED
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return LENGTH_REQUIRED
    if length < 0:
        return LENGTH_REQUIRED
    return TOO_LARGE if length > MAX_BODY else None


def authenticate(environ: dict[str, Any], body: bytes) -> Refusal | None:
    """Why the request is refused before moto sees it, or None when it is signed with a secret
    this sandbox issued (moto then checks the key's status, expiry and permissions)."""
    auth = environ.get("HTTP_AUTHORIZATION", "").strip()
    if not auth:
        # Presigned URLs carry their signature in the query; the course uses none: refused.
        return MISSING_TOKEN
    match = _SIGV4_RE.match(auth)
    if match is None:
        return INCOMPLETE_SIGNATURE
    found = _credentials(match["key"], environ.get("HTTP_X_AMZ_SECURITY_TOKEN"))
    if found is None:
        return INVALID_KEY
    expected = _signature(environ, body, match, *found)
    if expected is None or not hmac.compare_digest(expected, match["sig"]):
        return WRONG_SIGNATURE
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID", state.ACCOUNT) != state.ACCOUNT:
        return OTHER_ACCOUNT  # moto would create that account
    return None


def _credentials(key_id: str, token: str | None) -> tuple[str, str | None] | None:
    """The secret (and session token) of an access key this sandbox issued, or None.

    An inactive key is found too: its holder proved they have the secret, and moto answers
    InvalidClientTokenId as AWS does (the trail then shows the refused use)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    if token is None:  # a user's long-term key
        key = iam_backends[state.ACCOUNT]["aws"].access_keys.get(key_id)
        return (key.secret_access_key, None) if key is not None and key.user_name else None
    for account in list(sts_backends.keys()):  # temporary credentials (moto keeps them here)
        backend = sts_backends[account]["aws"]
        for role in list(backend.assumed_roles) + list(getattr(backend, "sessions", {}).values()):
            if role.access_key_id == key_id:
                same = hmac.compare_digest(role.session_token.encode(), token.encode())
                return (role.secret_access_key, token) if same else None
    return None


def _signature(environ: dict[str, Any], body: bytes, match: re.Match[str], secret: str,
               token: str | None) -> str | None:
    """The SigV4 signature of the request as the client built it, with the issued secret."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = match["signed"].split(";")
    headers = _headers(environ)
    if "x-amz-date" not in headers or any(h not in headers for h in signed):
        return None
    if not headers["x-amz-date"].startswith(match["day"]):
        return None
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or (
        environ.get("PATH_INFO", "/") + ("?" + environ["QUERY_STRING"]
                                         if environ.get("QUERY_STRING") else ""))
    request = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"),
                         url=f"http://{headers.get('host', 'localhost')}{raw}",
                         data=body, headers={h: headers[h] for h in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    signer_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    signer = signer_class(Credentials(match["key"], secret, token), match["service"],
                          match["region"])
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers, lower-case names, from a WSGI environ."""
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
               if k.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = str(environ[name])
    return headers
