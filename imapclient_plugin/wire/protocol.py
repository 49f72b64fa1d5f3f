"""imaplib and imapclient, adapted: IMAPClient over bounded reads and
writes (``transport``), over a tunnel too, trusting the capabilities a
greeting lists (or those remembered, where it lists none).  This module
and ``pipelining`` are the only ones that reach into the libraries'
private parts; ``tests/test_wire.py`` names each reach, and pins the
imapclient releases ``setup.py`` allows.
"""

from __future__ import annotations

import imaplib
import socket
from typing import Callable, Optional

import imapclient
from imapclient import exceptions as imap_exceptions
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.tls import IMAP4_TLS, wrap_socket

from .transport import BoundedIO, PipeIO

LITERAL_MINUS_MAX = 4096  # RFC 7888: LITERAL- allows this much unsynchronised


class _GreetingCapabilities:
    """imaplib mixin: use ``* OK [CAPABILITY ...]`` instead of asking again;
    where the greeting has none, the ``remembered`` list (from an earlier
    connection) if given, else ask.  ``capabilities_source`` says which.

    After STARTTLS (imapclient 4 has imaplib call this again) nothing is
    asked here: ``Client.capabilities`` asks once over TLS.

    ``before_greeting(self)`` is called once connected (and past the TLS
    handshake), tags set up, before the greeting is read: work done there
    takes no time of its own while the greeting is on its way.
    """

    _greeted = False
    capabilities_source = "asked"

    def __init__(self, *args, remembered: Optional[tuple] = None,
                 before_greeting: Optional[Callable[[object], None]] = None,
                 **kwargs) -> None:
        self._remembered = remembered
        self._before_greeting = before_greeting
        super().__init__(*args, **kwargs)

    def _connect(self) -> None:
        # imaplib: the greeting is one line.  Courier (without gamin, over
        # a tunnel) sends "* OK [ALERT] ..." first and "* PREAUTH" after
        # it: read by the time the capabilities are asked for.
        super()._connect()
        if self.state == "NONAUTH" and "PREAUTH" in self.untagged_responses:
            self.state = "AUTH"

    def _get_response(self):
        if self._before_greeting is not None:  # the first read: the greeting
            before_greeting, self._before_greeting = self._before_greeting, None
            before_greeting(self)
        return super()._get_response()

    def presume_remembered(self) -> bool:
        """Before the greeting: take the remembered capabilities for now
        (the greeting's, if it has any, replace them); False if none."""
        if not self._remembered:
            return False
        self._set_remembered()
        return True

    def _set_remembered(self) -> None:
        self.capabilities_source = "remembered"
        self.capabilities = tuple(str(c, "ascii").upper() for c in self._remembered)

    def _get_capabilities(self) -> None:
        if self._greeted:
            self.capabilities = ()
            return
        self._greeted = True
        from_greeting = self.untagged_responses.pop("CAPABILITY", None)
        if from_greeting:
            self.capabilities_source = "greeting"
            self.capabilities = tuple(
                str(from_greeting[-1], self._encoding).upper().split())
        elif self._remembered and self.state == "NONAUTH":
            self._set_remembered()
        else:
            super()._get_capabilities()


class _PlainIMAP4(_GreetingCapabilities, BoundedIO, IMAP4WithTimeout):
    pass


class _TLSIMAP4(_GreetingCapabilities, BoundedIO, IMAP4_TLS):

    def secured(self, sock: socket.socket) -> socket.socket:
        return wrap_socket(sock, self.ssl_context, self.host)


class _TunnelIMAP4(_GreetingCapabilities, PipeIO, imaplib.IMAP4):
    """IMAP over a command's standard input and output."""

    def __init__(self, command: str, timeout: Optional[float], **extra) -> None:
        super().__init__(command, None, timeout, **extra)


class Client(imapclient.IMAPClient):
    """IMAPClient over bounded reads and writes (``transport``), which
    trusts the greeting's capabilities and works over a tunnel
    (``stream=True``).

    This replaces ``_create_IMAP4``, so it follows imapclient's constructor.
    """

    def __init__(self, *args, remembered_capabilities: Optional[tuple] = None,
                 before_greeting: Optional[Callable[["Client"], None]] = None,
                 **kwargs) -> None:
        self._remembered_capabilities = remembered_capabilities
        self._before_greeting = before_greeting
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self):
        timeout = getattr(self._timeout, "connect", None)
        extra = dict(remembered=self._remembered_capabilities,
                     before_greeting=self._greeting_due if self._before_greeting else None)
        if self.stream:
            return _TunnelIMAP4(self.host, timeout, **extra)
        if self.ssl:
            return _TLSIMAP4(self.host, self.port, self.ssl_context, timeout, **extra)
        return _PlainIMAP4(self.host, self.port, timeout, **extra)

    def _greeting_due(self, imap) -> None:
        """``before_greeting``, given this client (its connection is set a
        little before imapclient would set it)."""
        self._imap = imap
        self._before_greeting(self)

    def _set_read_timeout(self) -> None:
        # imapclient 4.1.0 sets it on the socket, which a tunnel (pipes)
        # does not have: its constructor crashes with stream=True.  The
        # timeouts are the transport's in any case.
        pass

    _capabilities_over_tls: Optional[tuple] = None

    def starttls(self, ssl_context=None):
        """STARTTLS as imapclient does it (each version its own way); then
        refuse anything the server sent in plaintext before the handshake,
        and forget every capability it announced before it."""
        response = super().starttls(ssl_context)
        if self._imap.pending_input():
            raise imap_exceptions.IMAPClientAbortError(
                "the server sent data in plaintext after STARTTLS, before the"
                " TLS handshake")
        self._imap.untagged_responses.pop("CAPABILITY", None)
        return response

    def capabilities(self) -> tuple:
        # imapclient asks again on every call between STARTTLS and login:
        # once is what RFC 2595 asks for.
        if self._starttls_done and self._imap.state == "NONAUTH":
            if self._capabilities_over_tls is None:
                self._capabilities_over_tls = self._do_capabilites()
            return self._capabilities_over_tls
        return super().capabilities()


def link(client: imapclient.IMAPClient) -> imaplib.IMAP4:
    """The imaplib connection under ``client``: its ``state``, the
    ``capabilities`` it works with and where they came from, its socket."""
    return client._imap


def known_capabilities(client: imapclient.IMAPClient) -> tuple:
    """The capabilities known without asking: those announced at or after
    login where cached, else those from before it.  (Asking could put a
    command behind a LOGOUT or into a literal already under way.)"""
    announced = client._imap.untagged_responses.get("CAPABILITY")
    if announced and not client._cached_capabilities:
        client._cached_capabilities = client._normalise_capabilites(announced[-1])
    if client._cached_capabilities:
        return client._cached_capabilities
    return tuple(c.encode("ascii") if isinstance(c, str) else c
                 for c in client._imap.capabilities)


def can_login_in_one_turn(client: imapclient.IMAPClient) -> bool:
    capabilities = client.capabilities()
    return b"SASL-IR" in capabilities and b"AUTH=PLAIN" in capabilities


def unsynchronised_allowed(client: imapclient.IMAPClient, size: int) -> bool:
    capabilities = client.capabilities()
    return b"LITERAL+" in capabilities or (
        b"LITERAL-" in capabilities and size <= LITERAL_MINUS_MAX)
