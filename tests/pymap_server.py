"""pymap, a pure-Python IMAP server, as a second implementation to test on.

It has no Drafts folder, no SPECIAL-USE and no NAMESPACE, and announces
APPENDLIMIT: the paths Dovecot does not take.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from .imap_server import IMAPTestServer, ServerUnavailable, free_port, wait_for_greeting

START_TIMEOUT = 20.0


class PymapServer(IMAPTestServer):
    """``pymap dict``: in memory, one user, plaintext on loopback."""

    def __init__(self, users: dict[str, str]) -> None:
        ((self.user, self.password),) = users.items()
        self.users = users
        self._process = None
        self._log_dir = None

    def start(self) -> None:
        pymap = os.path.join(os.path.dirname(sys.executable), "pymap")
        if not os.path.exists(pymap):
            raise ServerUnavailable("pymap is not installed (pip install pymap)")
        self.port = free_port()
        self._log_dir = tempfile.mkdtemp(prefix="brz-imap-pymap-")
        with open(os.path.join(self._log_dir, "pymap.log"), "wb") as log:
            self._process = subprocess.Popen(
                [pymap, "--host", self.host, "--port", str(self.port), "--no-tls",
                 "--no-service", "admin", "dict", "--demo-user", self.user,
                 "--demo-password", self.password],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            wait_for_greeting(self.host, self.port, START_TIMEOUT)
        except ServerUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None
        if self._log_dir:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
