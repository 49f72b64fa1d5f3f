"""A loopback TCP proxy that can rewrite what the server says.

Sits between the plugin and a real Dovecot to make it look like another
server (say, one without AUTH=PLAIN).  Server-to-client data is handled a
line at a time, so a rewrite sees whole lines.  Bounded: it serves at most
``max_connections`` clients and stops when closed.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, Optional

LineRewrite = Callable[[bytes], bytes]


class RewritingProxy:

    def __init__(self, target: tuple[str, int],
                 rewrite_server_line: Optional[LineRewrite] = None,
                 max_connections: int = 20) -> None:
        self.target = target
        self.rewrite = rewrite_server_line or (lambda line: line)
        self.max_connections = max_connections
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.host, self.port = self.listener.getsockname()
        self._sockets: list[socket.socket] = [self.listener]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._thread.join(5)

    def _serve(self) -> None:
        for _ in range(self.max_connections):
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=10)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.rewrite),
                             daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket,
              rewrite: Optional[LineRewrite]) -> None:
        pending = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if rewrite is None:
                    sink.sendall(data)
                    continue
                pending += data
                *lines, pending = pending.split(b"\n")
                sink.sendall(b"".join(rewrite(line + b"\n") for line in lines))
            if pending:
                sink.sendall(pending)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def hide_capability(name: bytes) -> LineRewrite:
    """A rewrite that removes one capability from every line announcing it."""
    return lambda line: line.replace(b" " + name, b"")
