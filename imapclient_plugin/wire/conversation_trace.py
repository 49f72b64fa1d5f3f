"""``brz -Dimap``: the IMAP conversation in Breezy's log, credentials redacted.

Each line sent (``C:``) and received (``S:``) is logged with ``mutter``;
literals (the draft itself) are summarised by size.  LOGIN and AUTHENTICATE
are logged without their arguments, and every client line until the
server's tagged reply to them is redacted, so SASL responses never appear;
only commands sent behind them (pipelined, with a later tag) are shown.
What of a secret was sent (``hide``) is redacted from the server's lines
too: a server may echo it in its refusal.
"""

from __future__ import annotations

import re
from typing import Optional

from breezy import debug, trace

from ..errors import printable

DEBUG_FLAG = "imap"
MAX_SHOWN = 300
CRLF = b"\r\n"
LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
SECRET_COMMANDS = (b"LOGIN", b"AUTHENTICATE")


REDACTED = b"<credentials redacted>"


def enabled() -> bool:
    return DEBUG_FLAG in debug.debug_flags


def hide(imap, forms: list[str]) -> None:
    """Never log ``forms`` (what of a password or token was sent) where
    the server says them back."""
    tracer = getattr(imap, "brz_conversation_trace", None)
    if tracer is not None:
        tracer.hidden = sorted({form.encode("utf-8") for form in forms if form},
                               key=len, reverse=True)


class ConversationTrace:
    """Wraps an ``imaplib.IMAP4``'s send/readline/read to log the traffic."""

    def __init__(self, imap) -> None:
        self._send, self._readline, self._read = imap.send, imap.readline, imap.read
        self._secret_tag: Optional[bytes] = None
        self._client_literal_left = 0
        self.hidden: list[bytes] = []
        imap.send, imap.readline, imap.read = self.send, self.readline, self.read
        imap.brz_conversation_trace = self

    def send(self, data: bytes) -> None:
        self._log_sent(data)
        return self._send(data)

    def readline(self) -> bytes:
        line = self._readline()
        if self._secret_tag and line.startswith(self._secret_tag + b" "):
            self._secret_tag = None
        shown = line.rstrip(CRLF)
        for form in self.hidden:
            shown = shown.replace(form, REDACTED)
        _log("S", shown)
        return line

    def read(self, size: int) -> bytes:
        data = self._read(size)
        trace.mutter("imap S: <literal, %d bytes>", len(data))
        return data

    def _log_sent(self, data: bytes) -> None:
        if self._client_literal_left:
            self._client_literal_left = max(0, self._client_literal_left - len(data))
            trace.mutter("imap C: <literal, %d bytes>", len(data))
            return
        if data == CRLF:
            return
        if self._secret_tag and not self._later_command(data):
            trace.mutter("imap C: <credentials redacted>")
            return
        line, _, literal_data = data.partition(CRLF)
        words = line.split(b" ", 3)
        command = words[1].upper() if len(words) > 1 else b""
        if command in SECRET_COMMANDS:
            self._secret_tag = words[0]
            keep = 3 if command == b"AUTHENTICATE" else 2  # the mechanism
            line = b" ".join(words[:keep]) + b" <credentials redacted>"
        else:
            literal = LITERAL_AT_END.search(line)
            if literal:
                self._client_literal_left = int(literal.group(1))
        _log("C", line)
        if literal_data.rstrip(CRLF):  # a literal sent with its command
            self._log_sent(literal_data)

    def _later_command(self, data: bytes) -> bool:
        """Whether ``data`` is a command tagged after the secret one (sent
        behind it), not a SASL response or a password literal."""
        prefix = self._secret_tag.rstrip(b"0123456789")
        number = re.match(re.escape(prefix) + rb"(\d+) ", data)
        return bool(number) and int(number.group(1)) > int(
            self._secret_tag[len(prefix):])


def _log(direction: str, line: bytes) -> None:
    shown = printable(line[:MAX_SHOWN].decode("utf-8", "replace"))
    more = " ... (%d bytes)" % len(line) if len(line) > MAX_SHOWN else ""
    trace.mutter("imap %s: %s%s", direction, shown, more)
