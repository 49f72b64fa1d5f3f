"""A loopback TCP proxy that delays every chunk by a fixed one-way latency
and records the traffic, to count client/server turns.

Each direction has a reader (stamps chunks on arrival) and a writer (sends
each chunk ``delay`` seconds after it arrived), so order is kept and the
link behaves like one with a round-trip time of ``2 * delay``.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Optional


class LatencyProxy:

    def __init__(self, target: tuple[str, int], delay: float, port: int = 0) -> None:
        """``port``: the same one each time, as a real server's is (0: any)."""
        self.target, self.delay = target, delay
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.events: list[tuple[float, str, bytes]] = []  # (arrival, "C"/"S", data)
        self.accepted_at: Optional[float] = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        threading.Thread(target=self._serve_one, daemon=True).start()

    def wait(self, timeout: float = 60) -> None:
        self._done.wait(timeout)

    def close(self) -> None:
        self.listener.close()

    def _serve_one(self) -> None:
        client, _ = self.listener.accept()
        self.accepted_at = time.monotonic()
        server = socket.create_connection(self.target)
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = [threading.Event(), threading.Event()]
        self._direction(client, server, "C", done[0])
        self._direction(server, client, "S", done[1])
        for event in done:
            event.wait()
        for s in (client, server):
            s.close()
        self._done.set()

    def _direction(self, source, sink, name: str, done: threading.Event) -> None:
        chunks: queue.Queue = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(1 << 20)
                except OSError:
                    data = b""
                arrival = time.monotonic()
                if data:
                    with self._lock:
                        self.events.append((arrival, name, data))
                chunks.put((arrival, data))
                if not data:
                    return

        def write() -> None:
            while True:
                arrival, data = chunks.get()
                time.sleep(max(0.0, arrival + self.delay - time.monotonic()))
                try:
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        break
                    sink.sendall(data)
                except OSError:
                    break
            done.set()

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def turns_until(self, marker: bytes) -> tuple[int, float]:
        """(turns, seconds) from connecting until the first server chunk
        containing ``marker`` reaches the client.  A turn is a run of
        traffic in one direction."""
        turns, last = 0, None
        for arrival, name, data in sorted(self.events, key=lambda e: e[0]):
            if name != last:
                turns, last = turns + 1, name
            if name == "S" and marker in data:
                return turns, arrival + self.delay - self.accepted_at
        raise ValueError("no %r in the server's replies" % marker)
