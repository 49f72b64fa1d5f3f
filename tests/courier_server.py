"""Courier-IMAP 5.0 (Debian's packages, unpacked, not installed: they
conflict with dovecot-imapd), its ``imapd`` preauthenticated over its
standard input and output, as ``imap_tunnel`` runs it (ssh to a mail
host does the same), on a Maildir of the test's own, with the settings
of Debian's /etc/courier/imapd.  .ci/setup unpacks it and .ci/run names
the folder in COURIER_ROOT.

What Courier does that others do not: it quotes the field names in a
``BODY[HEADER.FIELDS ("MESSAGE-ID")]`` reply, refuses an APPEND to a
folder the session has EXAMINEd, keeps folders under ``INBOX.``, offers
neither MOVE nor UNSELECT nor SPECIAL-USE; and where it is built with
gamin's FAM (Debian 12's 5.0, not 13's 5.2) but no ``gam_server`` runs,
it greets with ``* OK [ALERT] Filesystem notification initialization
error`` before its ``* PREAUTH``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from typing import Optional

from .imap_server import ServerUnavailable

TUNNEL = """\
#!/bin/sh
# Courier-IMAP preauthenticated as {user}: what imap_tunnel runs.
set -a
. {root}/etc/courier/imapd
set +a
export HOME={home} AUTHENTICATED={user} MAILDIR={home}/Maildir
export LD_LIBRARY_PATH={root}/usr/lib:{root}/usr/lib/x86_64-linux-gnu{gamin}
cd {home} && exec {root}/usr/bin/imapd Maildir 2>>{home}/imapd.log
"""


class BuiltWithoutGamin(Exception):
    """There is no gam_server for this Courier to talk to."""


class CourierTunnel:
    """A Maildir and the command that serves it, with gamin's gam_server
    running (``gamin``) or not."""

    def __init__(self, home: str, user: str, gamin: bool) -> None:
        self.home, self.user, self.gamin = home, user, gamin
        self.root = os.environ.get("COURIER_ROOT", "")
        self.command = os.path.join(home, "courier-tunnel")
        self._gam_server: Optional[subprocess.Popen] = None

    @property
    def imapd(self) -> str:
        return os.path.join(self.root, "usr/bin/imapd")

    def uses_fam(self) -> bool:
        """Built with gamin's File Alteration Monitor (Debian 12's)."""
        with open(self.imapd, "rb") as f:
            return b"libfam.so" in f.read()

    def start(self) -> None:
        if not os.access(self.imapd, os.X_OK):
            raise ServerUnavailable(
                "Courier-IMAP is not unpacked (bash .ci/setup matrix, and"
                " COURIER_ROOT naming the folder)")
        if self.gamin and not self.uses_fam():
            raise BuiltWithoutGamin(
                "this Courier-IMAP is built without gamin (Debian 13's)")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.home, "Maildir", sub), exist_ok=True)
        client_id = "brz-imapclient-%d-%d" % (os.getpid(), id(self))
        if self.gamin:
            self._gam_server = subprocess.Popen(
                [os.path.join(self.root, "usr/libexec/gam_server"), client_id],
                env=dict(os.environ, GAM_CLIENT_ID=client_id),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.2)  # its socket
        with open(self.command, "w") as f:
            f.write(TUNNEL.format(
                root=shlex.quote(self.root), home=shlex.quote(self.home), user=self.user,
                gamin=" GAM_CLIENT_ID=" + client_id if self.gamin else ""))
        os.chmod(self.command, 0o755)

    def stop(self) -> None:
        if self._gam_server is not None:
            self._gam_server.kill()
            self._gam_server.wait()
