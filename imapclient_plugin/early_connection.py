"""The TCP connection, opened while the command imports what stores the draft.

Before it can speak IMAP, ``brz imap-send`` imports imapclient, email and
the plugin's modules (70-90 ms on a slow machine), and ``brz send`` does
the same once Breezy has built the directive; the connection and the
server's greeting take a round trip or two of their own.  ``start`` opens
the connection in a thread meanwhile, and the IMAP code takes it
(``connection``) where it would have opened one.

Only the TCP connection is opened early: nothing is sent on it, the TLS
handshake and the greeting come where they always did, and the input has
been read (standard input too) before ``start``.  A connection nobody
took is closed (``discard``); a failure to connect is raised where the
connection is taken, as it would have been raised there.
"""

from __future__ import annotations

import socket
import threading
from typing import Optional

from breezy import trace

Address = tuple  # (host, port)


class _Opening(threading.Thread):
    """Connects to ``address``; once abandoned, closes what it opened."""

    def __init__(self, address: Address, timeout: Optional[float]) -> None:
        super().__init__(name="imapclient: early connection", daemon=True)
        self.address, self.timeout = address, timeout
        self.sock: Optional[socket.socket] = None
        self.error: Optional[BaseException] = None
        self._lock = threading.Lock()
        self._abandoned = False

    def run(self) -> None:
        try:
            sock = socket.create_connection(self.address, self.timeout)
        except BaseException as e:  # raised again where it is taken
            self.error = e
            return
        with self._lock:
            if not self._abandoned:
                self.sock = sock
                return
        sock.close()

    def abandon(self) -> None:
        """Close the connection, now or (still connecting) once it is open:
        nobody waits for a connection nobody wants."""
        with self._lock:
            self._abandoned = True
            sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


_opening: Optional[_Opening] = None


def start(host: str, port: int, timeout: Optional[float]) -> None:
    """Begin connecting to ``host`` on ``port`` in a thread."""
    global _opening
    discard()
    _opening = _Opening((host, port), timeout)
    _opening.start()


def connection(address: Address, timeout: Optional[float]) -> socket.socket:
    """A connection to ``address``: the one opened early if it is to that
    address (waited for if still opening), else a new one."""
    global _opening
    opening, _opening = _opening, None
    if opening is None or opening.address != address:
        if opening is not None:
            opening.abandon()
        return socket.create_connection(address, timeout)
    opening.join()
    if opening.error is not None:
        raise opening.error
    trace.mutter("imapclient: connection opened while the command started")
    opening.sock.settimeout(timeout)
    return opening.sock


def discard() -> None:
    """Close the connection opened early if nothing took it."""
    global _opening
    opening, _opening = _opening, None
    if opening is not None:
        opening.abandon()
