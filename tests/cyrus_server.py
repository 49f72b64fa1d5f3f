"""Cyrus IMAP 3.6 (Debian's packages, unpacked, not installed: they
conflict with dovecot-imapd), the server Fastmail runs: its ``master``
on a free loopback port, users in a sasldb of its own, run as ``nobody``
(Cyrus refuses to serve as root).  .ci/setup unpacks it and .ci/run names
the folder in CYRUS_ROOT.

What Cyrus does that others do not: it drops what a client sends while it
authenticates (it may install a SASL security layer), and autocreates
INBOX, Drafts, Sent and Trash at the first login.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

from .imap_server import IMAPTestServer, ServerUnavailable, free_port, wait_for_greeting

IMAPD_CONF = """\
configdirectory: {root}/conf
partition-default: {root}/spool
sievedir: {root}/sieve
master_pid_file: {root}/master.pid
cyrus_user: nobody
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {root}/sasldb2
sasl_mech_list: PLAIN LOGIN
allowplaintext: yes
unixhierarchysep: yes
altnamespace: yes
autocreate_quota: 0
autocreate_inbox_folders: Drafts | Sent | Trash
autocreate_specialuse_folders: Drafts | Sent | Trash
specialusealways: yes
xlist-drafts: Drafts
xlist-sent: Sent
xlist-trash: Trash
syslog_prefix: brz-imapclient-cyrus
"""
CYRUS_CONF = """\
START {{
  recover cmd="{bin}/ctl_cyrusdb -r -C {root}/imapd.conf"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {root}/imapd.conf" listen="127.0.0.1:{port}" prefork=0
}}
EVENTS {{
}}
"""
CONFIG_DIRS = ("db", "socket", "proc", "log", "msg", "ptclient", "user", "quota",
               "lock", "sync")
START_TIMEOUT = 20.0


class CyrusServer(IMAPTestServer):
    """One Cyrus; ``users`` maps user names to passwords."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.unpacked = os.environ.get("CYRUS_ROOT", "")
        self.root: str = ""
        self._process = None

    def start(self) -> None:
        binaries = os.path.join(self.unpacked, "usr/lib/cyrus/bin")
        if not os.path.exists(os.path.join(binaries, "master")):
            raise ServerUnavailable(
                "Cyrus IMAP is not unpacked (bash .ci/setup, and CYRUS_ROOT naming"
                " the folder)")
        if os.geteuid() != 0:
            raise ServerUnavailable("the test Cyrus needs to start as root")
        self.root = tempfile.mkdtemp(prefix="brz-imap-cyrus-")
        self.port = free_port()
        for name in CONFIG_DIRS:
            os.makedirs(os.path.join(self.root, "conf", name))
        for name in ("spool", "sieve"):
            os.mkdir(os.path.join(self.root, name))
        with open(os.path.join(self.root, "imapd.conf"), "w") as f:
            f.write(IMAPD_CONF.format(root=self.root))
        with open(os.path.join(self.root, "cyrus.conf"), "w") as f:
            f.write(CYRUS_CONF.format(root=self.root, bin=binaries, port=self.port))
        environment = self._environment()
        for user, password in self.users.items():
            subprocess.run([os.path.join(self.unpacked, "usr/sbin/saslpasswd2"),
                            "-p", "-c", "-f", os.path.join(self.root, "sasldb2"), user],
                           input=password.encode(), env=environment, check=True,
                           capture_output=True)
        nobody = pwd.getpwnam("nobody")
        for directory, names, files in os.walk(self.root):
            for name in [directory] + [os.path.join(directory, n) for n in names + files]:
                os.chown(name, nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.root, 0o755)
        with open(os.path.join(self.root, "master.log"), "wb") as log:
            self._process = subprocess.Popen(
                [os.path.join(binaries, "master"), "-C",
                 os.path.join(self.root, "imapd.conf"), "-M",
                 os.path.join(self.root, "cyrus.conf"), "-D"],
                env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        try:
            wait_for_greeting(self.host, self.port, START_TIMEOUT)
        except ServerUnavailable:
            self.stop()
            raise

    def _environment(self) -> dict:
        """Cyrus's own libraries from the unpacked packages; SASL's plugins
        from the system (libsasl2-modules) and the packages, whatever the
        machine's architecture."""
        libraries = ":".join(os.path.dirname(found) for found in glob.glob(
            os.path.join(self.unpacked, "usr/lib/*/libcyrus_min.so.0")))
        plugins = ":".join(glob.glob("/usr/lib/*/sasl2") + glob.glob(
            os.path.join(self.unpacked, "usr/lib/*/sasl2")))
        return dict(os.environ, LD_LIBRARY_PATH=libraries, CYRUS_USER="nobody",
                    SASL_PATH=plugins)

    def stop(self) -> None:
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait(10)
            self._process = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = ""
