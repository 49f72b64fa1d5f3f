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

from .imap_server import ProcessServer, ServerUnavailable, free_port
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


class HoodiecrowServer(ProcessServer):
    """``users`` maps user names to passwords."""

    drafts_folder = "[Gmail]/Drafts"

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def start(self) -> None:
        module = os.environ.get("HOODIECROW_MODULE", "")
        node = shutil.which("node")
        if not node or not os.path.isdir(module):
            raise ServerUnavailable(
                "hoodiecrow-imap is not installed (npm install hoodiecrow-imap,"
                " and HOODIECROW_MODULE naming its folder)")
        self.port = free_port()
        launcher = os.path.join(self.make_root("brz-imap-hoodiecrow-"), "launch.js")
        with open(launcher, "w") as f:
            f.write(LAUNCHER)
        options = {"port": self.port, "server": {
            "plugins": PLUGINS, "storage": GMAIL_FOLDERS,
            "users": {user: {"password": password}
                      for user, password in self.users.items()}}}
        self.run([node, launcher, json.dumps(options)])
