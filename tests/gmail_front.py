"""A front that makes a plaintext Dovecot look like GMail to a client.

Terminates TLS 1.3 (imaps) and rewrites what the server says about itself:
a greeting without capabilities, GMail's capabilities before and after
login (SASL-IR, AUTH=PLAIN and XOAUTH2, X-GM-EXT-1, LITERAL- rather than
LITERAL+, APPENDLIMIT=35651584), its login reply.  It holds the client to
LITERAL-: a non-synchronising literal before login, or over 4096 bytes, is
refused as GMail refuses it, and counted in ``violations``.

Put a ``LatencyProxy`` in front of it for the link's delay: that one sees
TLS records, so this one notes when the APPEND's OK passed (``appended_at``).
With ``hold_greeting`` (seconds) it holds each greeting until the client
speaks, or that long: ``spoke_first`` says, for each connection, which.

Used by the tests (GMail itself cannot be reached here) and by
``benchmarks/run``.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
from typing import Optional

GREETING = b"* OK Gimap ready for requests from 127.0.0.1 bench\r\n"
BEFORE_LOGIN = (b"IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1"
                b" XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN"
                b" AUTH=OAUTHBEARER AUTH=XOAUTH")
AFTER_LOGIN = (b"IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1"
               b" UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT"
               b" LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584")
CAPABILITY_CODE = re.compile(rb"\[CAPABILITY [^\]]*\] ?")
LITERAL = re.compile(rb"\{(\d+)(\+?)\}\r\n$")
LITERAL_MINUS_MAX = 4096


class GMailProfile:
    """Serves one client connection at a time, each to a new connection to
    ``target`` (a plaintext IMAP server)."""

    def __init__(self, target: tuple[str, int], cert_chain: str, key: str,
                 hold_greeting: float = 0) -> None:
        self.target = target
        self.hold_greeting = hold_greeting
        self.spoke_first: list[bool] = []
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_3
        self.context.load_cert_chain(cert_chain, key)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.appended_at: Optional[float] = None
        self.violations: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(raw,), daemon=True).start()

    def _one(self, raw: socket.socket) -> None:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = socket.create_connection(self.target)
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            server.close()
            return
        state = {"logged_in": False, "login_tags": set(), "spoke": threading.Event()}
        lock = threading.Lock()
        threading.Thread(target=self._from_server, args=(server, client, state, lock),
                         daemon=True).start()
        self._from_client(client, server, state)

    def _from_client(self, client, server, state) -> None:
        reader = client.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    break
                state["spoke"].set()
                words = line.split(b" ", 2)
                if len(words) > 1 and words[1].upper() in (b"LOGIN", b"AUTHENTICATE"):
                    state["login_tags"].add(words[0])
                literal = LITERAL.search(line)
                if literal and literal.group(2):
                    size = int(literal.group(1))
                    if not state["logged_in"] or size > LITERAL_MINUS_MAX:
                        self.violations.append(line[:80])
                server.sendall(line)
                if literal:
                    size = int(literal.group(1))
                    while size:
                        chunk = reader.read(min(size, 1 << 16))
                        if not chunk:
                            break
                        server.sendall(chunk)
                        size -= len(chunk)
        except OSError:
            pass
        finally:
            _close(server)

    def _from_server(self, server, client, state, lock) -> None:
        reader = server.makefile("rb")
        first = True
        try:
            while True:
                line = reader.readline()
                if not line:
                    break
                if first and self.hold_greeting:
                    self.spoke_first.append(state["spoke"].wait(self.hold_greeting))
                out = self._rewritten(line, first, state)
                first = False
                client.sendall(out)
                if b"APPENDUID" in line.upper():
                    self.appended_at = time.monotonic()
        except OSError:
            pass
        finally:
            _close(client)

    @staticmethod
    def _rewritten(line: bytes, first: bool, state: dict) -> bytes:
        if first:
            return GREETING
        if line.upper().startswith(b"* CAPABILITY "):
            listed = AFTER_LOGIN if state["logged_in"] else BEFORE_LOGIN
            return b"* CAPABILITY " + listed + b"\r\n"
        tag = line.split(b" ", 1)[0]
        if tag in state["login_tags"] and line[len(tag):].startswith(b" OK"):
            state["logged_in"] = True
            return (b"* CAPABILITY " + AFTER_LOGIN + b"\r\n"
                    + tag + b" OK bench@gmail.com authenticated (Success)\r\n")
        if line.startswith(b"+ "):
            return b"+ go ahead\r\n"
        return CAPABILITY_CODE.sub(b"", line)


def _close(s) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
