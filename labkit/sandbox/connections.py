"""Who may talk to the sandbox: its owner's processes only, from any loopback address.

Every connection is judged in the accepting thread, before a thread is started or a byte is
read: the kernel's table of TCP sockets (/proc/net/tcp on Linux; elsewhere the owner's own
processes' sockets, through psutil) names the OS user at the other end. Another user's
connection, or one whose user cannot be told, is closed at once.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from typing import Any

OWNER_IDLE_TIMEOUT = 120.0
# The listen queue: a flood of connections from another user waits here, not in threads.
LISTEN_QUEUE = 1024
TCP_TABLE = "/proc/net/tcp"
# The most new connections taken from the listen queue before they are judged together.
ACCEPT_BATCH = 256


def _hex(address: tuple[str, int]) -> str:
    """An IPv4 address and port as /proc/net/tcp writes them (host byte order, upper-case hex)."""
    ip = int.from_bytes(socket.inet_aton(address[0]), "little")
    return f"{ip:08X}:{address[1]:04X}"


def peer_uids(clients: list[tuple[str, int]], server: tuple[str, int],
              table: str = TCP_TABLE) -> dict[tuple[str, int], int]:
    """The OS user owning each client's end of a TCP connection to `server`, for those found.

    One read of the table serves a whole batch of new connections: a flood of them costs one
    read per batch, not one per connection."""
    if not os.path.exists(table):
        return {c: uid for c in clients if (uid := _peer_uid_elsewhere(c, server)) is not None}
    wanted = {_hex(c): c for c in clients}
    server_hex = _hex(server)
    found: dict[tuple[str, int], int] = {}
    try:
        with open(table) as fh:
            for line in fh:
                fields = line.split(maxsplit=8)
                if len(fields) > 7 and fields[2] == server_hex and fields[1] in wanted:
                    found[wanted[fields[1]]] = int(fields[7])
    except (OSError, ValueError):
        return {}
    return found


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The OS user owning the client's end of a TCP connection to `server`, None if unknown."""
    return peer_uids([client], server).get(client)


def _peer_uid_elsewhere(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """Without /proc/net/tcp (macOS): find the client among this user's own processes' sockets.

    Only the owner's processes can be inspected, so anything found is the owner's; another
    user's connection is never found and is refused."""
    import psutil

    me = os.getuid()
    for proc in psutil.process_iter(["uids"]):
        try:
            if proc.info["uids"] is None or proc.info["uids"].real != me:
                continue
            sockets = getattr(proc, "net_connections", None) or proc.connections  # psutil < 6
            for conn in sockets(kind="tcp4"):
                if conn.laddr and conn.raddr and tuple(conn.laddr) == client \
                        and tuple(conn.raddr) == server:
                    return me
        except (psutil.Error, AttributeError):
            continue
    return None


def owners_only(clients: list[tuple[str, int]], server: tuple[str, int],
                owner: int) -> set[tuple[str, int]]:
    """The clients that are the owner's; one not in the table yet (just made) is looked up once
    more, then refused: unknown is never the owner."""
    uids = peer_uids(clients, server)
    missing = [c for c in clients if c not in uids]
    if missing:
        time.sleep(0.001)
        uids.update(peer_uids(missing, server))
    return {c for c in clients if uids.get(c) == owner}


def make_server(port: int, app: Any, handler: Any, tls: ssl.SSLContext | None = None) -> Any:
    """A threaded WSGI server on 127.0.0.1 that serves only this OS user's connections, over
    TLS when given a context (the handshake runs in the connection's own thread)."""
    from werkzeug.serving import ThreadedWSGIServer

    class OwnerOnlyServer(ThreadedWSGIServer):
        """Serves the owner's connections; everyone else's is closed unread."""

        request_queue_size = LISTEN_QUEUE
        owner = os.getuid()

        def server_activate(self) -> None:
            super().server_activate()
            self.socket.setblocking(False)  # accept what is waiting, then judge it in one go

        def _handle_request_noblock(self) -> None:
            batch = []
            while len(batch) < ACCEPT_BATCH:
                try:
                    batch.append(self.get_request())
                except OSError:  # nothing more waiting (or a client that already left)
                    break
            mine = owners_only([a for _, a in batch], self.server_address, self.owner)
            for request, address in batch:
                if address not in mine:
                    self.shutdown_request(request)  # closed at once: no thread, no byte read
                    continue
                request.settimeout(OWNER_IDLE_TIMEOUT)
                try:
                    self.process_request(request, address)
                except Exception:  # noqa: BLE001 - as socketserver does: log, close, go on
                    self.handle_error(request, address)
                    self.shutdown_request(request)

        def finish_request(self, request: Any, client_address: Any) -> None:
            if tls is None:
                super().finish_request(request, client_address)
                return
            try:
                wrapped = tls.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return  # no TLS handshake (or not ours): nothing was read, nothing answered
            try:
                super().finish_request(wrapped, client_address)
            finally:
                wrapped.close()

    server = OwnerOnlyServer("127.0.0.1", port, app, handler=handler)
    server.ssl_context = tls  # werkzeug then says https to the application
    return server
