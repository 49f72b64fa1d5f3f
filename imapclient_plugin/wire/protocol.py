"""imaplib and imapclient, adapted: the one module that reaches into their
private parts (each reach is named in ``tests/test_wire.py``, which pins
the imapclient releases ``setup.py`` allows), and IMAP commands in fewer
round trips than imaplib sends them.

imaplib asks for CAPABILITY right after the greeting, waits for the
server's ``+`` before every literal and before the SASL response, and for
the reply to LOGOUT.  Where the server allows it, these do without:

- capabilities taken from the greeting when it carries them;
- AUTHENTICATE PLAIN with its initial response (SASL-IR, RFC 4959);
- APPEND with a non-synchronising literal (LITERAL+ / LITERAL-, RFC 7888),
  the draft streamed in chunks, with a progress bar for big ones;
- commands sent as soon as the login's OK is read (``then``; never behind
  the login before it: Cyrus IMAP drops what arrives while it
  authenticates), their replies read when wanted (``Pending``);
- commands pipelined where none can be misread if one before it fails;
- LOGOUT without waiting for the BYE (the draft is stored by then).

They drive imaplib's own tag and response machinery (``_new_tag``,
``_command_complete``), so replies, BYE and errors are handled as usual.
"""

from __future__ import annotations

import base64
import imaplib
import socket
from typing import Callable, Optional, Sequence

import imapclient
from imapclient import exceptions as imap_exceptions
from imapclient import response_parser
from imapclient.imap4 import IMAP4WithTimeout
from imapclient.tls import IMAP4_TLS, wrap_socket

from ..draft_data import DraftData
from . import commands
from .commands import LOGOUT
from .faults import reply_text
from .transport import BoundedIO, PipeIO

CRLF = b"\r\n"
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
    """IMAPClient over bounded reads and writes (``bounded_io``), which
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
        # timeouts are bounded_io's in any case.
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


class Pending:
    """Commands sent; their replies, (OK/NO/BAD, data) each, read when
    first asked for (a failed SELECT does not select)."""

    def __init__(self, imap, tags: list[bytes]) -> None:
        self._imap, self._tags = imap, tags
        self._replies: Optional[list[tuple[str, list]]] = None

    def replies(self) -> list[tuple[str, list]]:
        if self._replies is None:
            self._replies = _replies(self._imap, self._tags)
        return self._replies

    def literal(self, data: DraftData,
                then: Sequence[bytes] = ()) -> tuple[str, list, "Pending"]:
        """For the one command sent, ending in a synchronising literal: wait
        for the server's ``+``, send ``data`` (and the commands ``then``);
        the command's reply, and theirs pending.  Refused before the ``+``
        (a missing folder), nothing is sent."""
        imap, (tag,) = self._imap, self._tags
        behind = Pending(imap, [])
        while imap.tagged_commands[tag] is None:
            if imap._get_response() is None:  # "+": go ahead
                imap.send_draft(data)
                imap.send(CRLF)
                behind = send_pipelined_on(imap, then)
                break
        return _replies(imap, [tag])[0] + (behind,)


def plain_login_one_turn(
    client: imapclient.IMAPClient, username: str, password: str,
    then: Sequence[bytes] = (),
) -> Pending:
    """AUTHENTICATE PLAIN <initial response>: one command, one reply
    (LoginError if refused); then the commands ``then``.  Never before the
    reply: a server that may install a SASL security layer drops what
    arrives while it authenticates (Cyrus IMAP answers nothing to it, then
    BAD to the next login it reads into it)."""
    imap = client._imap
    response = base64.b64encode(("\0%s\0%s" % (username, password)).encode("utf-8"))
    tag = imap._new_tag()
    imap.send(tag + b" AUTHENTICATE PLAIN " + response + CRLF)
    try:
        kind, data = imap._command_complete("AUTHENTICATE", tag)
    except imap.error as e:  # BAD
        raise imap_exceptions.LoginError(str(e))
    if kind != "OK":
        raise imap_exceptions.LoginError(reply_text(data))
    imap.state = "AUTH"
    return send_pipelined(client, then)


def pipelined(client: imapclient.IMAPClient,
              lines: Sequence[bytes]) -> list[tuple[str, list]]:
    """Send the command ``lines`` at once and read their replies in order:
    one turn.  Callers say why none can be misread if one before it fails."""
    return send_pipelined(client, lines).replies()


def send_pipelined(client: imapclient.IMAPClient, lines: Sequence[bytes]) -> Pending:
    """Send the command ``lines`` at once; a ``LOGOUT`` among them ends the
    session (nothing is sent after it, and its BYE is not waited for)."""
    return send_pipelined_on(client._imap, lines)


def send_pipelined_on(imap, lines: Sequence[bytes]) -> Pending:
    tags = []
    for command in lines:
        tag = imap._new_tag()
        imap.send(tag + b" " + command + CRLF)
        if command == LOGOUT:
            imap.logout_sent = True
            break
        tags.append(tag)
    return Pending(imap, tags)


def _replies(imap, tags: list[bytes]) -> list[tuple[str, list]]:
    """(OK/NO/BAD, data) for each tag."""
    replies = []
    for tag in tags:
        try:
            replies.append(imap._command_complete("pipelined", tag))
        except imap.abort:  # a lost connection is not a reply
            raise
        except imap.error as e:  # BAD
            replies.append(("BAD", [str(e).encode()]))
    return replies


def unselected(client: imapclient.IMAPClient) -> None:
    """After a pipelined ``commands.unselect``: no folder is selected."""
    client._imap.state = "AUTH"


def leave_folder(client: imapclient.IMAPClient, folder: str) -> None:
    """Leave ``folder``, if it is selected, expunging nothing, in a turn of
    its own: UNSELECT where offered; else CLOSE, after EXAMINE where it was
    opened read-write (selecting it again read-only closes it without
    expunging, and CLOSE removes nothing from a folder opened so)."""
    imap = client._imap
    if imap.state != "SELECTED":
        return
    leave = commands.unselect(client.has_capability("UNSELECT"))
    if leave == b"CLOSE" and not imap.is_readonly:
        pipelined(client, [commands.select(folder, readonly=True), leave])
    else:
        pipelined(client, [leave])
    # The EXAMINE's, of no use (imaplib would take its READ-ONLY for a
    # change of state under the next command).
    imap.untagged_responses.clear()
    unselected(client)


def searched(client: imapclient.IMAPClient) -> list[bytes]:
    """The untagged SEARCH lines that pipelined SEARCHes left, in order."""
    return client._imap.untagged_responses.pop("SEARCH", [])


def selected(client: imapclient.IMAPClient, reply: tuple[str, list]) -> Optional[int]:
    """After a pipelined SELECT: its UIDVALIDITY if it succeeded (and the
    connection is then in the selected state), else None."""
    imap = client._imap
    validity = imap.untagged_responses.pop("UIDVALIDITY", [None])[-1]
    # EXAMINE's: imaplib takes it, unasked for, for a change of state.
    imap.is_readonly = bool(imap.untagged_responses.pop("READ-ONLY", None))
    if reply[0] != "OK":
        return None
    imap.state = "SELECTED"
    return int(validity) if validity is not None else None


def fetched(client: imapclient.IMAPClient) -> dict:
    """The FETCH data a pipelined FETCH left, by UID."""
    raw = client._imap.untagged_responses.pop("FETCH", [])
    return response_parser.parse_fetch_response(raw, True, True) if raw else {}


def listed(client: imapclient.IMAPClient, reply: tuple[str, list]) -> Optional[list]:
    """The folders a pipelined ``LIST "" "*"`` listed (as imapclient's
    ``list_folders`` gives them), or None if the server refused it."""
    _kind, data = client._imap._untagged_response(reply[0], reply[1], "LIST")
    if reply[0] != "OK":
        return None
    return client._proc_folder_list(data)


def abort(client: imapclient.IMAPClient) -> None:
    """Reset the link: what the kernel still holds never arrives."""
    client._imap.abort_connection()


def append(
    client: imapclient.IMAPClient, folder: str, data: DraftData, flags: tuple,
    then: Sequence[bytes] = (),
) -> tuple[tuple[str, list], Pending]:
    """APPEND, without waiting for ``+`` where the server allows it; the
    draft sent from the one copy given, in slices (imaplib's own APPEND
    copies it to normalise line ends it already has).  The commands
    ``then`` go right behind the draft, in its turn: the APPEND's reply
    (OK/NO/BAD, data) and theirs, pending.  (A refused APPEND leaves theirs
    unread: callers send only what changes nothing.)"""
    imap = client._imap
    if not unsynchronised_allowed(client, len(data)):
        line = commands.append(folder, flags, len(data), synchronising=True)
        kind, response, behind = send_pipelined(client, [line]).literal(data, then)
    else:
        tag = imap._new_tag()
        line = commands.append(folder, flags, len(data), synchronising=False)
        imap.send(b"%s %s%s" % (tag, line, CRLF))
        imap.send_draft(data)
        imap.send(CRLF)
        behind = send_pipelined(client, then)
        kind, response = imap._command_complete("APPEND", tag)
    return (kind, response), behind


def unsynchronised_allowed(client: imapclient.IMAPClient, size: int) -> bool:
    capabilities = client.capabilities()
    return b"LITERAL+" in capabilities or (
        b"LITERAL-" in capabilities and size <= LITERAL_MINUS_MAX)


def logout_without_waiting(client: imapclient.IMAPClient) -> None:
    """Say LOGOUT and close: the server's BYE tells us nothing we need."""
    imap = client._imap
    try:
        if not getattr(imap, "logout_sent", False):
            imap.send(imap._new_tag() + b" " + LOGOUT + CRLF)
    finally:
        imap.shutdown()
