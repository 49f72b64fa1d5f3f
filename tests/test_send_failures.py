"""Every failure of ``brz send`` ends in one paragraph and keeps the
message."""

from __future__ import annotations

import os
import socket

from breezy import merge_directive
from keyring.errors import KeyringLocked

from . import fixtures
from .imap_server import free_port
from .fixtures import PASSWORD, USER, attachment_bytes, parse
from .test_send import announce_append_limit


class TestFailuresKeepTheMessage(fixtures.SendTestCase):
    """Every failure: exit 3, one clear paragraph, the .eml kept."""

    def setUp(self):
        super().setUp()
        self.keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())

    def use_dovecot(self, password=PASSWORD, dovecot_options=None, **options):
        server = fixtures.start_dovecot(self, **(dovecot_options or {}))
        self.keyring.set_password(server.host, USER, password)
        self.configure(server, **options)
        return server

    def test_missing_server(self):
        self.configure()
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "brz config imap_server=")

    def test_unknown_security(self):
        self.configure(imap_server="imap.example.com", imap_security="tls")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, 'Invalid imap_security "tls"')

    def test_bad_port(self):
        self.configure(imap_server="imap.example.com:99999")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "port must be a number")

    def test_connection_refused(self):
        keyring = fixtures.use_keyring(self, fixtures.CountingKeyring())
        self.configure(imap_server="imap://127.0.0.1:%d" % free_port(),
                       imap_security="none", imap_username=USER)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "Cannot connect to the IMAP server 127.0.0.1",
                             "refused")
        self.assertEqual(0, keyring.lookups)  # no server: no keyring prompt

    def test_host_name_that_does_not_resolve(self):
        # No DNS traffic may leave this machine: getaddrinfo fails as the
        # resolver would for an unknown name.
        def unknown_name(*args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        self.overrideAttr(socket, "getaddrinfo", unknown_name)
        self.configure(imap_server="imap.nonexistent.example", imap_username=USER)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "Cannot find the IMAP server "
                             "imap.nonexistent.example (Name or service not known)",
                             "Check the host name in imap_server")

    def test_login_refused(self):
        self.use_dovecot(password="wrong password")
        _, err = self.send(retcode=3)
        self.assertNotStored(
            err, "refused the login for alice: [AUTHENTICATIONFAILED] "
            "Authentication failed. Check", "brz imap-login asks for it, checks it"
            " and keeps it in the keyring. The message is kept in")
        self.assertNotContainsString(err, "wrong password")

    def test_no_password_anywhere(self):
        fixtures.no_keyring(self)
        self.use_dovecot()
        _, err = self.send(retcode=3, stdin="")
        self.assertNotStored(err, "No password for alice",
                             "no keyring backend is available",
                             'imap_password_command="pass show mail/imap"')
        self.assertNotContainsString(err, "imap-login")  # it needs a keyring

    def test_no_password_with_a_locked_keyring(self):
        fixtures.use_keyring(self, fixtures.FailingKeyring(KeyringLocked()))
        self.use_dovecot()
        _, err = self.send(retcode=3, stdin="")
        self.assertNotStored(err, "the keyring is locked")

    def test_no_password_with_a_raising_keyring(self):
        fixtures.use_keyring(self, fixtures.FailingKeyring(OSError("boom")))
        self.use_dovecot()
        _, err = self.send(retcode=3, stdin="")
        (error,) = [line for line in err.splitlines() if "brz: ERROR" in line]
        self.assertContainsString(error, "the keyring failed (OSError: boom)")
        self.kept_message_path(err)

    def test_tls_spoken_to_a_plaintext_port(self):
        server = self.use_dovecot()
        self.configure(imap_server="127.0.0.1:%d" % server.port,
                       imap_security="imaps")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "TLS with the IMAP server 127.0.0.1",
                             "imap_security (imaps)")

    def test_starttls_not_offered(self):
        self.use_dovecot(imap_security="starttls")
        server_port = int(self.run_bzr(["config", "imap_server"])[0]
                          .strip().rsplit(":", 1)[1])
        self.configure(imap_server="127.0.0.1:%d" % server_port)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "does not offer STARTTLS")

    def test_server_that_never_greets_times_out(self):
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        self.configure(
            imap_server="imap://127.0.0.1:%d" % silent.getsockname()[1],
            imap_security="none", imap_username=USER, imap_timeout="0.5")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "did not answer within 0.5 seconds",
                             "imap_timeout")

    def test_mailbox_refused(self):
        self.use_dovecot(imap_mailbox="No Such Folder")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, 'refused the folder "No Such Folder"',
                             "TRYCREATE")

    def test_server_no_over_quota(self):
        self.use_dovecot(dovecot_options={"quota_kilobytes": 1})
        _, err = self.send(retcode=3)
        self.assertNotStored(
            err, 'The IMAP server 127.0.0.1 refused APPEND (folder "Drafts"): [OVERQUOTA]',
            "OVERQUOTA")

    def test_draft_over_the_append_limit_is_not_uploaded(self):
        server = fixtures.start_dovecot(self)
        self.keyring.set_password("127.0.0.1", USER, PASSWORD)
        # Dovecot does not announce APPENDLIMIT; make it look like one that does.
        self.configure_through_proxy(server, announce_append_limit(1000),
                                     imap_mailbox="Drafts")
        _, err = self.send("-Dimap", retcode=3)
        self.assertNotStored(err, "accepts messages of at most 1000 bytes",
                             "brz config public_branch=URL")
        self.assertContainsRe(err, r"The draft is \d{4,} bytes")
        # A kept file that can never be stored there is not offered to imap-send.
        self.assertContainsString(err, "as it is, this server will never take it")
        self.assertNotContainsString(err, "brz imap-send")
        self.assertNotContainsRe(self.get_log(), r"imap C: \S+ APPEND")
        self.assertEqual([], server.messages(USER, "Drafts"))

    def big_feature_with_public_location(self, public: str) -> None:
        """A 30 KB file in the feature branch (its bundle is big, its
        preview diff is not), and the branch's public location."""
        from breezy.branch import Branch
        self.commit_big_file(30000)
        Branch.open("feature").set_public_branch(os.path.abspath(public))

    def test_too_big_with_a_public_location_goes_without_the_bundle(self):
        server = fixtures.start_dovecot(self)
        self.keyring.set_password("127.0.0.1", USER, PASSWORD)
        self.configure_through_proxy(server, announce_append_limit(20000))
        self.big_feature_with_public_location("feature")
        _, err = self.send()
        self.assertContainsRe(err, r"The draft is \d+ bytes, more than 127.0.0.1"
                              r" accepts \(20000\): storing it without the revisions")
        ((_flags, raw),) = server.messages(USER, "Drafts")
        self.assertLess(len(raw), 20000)
        directive = attachment_bytes(parse(raw))
        parsed = merge_directive.MergeDirective.from_lines(directive.splitlines(True))
        self.assertIsNone(parsed.bundle)
        self.assertEqual(os.path.abspath("feature"), parsed.source_branch)
        with open("small.patch", "wb") as f:
            f.write(directive)
        self.run_bzr(["merge", "../small.patch"], working_dir="trunk")
        self.assertPathExists("trunk/big.bin")

    def test_too_big_with_a_public_location_that_is_behind(self):
        server = fixtures.start_dovecot(self)
        self.keyring.set_password("127.0.0.1", USER, PASSWORD)
        self.configure_through_proxy(server, announce_append_limit(20000))
        self.big_feature_with_public_location("trunk")  # lacks the revisions
        _, err = self.send(retcode=3)
        self.assertContainsRe(err, "\nbrz: ERROR: The draft is too big for the"
                              " server, and its public location .* does not have"
                              " the revisions yet.* push there")
        self.kept_message_path(err)
        self.assertNotContainsString(err, "brz imap-send")
        self.assertEqual([], server.messages(USER, "Drafts"))

    def test_draft_under_the_append_limit_is_stored(self):
        server = fixtures.start_dovecot(self)
        self.keyring.set_password("127.0.0.1", USER, PASSWORD)
        self.configure_through_proxy(server, announce_append_limit(10_000_000))
        self.send()
        self.assertEqual(1, len(server.messages(USER, "Drafts")))

    def test_kept_messages_do_not_overwrite_each_other(self):
        self.configure()
        first = self.kept_message_path(self.send(retcode=3)[1])
        second = self.kept_message_path(self.send(retcode=3)[1])
        self.assertNotEqual(first, second)
        self.assertEqual(0o600, os.stat(second).st_mode & 0o777)
