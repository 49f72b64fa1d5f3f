"""What the proxy makes a server do besides breaking an upload: other
logins, greetings and capabilities (GMail's, Courier's rule), endless or
giant replies, a slow link, counted commands."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from typing import Optional

from .proxy import (AppendFaults, Cut, Faults, Filter, Reply, hide_capability)


class OAuth2Server(Faults):
    """Speaks XOAUTH2 and OAUTHBEARER (RFC 7628) for the server behind it.

    A right ``token`` for ``user`` becomes an AUTHENTICATE PLAIN with the
    real password; a wrong one gets the error challenge, and the client's
    answer to it is recorded before the NO.
    """

    MECHANISMS = (b"XOAUTH2", b"OAUTHBEARER")

    def __init__(self, user: str, token: str, password: str) -> None:
        self.user, self.token, self.password = user, token, password
        self.pending: Optional[tuple[bytes, bytes]] = None  # (tag, mechanism)
        self.failed_tag: Optional[bytes] = None
        self.answers_to_error: list[bytes] = []
        self.responses: list[bytes] = []
        self._line = b""

    def from_server(self, line: bytes) -> bytes:
        return line.replace(b" AUTH=PLAIN", b" AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER")

    def from_client(self, chunk: bytes) -> bytes:
        """The SASL exchange is handled a whole line at a time (imaplib may
        send a response and its CRLF separately); the rest passes as is."""
        in_exchange = self.pending is not None or self.failed_tag is not None
        if not (in_exchange or self._line or _is_authenticate(chunk)):
            return chunk
        self._line += chunk
        if not self._line.endswith(b"\n"):
            return b""
        line, self._line = self._line, b""
        return self._exchange(line)

    def _exchange(self, chunk: bytes) -> bytes:
        words = chunk.split()
        if self.failed_tag is not None:
            self.answers_to_error.append(chunk.strip())
            tag, self.failed_tag = self.failed_tag, None
            raise Reply(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
        if self.pending is not None:
            return self._check(chunk.strip())
        if len(words) >= 3 and words[1].upper() == b"AUTHENTICATE" \
                and words[2].upper() in self.MECHANISMS:
            self.pending = (words[0], words[2].upper())
            if len(words) > 3:  # SASL-IR
                return self._check(words[3])
            raise Reply(b"+ \r\n")
        return chunk

    def _check(self, response: bytes) -> bytes:
        tag, mechanism = self.pending
        self.pending = None
        decoded = base64.b64decode(response)
        self.responses.append(mechanism + b" " + decoded)
        if mechanism == b"XOAUTH2":
            expected = b"user=%s\x01auth=Bearer %s\x01\x01" % (
                self.user.encode(), self.token.encode())
        else:
            expected = b"n,a=%s,\x01" % self.user.encode()
        good = decoded.startswith(expected) and (
            b"auth=Bearer %s\x01\x01" % self.token.encode()) in decoded
        if good:
            plain = base64.b64encode(("\0%s\0%s" % (self.user, self.password)).encode())
            return tag + b" AUTHENTICATE PLAIN " + plain + b"\r\n"
        self.failed_tag = tag
        error = base64.b64encode(b'{"status":"invalid_token","schemes":"Bearer"}')
        raise Reply(b"+ " + error + b"\r\n")


def _is_authenticate(chunk: bytes) -> bool:
    words = chunk.split(None, 2)
    return len(words) >= 2 and words[1].upper() == b"AUTHENTICATE"


class DripFeed(Faults):
    """The server's words arrive one byte every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def send_to_client(self, sock: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            time.sleep(self.interval)


class EndlessUntagged(Faults):
    """After the greeting the server never answers: it sends untagged lines
    (``count`` of them, ``interval`` apart) instead."""

    def __init__(self, count: int = 400, interval: float = 0.05) -> None:
        self.count, self.interval = count, interval
        self.greeted = False

    def send_to_client(self, sock: socket.socket, data: bytes) -> None:
        if not self.greeted:
            self.greeted = True
            sock.sendall(data)
            return
        for _ in range(self.count):
            sock.sendall(b"* OK [ALERT] Still working on it\r\n")
            time.sleep(self.interval)
        raise Cut()


class GiantLiteral(Faults):
    """The greeting announces a literal of ``announced`` bytes, then
    streams up to ``sent_at_most`` bytes of it; ``sent`` counts them."""

    def __init__(self, announced: int, sent_at_most: int) -> None:
        self.announced, self.sent_at_most = announced, sent_at_most
        self.sent = 0

    def send_to_client(self, sock: socket.socket, data: bytes) -> None:
        if self.sent:
            return
        sock.sendall(b"* OK Hello {%d}\r\n" % self.announced)
        block = b"x" * 65536
        while self.sent < self.sent_at_most:
            sock.sendall(block)
            self.sent += len(block)
        raise Cut()


class SlowUplink(Faults):
    """The client's data is taken at ``bytes_per_second``."""

    def __init__(self, bytes_per_second: int) -> None:
        self.client_bytes_per_second = bytes_per_second


class SlowAppendReply(AppendFaults):
    """The server stores the draft but answers ``delay`` seconds late."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def on_reply(self, line: bytes) -> bytes:
        time.sleep(self.delay)
        return line


class HideFirstSearchHit(Faults):
    """The first SEARCH answers that nothing matched (the first upload had
    not landed yet when the client looked)."""

    def __init__(self) -> None:
        self.hidden = False

    def from_server(self, line: bytes) -> bytes:
        if not self.hidden and line.startswith(b"* SEARCH"):
            self.hidden = True
            return b"* SEARCH\r\n"
        return line


class RefuseUidExpunge(Faults):
    """UID EXPUNGE is refused (a server whose policy keeps deleted mail)."""

    def from_client(self, chunk: bytes) -> bytes:
        for line in chunk.split(b"\r\n"):  # pipelined commands come together
            expunge = re.match(rb"^(\S+) UID EXPUNGE ", line, re.IGNORECASE)
            if expunge:
                raise Reply(expunge.group(1)
                            + b" NO [CANNOT] Expunging is not allowed\r\n")
        return chunk


SELECT_COMMAND = re.compile(rb"^(\S+) (SELECT|EXAMINE) (.*)\r\n$", re.IGNORECASE)
LEAVE_COMMAND = re.compile(rb"^\S+ (UNSELECT|CLOSE)\r\n$", re.IGNORECASE)
APPEND_TO = re.compile(rb"^(\S+) APPEND (\"[^\"]*\"|\S+)", re.IGNORECASE)


class CourierReadOnlyRule(Faults):
    """Courier-IMAP's rule on Dovecot: an APPEND to the mailbox this
    session has EXAMINEd (and not left: UNSELECT, CLOSE) is refused
    (SELECT is fine)."""

    def __init__(self) -> None:
        self.examined: Optional[bytes] = None
        self.refused = 0

    def from_client(self, chunk: bytes) -> bytes:
        for line in chunk.split(b"\r\n"):  # pipelined commands come together
            selected = SELECT_COMMAND.match(line + b"\r\n")
            if selected:
                examined = selected.group(2).upper() == b"EXAMINE"
                self.examined = selected.group(3).strip(b'"') if examined else None
            if LEAVE_COMMAND.match(line + b"\r\n"):
                self.examined = None
            append = APPEND_TO.match(line)
            if append and self.examined == append.group(2).strip(b'"'):
                self.refused += 1
                raise Reply(append.group(1)
                            + b" NO Current box is selected READ-ONLY.\r\n")
        return chunk


class CountCommands(Faults):
    """Records the command names the client sends."""

    def __init__(self, rewrite: Optional[Filter] = None) -> None:
        self.commands: list[bytes] = []
        self.rewrite = rewrite
        self.literal_left = 0  # bytes of a literal still to come

    def from_client(self, chunk: bytes) -> bytes:
        data = chunk
        while data:
            if self.literal_left:
                taken = data[:self.literal_left]
                self.literal_left -= len(taken)
                data = data[len(taken):]
                continue
            line, _, data = data.partition(b"\r\n")
            words = line.split(None, 2)
            if len(words) >= 2 and words[1].isalpha():
                self.commands.append(words[1].upper())
            literal = re.search(rb"\{(\d+)\+?\}$", line)
            self.literal_left = int(literal.group(1)) if literal else 0
        return chunk

    def from_server(self, line: bytes) -> bytes:
        return self.rewrite(line) if self.rewrite else line


# imapclient writes its own commands' CRLF separately: with or without.
GMAIL_RAW_SEARCH = re.compile(
    rb'^(\S+) UID SEARCH X-GM-RAW "?rfc822msgid:([^"\s]+)"?(\r\n)?$', re.IGNORECASE)


class GMailSearch(CountCommands):
    """GMail as far as a test needs it: X-GM-EXT-1, and X-GM-RAW searches
    with rfc822msgid: answered as the HEADER search Dovecot understands."""

    def __init__(self) -> None:
        super().__init__(lambda line: line.replace(b" IMAP4rev1 ",
                                                   b" IMAP4rev1 X-GM-EXT-1 "))
        self.raw_searches = 0

    def from_client(self, chunk: bytes) -> bytes:
        chunk = super().from_client(chunk)
        match = GMAIL_RAW_SEARCH.match(chunk)
        if not match:
            return chunk
        self.raw_searches += 1
        tag, message_id, crlf = match.groups()
        return b'%s UID SEARCH HEADER Message-ID "%s"%s' % (tag, message_id, crlf or b"")


class GreetingWithoutCapabilities(CountCommands):
    """A greeting that does not list the capabilities, as GMail's does not;
    LITERAL- where Dovecot says LITERAL+."""

    def __init__(self, rewrite: Optional[Filter] = None) -> None:
        super().__init__(rewrite)

    def from_server(self, line: bytes) -> bytes:
        if line.startswith(b"* OK [CAPABILITY "):
            line = b"* OK " + line.split(b"] ", 1)[1]
        return super().from_server(line.replace(b"LITERAL+", b"LITERAL-"))


class GreetingWhenSpokenTo(GreetingWithoutCapabilities):
    """As GreetingWithoutCapabilities, the greeting held until the client
    speaks, or for ``HOLD`` seconds: ``spoke_first`` says which.  With
    ``refuse``, a client that speaks first is cut off, as a server that
    will not hear a client before greeting it would."""

    HOLD = 1.0

    def __init__(self, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse
        self.spoke = threading.Event()
        self.greeted = False
        self.spoke_first: Optional[bool] = None

    def from_client(self, chunk: bytes) -> bytes:
        if not self.greeted:
            self.spoke_first = True
        self.spoke.set()
        if self.refuse and not self.greeted:
            raise Cut()
        return super().from_client(chunk)

    def from_server(self, line: bytes) -> bytes:
        if not self.greeted:
            self.spoke_first = self.spoke.wait(self.HOLD)
            self.greeted = True
            if self.refuse and self.spoke_first:
                raise Cut()
        return super().from_server(line)


class WithoutInitialResponse(GreetingWithoutCapabilities):
    """As GreetingWithoutCapabilities, and a server without SASL-IR: an
    AUTHENTICATE with an initial response is refused."""

    def __init__(self) -> None:
        super().__init__(hide_capability(b"SASL-IR"))

    def from_client(self, chunk: bytes) -> bytes:
        chunk = re.sub(rb"^(\S+) AUTHENTICATE PLAIN \S+", rb"\1 AUTHENTICATE NOSUCH",
                       chunk, flags=re.MULTILINE)
        return super().from_client(chunk)


class CutInTheListing(Faults):
    """The connection dies while the server lists the folders."""

    def from_server(self, line: bytes) -> bytes:
        if line.startswith(b"* LIST "):
            raise Cut()
        return line
