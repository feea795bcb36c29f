"""The sandbox keeps HTTP/1.1 connections open: one TLS handshake per client, not one per call.

Tried on the wire, as a client would: two requests on one connection, two sent in one write
(werkzeug's read of what is left after an answer must not swallow the second), a client that
asks to close, and a body the sandbox refuses unread (that connection must close, or the rest
of the body would be taken for the next request). If werkzeug changes what keepalive.py relies
on, these fail.
"""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path
from typing import BinaryIO

import boto3
import pytest

from labkit import sandbox
from labkit.boto_session import sandbox_client_config
from labkit.sandbox.gate import MAX_BODY

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def _request(port: str, body: bytes = BODY, *, extra: str = "", length: int | None = None) -> bytes:
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n{extra}\r\n"
            ).encode() + body


def _answer(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    status = stream.readline()
    assert status.startswith(b"HTTP/1.1 "), status
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status.split()[1]), headers, stream.read(int(headers["content-length"]))


@pytest.fixture
def box(sandbox_home: Path) -> sandbox.Sandbox:
    return sandbox.ensure(sandbox_home)


@pytest.fixture
def wire(box: sandbox.Sandbox):
    """A TLS connection to the sandbox that trusts only its certificate."""
    port = box.url.rsplit(":", 1)[1]
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    conn = ssl.create_default_context(cafile=box.ca).wrap_socket(raw, server_hostname="127.0.0.1")
    yield conn, port
    conn.close()


def test_two_requests_share_one_connection(wire) -> None:
    conn, port = wire
    stream = conn.makefile("rb")
    for _ in range(2):
        conn.sendall(_request(port))
        status, headers, body = _answer(stream)
        # An unsigned call: refused by the gate, after its body was read whole.
        assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
        assert headers.get("connection", "").lower() != "close"


def test_two_requests_in_one_write_both_get_their_answer(wire) -> None:
    conn, port = wire
    conn.sendall(_request(port) + _request(port))
    stream = conn.makefile("rb")
    first, second = _answer(stream), _answer(stream)
    assert first[0] == second[0] == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in second[2]


def test_a_client_that_asks_to_close_is_closed(wire) -> None:
    conn, port = wire
    conn.sendall(_request(port, extra="Connection: close\r\n"))
    stream = conn.makefile("rb")
    status, headers, _ = _answer(stream)
    assert status == 403 and headers["connection"].lower() == "close"
    assert stream.read() == b""  # the sandbox closed it


def test_a_body_refused_unread_closes_the_connection(wire) -> None:
    conn, port = wire
    # Says it sends more than the limit, sends a little: the rest must not be read as a request.
    conn.sendall(_request(port, b"Action=" + b"A" * 1000, length=MAX_BODY + 1))
    stream = conn.makefile("rb")
    status, headers, body = _answer(stream)
    assert status == 413 and b"<Code>RequestEntityTooLarge</Code>" in body
    assert headers["connection"].lower() == "close"
    assert stream.read() == b""


def test_a_boto3_client_makes_one_connection_for_many_calls(
        box: sandbox.Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    key = box.console
    sts = boto3.session.Session(
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.reveal_secret(),
        region_name="us-east-1").client("sts", endpoint_url=box.url,
                                        config=sandbox_client_config(), verify=box.ca)
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        arns = {sts.get_caller_identity()["Arn"] for _ in range(20)}
    assert arns == {"arn:aws:iam::123456789012:user/console-admin"}
    opened = [r for r in caplog.records
              if "Starting new HTTPS connection" in r.getMessage()
              or "Resetting dropped connection" in r.getMessage()]
    assert len(opened) == 1, [r.getMessage() for r in opened]
