"""The connection, opened while the command imports what stores the draft.

Before it can speak IMAP, ``brz imap-send`` imports imapclient, email and
the plugin's modules (70-90 ms on a slow machine), and ``brz send`` does
the same once Breezy has built the directive; the connection takes a round
trip, the TLS handshake of imaps one more, and making the TLS context
(the system's CAs read) some 20 ms.  ``start`` does all of that in a thread
meanwhile, and ``session.connect`` takes the connection (``take``) where
it would have opened one.

Nothing is sent but the TLS handshake, and the input has been read
(standard input too) before ``start``: the greeting and the login come
where they always did, the password is looked up only once the
certificate is checked.  A connection nobody took is closed (``discard``);
a failure (refused, no such host, a certificate that does not check out)
is raised where the connection is taken, as it would have been raised
there.
"""

from __future__ import annotations

import functools
import socket
import threading
from typing import TYPE_CHECKING, Callable, Optional

from breezy import trace

if TYPE_CHECKING:
    import ssl

    from .settings import IMAPSettings


class Opening(threading.Thread):
    """Opens the connection ``settings`` say, TLS included for imaps; once
    abandoned, closes what it opened."""

    def __init__(self, settings: IMAPSettings) -> None:
        super().__init__(name="imapclient: early connection", daemon=True)
        self.settings = settings
        self.context: Optional[ssl.SSLContext] = None  # imaps: the one used
        self.error: Optional[BaseException] = None
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()
        self._abandoned = False

    def run(self) -> None:
        try:
            sock = self._open()
        except BaseException as e:  # raised again where it is taken
            self.error = e
            return
        with self._lock:
            if not self._abandoned:
                self._sock = sock
                return
        sock.close()

    def _open(self) -> socket.socket:
        settings = self.settings
        secure = None
        if settings.security == "imaps":
            from .tls_context import tls_context

            self.context = tls_context(settings)
            secure = functools.partial(self.context.wrap_socket,
                                       server_hostname=settings.host)
        return new_connection(settings.host, settings.port, settings.timeout, secure)

    def connection(self, timeout: Optional[float]) -> socket.socket:
        """The connection (secured for imaps), once; what stopped it, raised."""
        if self.error is not None:
            raise self.error
        with self._lock:
            sock, self._sock = self._sock, None
        trace.mutter("imapclient: connection opened while the command started%s",
                     " (TLS too)" if self.context is not None else "")
        sock.settimeout(timeout)
        return sock

    def abandon(self) -> None:
        """Close the connection unless it was taken, now or (still opening)
        once open: nobody waits for a connection nobody wants."""
        with self._lock:
            self._abandoned = True
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def new_connection(host: str, port: int, timeout: Optional[float],
                   secure: Optional[Callable[[socket.socket], socket.socket]] = None,
                   ) -> socket.socket:
    """A new connection to ``host`` on ``port``, ``secure`` (a TLS
    handshake) applied to it; closed again if that fails."""
    sock = socket.create_connection((host, port), timeout)
    if secure is None:
        return sock
    try:
        return secure(sock)
    except BaseException:
        sock.close()
        raise


_opening: Optional[Opening] = None


def start(settings: IMAPSettings) -> None:
    """Begin opening the connection ``settings`` say (not a tunnel's)."""
    global _opening
    discard()
    if settings.tunnel:
        return
    _opening = Opening(settings)
    _opening.start()


def take(settings: IMAPSettings) -> Optional[Opening]:
    """The connection opened early for ``settings``, waited for; None if
    there is none for them (one for others is closed)."""
    global _opening
    opening, _opening = _opening, None
    if opening is None:
        return None
    if opening.settings != settings:
        opening.abandon()
        return None
    try:
        opening.join()
    except BaseException:  # interrupted
        opening.abandon()
        raise
    return opening


def discard() -> None:
    """Close the connection opened early if nothing took it."""
    global _opening
    opening, _opening = _opening, None
    if opening is not None:
        opening.abandon()
