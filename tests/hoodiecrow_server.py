"""hoodiecrow-imap (Node.js), a third IMAP implementation, laid out as GMail.

``[Gmail]/Drafts`` flagged \\Drafts under a ``/`` separator, X-GM-EXT-1,
SPECIAL-USE, UIDPLUS, SASL-IR and LITERAL+; in memory, one user, plaintext
on loopback.  .ci/setup installs it with npm and .ci/run names the module
in HOODIECROW_MODULE.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from .imap_server import IMAPTestServer, ServerUnavailable, free_port, wait_for_greeting

START_TIMEOUT = 20.0
PLUGINS = ["ID", "X-GM-EXT-1", "SPECIAL-USE", "UIDPLUS", "UNSELECT", "NAMESPACE",
           "AUTH-PLAIN", "SASL-IR", "LITERALPLUS"]
GMAIL_FOLDERS = {
    "INBOX": {},
    "": {"separator": "/", "folders": {"[Gmail]": {
        "flags": ["\\Noselect"],
        "folders": {
            "All Mail": {"special-use": "\\All"},
            "Drafts": {"special-use": "\\Drafts"},
            "Sent Mail": {"special-use": "\\Sent"},
            "Trash": {"special-use": "\\Trash"},
        }}}},
}
# Its X-GM-EXT-1 plugin answers X-GM-MSGID but does not announce the
# capability, as GMail does: the launcher announces it.
LAUNCHER = """\
const hoodiecrow = require(process.env.HOODIECROW_MODULE);
const options = JSON.parse(process.argv[2]);
const server = hoodiecrow(options.server);
server.registerCapability("X-GM-EXT-1");
server.listen(options.port, "127.0.0.1");
"""


class HoodiecrowServer(IMAPTestServer):
    """``users`` maps user names to passwords."""

    drafts_folder = "[Gmail]/Drafts"

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self._process = None
        self._root = None

    def start(self) -> None:
        module = os.environ.get("HOODIECROW_MODULE", "")
        node = shutil.which("node")
        if not node or not os.path.isdir(module):
            raise ServerUnavailable(
                "hoodiecrow-imap is not installed (npm install hoodiecrow-imap,"
                " and HOODIECROW_MODULE naming its folder)")
        self.port = free_port()
        self._root = tempfile.mkdtemp(prefix="brz-imap-hoodiecrow-")
        launcher = os.path.join(self._root, "launch.js")
        with open(launcher, "w") as f:
            f.write(LAUNCHER)
        options = {"port": self.port, "server": {
            "plugins": PLUGINS, "storage": GMAIL_FOLDERS,
            "users": {user: {"password": password}
                      for user, password in self.users.items()}}}
        with open(os.path.join(self._root, "server.log"), "wb") as log:
            self._process = subprocess.Popen(
                [node, launcher, json.dumps(options)], stdout=log, stderr=log,
                stdin=subprocess.DEVNULL)
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
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
