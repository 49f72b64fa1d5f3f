"""What the tests need of any IMAP server they start, and helpers for it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import imapclient


class ServerUnavailable(Exception):
    """The server is not installed or cannot run here."""


class ServerDidNotStart(ServerUnavailable):
    """Installed, but it did not start: a fault to show, never a skip."""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free ports: each held until all are picked (one
    at a time, the kernel may give the same one twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for_greeting(host: str, port: int, timeout: float) -> None:
    """Return once the server says ``* OK``; ServerDidNotStart after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), 1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise ServerDidNotStart("no IMAP greeting on %s:%d" % (host, port))


class IMAPTestServer:
    """Base for the servers: ``host``, ``port``, ``users`` and a look inside."""

    host = "127.0.0.1"
    port = 0
    users: dict[str, str] = {}

    def client(self, user: str) -> imapclient.IMAPClient:
        """A logged-in client, to look at what the plugin stored."""
        client = imapclient.IMAPClient(self.host, self.port, ssl=False,
                                       timeout=10)
        client.plain_login(user, self.users[user])
        return client

    def messages(self, user: str, folder: str) -> list[tuple[tuple, bytes]]:
        """(flags, raw message) of every message in ``folder`` (none if no
        such folder)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS", "RFC822"]) if uids else {}
            return [(data[b"FLAGS"], data[b"RFC822"])
                    for _uid, data in sorted(fetched.items())]


class ProcessServer(IMAPTestServer):
    """A server that runs as one child process, with a folder of its own
    (made by ``make_root``) for its files and log; killed by ``stop``."""

    start_timeout = 20.0
    _process = None
    root = None

    def make_root(self, prefix: str) -> str:
        self.root = tempfile.mkdtemp(prefix=prefix)
        return self.root

    def run(self, argv: list) -> None:
        """Start ``argv`` (listening on self.port) and wait for its greeting."""
        with open(os.path.join(self.root, "server.log"), "wb") as log:
            self._process = subprocess.Popen(argv, stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL)
        try:
            wait_for_greeting(self.host, self.port, self.start_timeout)
        except ServerUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
