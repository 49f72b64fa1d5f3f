"""What the tests need of any IMAP server they start, and helpers for it."""

from __future__ import annotations

import socket
import time

import imapclient


class ServerUnavailable(Exception):
    """The server is not installed or cannot run here."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_greeting(host: str, port: int, timeout: float) -> None:
    """Return once the server says ``* OK``; ServerUnavailable after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), 1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise ServerUnavailable("no IMAP greeting on %s:%d" % (host, port))


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
