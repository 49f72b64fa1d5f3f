"""A loopback TCP proxy in front of a real server, to rewrite and break things.

Between the plugin and Dovecot it can make the server look different (hide
or add a capability) or inject faults: cut the connection in the middle of
an APPEND literal, or after it but before the server's reply, answer BYE or
NO.  Server-to-client data is filtered a line at a time, client-to-server
data a chunk at a time.  Bounded: it serves at most ``max_connections``
clients and stops when closed.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Callable, Optional

Filter = Callable[[bytes], bytes]


class Cut(Exception):
    """Forward ``data``, then close both sides of the connection."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__()
        self.data = data


class Reply(Exception):
    """Do not forward this client chunk: answer the client with ``data``."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data


class Faults:
    """The filters of one proxied connection; the default changes nothing.

    ``send_to_client`` and ``send_to_server`` deliver what the filters let
    through (override them to pace it); ``client_bytes_per_second`` limits
    how fast the client's data is taken (a slow uplink)."""

    client_bytes_per_second: Optional[int] = None

    def from_client(self, chunk: bytes) -> bytes:
        return chunk

    def from_server(self, line: bytes) -> bytes:
        return line

    def send_to_client(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)

    def send_to_server(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)


class RewritingProxy:

    def __init__(self, target: tuple[str, int],
                 rewrite_server_line: Optional[Filter] = None,
                 faults: Optional[Callable[[int], Faults]] = None,
                 max_connections: int = 20,
                 receive_buffer: Optional[int] = None) -> None:
        """``faults(n)`` gives the filters of the n-th connection (from 0);
        ``receive_buffer`` makes the kernel hold little of what the client
        sends, so that a slow reader is a slow link to the client."""
        self.target = target
        self.faults = faults or (lambda n: _Rewrite(rewrite_server_line))
        self.max_connections = max_connections
        self.listener = socket.socket()
        if receive_buffer:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                     receive_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.host, self.port = self.listener.getsockname()
        self.connections = 0
        self._sockets: list[socket.socket] = [self.listener]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        for s in self._sockets:
            _close(s)
        self._thread.join(5)

    def _serve(self) -> None:
        for n in range(self.max_connections):
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            self.connections = n + 1
            server = socket.create_connection(self.target, timeout=10)
            self._sockets += [client, server]
            faults = self.faults(n)
            threading.Thread(target=_pump, daemon=True, args=(
                client, server, faults.from_client, False, faults.send_to_server,
                faults.client_bytes_per_second)).start()
            threading.Thread(target=_pump, daemon=True, args=(
                server, client, faults.from_server, True, faults.send_to_client,
                None)).start()


class _Rewrite(Faults):
    def __init__(self, rewrite: Optional[Filter]) -> None:
        self.rewrite = rewrite

    def from_server(self, line: bytes) -> bytes:
        return self.rewrite(line) if self.rewrite else line


def _pump(source: socket.socket, sink: socket.socket, filter_: Filter,
          by_line: bool, send: Callable[[socket.socket, bytes], None],
          bytes_per_second: Optional[int]) -> None:
    pending = b""
    size = 65536 if bytes_per_second is None else max(1, bytes_per_second // 20)
    try:
        while True:
            data = source.recv(size)
            if not data:
                break
            if bytes_per_second is not None:
                time.sleep(len(data) / bytes_per_second)
            if by_line:
                pending += data
                *pieces, pending = pending.split(b"\n")
                pieces = [piece + b"\n" for piece in pieces]
                if not TEXT.match(pending):  # binary (TLS after STARTTLS)
                    pieces.append(pending)
                    pending = b""
            else:
                pieces = [data]
            for piece in pieces:
                try:
                    send(sink, filter_(piece))
                except Reply as reply:
                    source.sendall(reply.data)
        if pending:
            send(sink, pending)
    except Cut as cut:
        try:
            sink.sendall(cut.data)
        except OSError:
            pass
    except OSError:
        pass
    _close(source)
    _close(sink)


TEXT = re.compile(rb"^[\t\r\x20-\x7e]*$")


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def hide_capability(name: bytes) -> Filter:
    """A rewrite that removes one capability from every line announcing it."""
    return lambda line: line.replace(b" " + name, b"")


APPEND_COMMAND = re.compile(rb"^(\S+) APPEND ", re.IGNORECASE | re.MULTILINE)


class AppendFaults(Faults):
    """Tracks the APPEND in flight, for faults that strike around it."""

    def __init__(self) -> None:
        self.append_tag: Optional[bytes] = None
        self.literal_started = False

    def from_client(self, chunk: bytes) -> bytes:
        match = APPEND_COMMAND.search(chunk)
        if match:
            self.append_tag = match.group(1)
            # Commands may come before it (pipelined behind the login), and
            # with LITERAL+ the literal may follow in the same chunk.
            command, literal = _split_line(chunk, match.start())
            if not literal:
                return chunk
            try:
                return command + b"\r\n" + self._literal(literal)
            except Cut as cut:
                raise Cut(command + b"\r\n" + cut.data)
        if self.append_tag:
            return self._literal(chunk)
        return chunk

    def _literal(self, chunk: bytes) -> bytes:
        if self.literal_started:
            return chunk
        self.literal_started = True
        return self.on_literal(chunk)

    def from_server(self, line: bytes) -> bytes:
        if self.append_tag and line.startswith(b"+"):
            return self.on_continuation(line)
        if self.append_tag and line.startswith(self.append_tag + b" "):
            return self.on_reply(line)
        return line

    def on_literal(self, chunk: bytes) -> bytes:
        return chunk

    def on_continuation(self, line: bytes) -> bytes:
        return line

    def on_reply(self, line: bytes) -> bytes:
        return line


def _split_line(chunk: bytes, start: int) -> tuple[bytes, bytes]:
    """(everything up to the end of the line at ``start``, what follows)."""
    end = chunk.find(b"\r\n", start)
    if end < 0:
        return chunk, b""
    return chunk[:end], chunk[end + 2:]


class CutInsideLiteral(AppendFaults):
    """The connection dies half-way through the draft's upload."""

    def on_literal(self, chunk: bytes) -> bytes:
        raise Cut(chunk[: len(chunk) // 2])


class CutBeforeReply(AppendFaults):
    """The server stores the draft, but its OK never arrives."""

    def on_reply(self, line: bytes) -> bytes:
        raise Cut()


class SynchronisingAppendFaults(AppendFaults):
    """A server without LITERAL+: the client waits for ``+`` to upload."""

    def from_server(self, line: bytes) -> bytes:
        return super().from_server(line.replace(b" LITERAL+", b""))


class ByeOnAppend(SynchronisingAppendFaults):
    """The server shuts down instead of accepting the literal."""

    def on_continuation(self, line: bytes) -> bytes:
        raise Cut(b"* BYE Server shutting down.\r\n")


class RefuseAppend(SynchronisingAppendFaults):
    """The server answers the APPEND with ``reply`` instead of ``+``."""

    def __init__(self, reply: bytes) -> None:
        super().__init__()
        self.reply = reply

    def on_continuation(self, line: bytes) -> bytes:
        raise Cut(self.append_tag + b" " + self.reply + b"\r\n")
