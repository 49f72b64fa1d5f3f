"""A throwaway Dovecot IMAP server on loopback, for the tests and the demo.

It runs from a config file in a temporary directory, listens on a free
port of 127.0.0.1, knows the users it is given (passwd-file, plaintext
passwords), and is stopped and removed by ``stop()``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from typing import Optional

from .imap_server import (IMAPTestServer, ServerDidNotStart, ServerUnavailable,
                          free_ports, wait_for_greeting)

START_TIMEOUT = 15.0

# What Dovecot 2.3 (Debian 12) and 2.4 (Debian 13) both read.
CONFIG_TEMPLATE = """\
{version}
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{tls}
auth_mechanisms = plain login
auth_username_chars =
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
{quota}
{users}
service imap-login {{
  chroot =
  inet_listener imap {{
    {address} = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {address} = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
{mailboxes}
}}
"""


class Syntax:
    """The settings whose names changed in Dovecot 2.4."""

    version = ""
    address = "address"
    no_tls = "ssl = no"
    tls = """\
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
"""
    quota = """\
mail_plugins = quota
plugin {{
  quota = maildir:User quota
  quota_rule = *:storage={kilobytes}K
}}
"""
    users = """\
disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
"""


class Syntax24(Syntax):
    version = """\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
"""
    address = "listen"
    tls = """\
ssl = yes
ssl_server_cert_file = {cert}
ssl_server_key_file = {key}
"""
    quota = """\
mail_plugins {{
  quota = yes
}}
quota "User quota" {{
  driver = count
  storage_size = {kilobytes}K
}}
"""
    users = """\
auth_allow_cleartext = yes
mail_driver = maildir
mail_home = {root}/mail/%{{user}}
mail_path = {root}/mail/%{{user}}
passdb passwd-file {{
  passwd_file_path = {root}/passwd
  default_password_scheme = PLAIN
}}
userdb static {{
  fields {{
    uid = dovecot
    gid = dovecot
    home = {root}/mail/%{{user}}
  }}
}}
"""


def config_syntax(binary: str) -> type[Syntax]:
    """2.4 refuses 2.3's settings and the other way round: ask the binary."""
    version = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
    numbers = re.match(r"(\d+)\.(\d+)", version)
    if numbers and (int(numbers.group(1)), int(numbers.group(2))) >= (2, 4):
        return Syntax24
    return Syntax


DRAFTS_MAILBOX = """\
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
"""

SENT_MAILBOX = """\
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
  mailbox AllMail {
    special_use = \\All
    auto = create
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
"""


def dovecot_binary() -> str:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        raise ServerUnavailable(
            "dovecot is not installed (apt-get install dovecot-imapd)")
    if os.geteuid() != 0:
        raise ServerUnavailable("the test Dovecot needs to start as root")
    return binary


class DovecotServer(IMAPTestServer):
    """One Dovecot instance; ``users`` maps user names to passwords.

    ``drafts_folder``: a Drafts folder flagged \\Drafts exists;
    ``quota_kilobytes``: each user's storage quota (none by default);
    ``tls_files``: (certificate chain, key) PEM files, to offer STARTTLS on
    ``port`` and TLS on ``imaps_port``; ``sent_folder``: a Sent folder
    flagged \\Sent, an AllMail folder flagged \\All and a Trash folder
    flagged \\Trash exist.
    """

    def __init__(
        self,
        users: dict[str, str],
        drafts_folder: bool = True,
        quota_kilobytes: Optional[int] = None,
        tls_files: Optional[tuple[str, str]] = None,
        sent_folder: bool = False,
    ) -> None:
        self.users = users
        self.drafts_folder = drafts_folder
        self.sent_folder = sent_folder
        self.quota_kilobytes = quota_kilobytes
        self.tls_files = tls_files
        self.imaps_port = 0
        self.host = "127.0.0.1"
        self.port = 0
        self.root: Optional[str] = None
        self._binary = dovecot_binary()

    @property
    def config_path(self) -> str:
        return os.path.join(self.root, "dovecot.conf")

    def start(self) -> None:
        self.root = tempfile.mkdtemp(prefix="brz-imap-dovecot-")
        os.chmod(self.root, 0o755)  # Dovecot's own users must get in.
        mail = os.path.join(self.root, "mail")
        os.mkdir(mail)
        shutil.chown(mail, "dovecot", "dovecot")
        with open(os.path.join(self.root, "passwd"), "w", encoding="utf-8") as f:
            for user, password in self.users.items():
                f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        self.port, imaps_port = free_ports(2)
        syntax = config_syntax(self._binary)
        if self.tls_files:
            self.imaps_port = imaps_port
            tls = syntax.tls.format(cert=self.tls_files[0], key=self.tls_files[1])
        else:
            tls = syntax.no_tls
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(CONFIG_TEMPLATE.format(
                version=syntax.version,
                root=self.root,
                port=self.port,
                imaps_port=self.imaps_port,
                address=syntax.address,
                tls=tls,
                users=syntax.users.format(root=self.root),
                mailboxes=(DRAFTS_MAILBOX if self.drafts_folder else "")
                + (SENT_MAILBOX if self.sent_folder else ""),
                quota=syntax.quota.format(kilobytes=self.quota_kilobytes)
                if self.quota_kilobytes else "",
            ))
        # Dovecot daemonises: a pipe on its stderr would never reach EOF.
        with open(os.path.join(self.root, "start.log"), "wb") as start_log:
            started = subprocess.run([self._binary, "-c", self.config_path],
                                     stdout=start_log, stderr=start_log)
        if started.returncode != 0:
            log = self.log("start.log")
            self.stop()
            raise ServerDidNotStart("Dovecot did not start:\n" + log)
        self._wait_for_greeting()

    def _wait_for_greeting(self) -> None:
        try:
            wait_for_greeting(self.host, self.port, START_TIMEOUT)
        except ServerUnavailable:
            log = self.log()
            self.stop()
            raise ServerDidNotStart("Dovecot did not start:\n" + log)

    def log(self, name: str = "dovecot.log") -> str:
        try:
            with open(os.path.join(self.root, name),
                      encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        """Kill the server and its children, then delete its files.

        Dovecot's master runs in a session of its own and takes about 3 s
        to shut down gracefully; a throwaway server can simply be killed.
        """
        if self.root is None:
            return
        try:
            with open(os.path.join(self.root, "run", "master.pid")) as f:
                group = os.getpgid(int(f.read()))
        except (OSError, ValueError):
            group = None
        if group is not None and group != os.getpgrp():
            os.killpg(group, signal.SIGKILL)
        else:
            subprocess.run([self._binary, "-c", self.config_path, "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
