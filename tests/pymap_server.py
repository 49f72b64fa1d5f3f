"""pymap, a pure-Python IMAP server, as a second implementation to test on.

It has no Drafts folder, no SPECIAL-USE and no NAMESPACE, and announces
APPENDLIMIT: the paths Dovecot does not take.
"""

from __future__ import annotations

import os
import sys

from .imap_server import ProcessServer, ServerUnavailable, free_port


class PymapServer(ProcessServer):
    """``pymap dict``: in memory, one user, plaintext on loopback."""

    def __init__(self, users: dict[str, str]) -> None:
        ((self.user, self.password),) = users.items()
        self.users = users

    def start(self) -> None:
        pymap = os.path.join(os.path.dirname(sys.executable), "pymap")
        if not os.path.exists(pymap):
            raise ServerUnavailable("pymap is not installed (pip install pymap)")
        self.port = free_port()
        self.make_root("brz-imap-pymap-")
        self.run([pymap, "--host", self.host, "--port", str(self.port), "--no-tls",
                  "--no-service", "admin", "dict", "--demo-user", self.user,
                  "--demo-password", self.password])
