"""brz imap-folders and brz imap-login, against a real Dovecot."""

from __future__ import annotations



from . import fixtures
from .fixtures import PASSWORD, USER


class TestImapFolders(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)

    def test_lists_folders_and_marks_the_drafts_folder(self):
        server = fixtures.start_dovecot(self)
        with server.client(USER) as client:
            client.create_folder("Projekte.Entwürfe")
        self.configure(server)
        out, _ = self.run_bzr(["imap-folders"])
        lines = out.splitlines()
        self.assertIn("* Drafts  \\Drafts", lines)
        self.assertIn("  INBOX", lines)
        self.assertIn("  Projekte.Entwürfe", lines)
        self.assertEqual('Drafts go to "Drafts" (flagged \\Drafts by the server).',
                         lines[-1])

    def test_says_what_would_be_created_and_creates_nothing(self):
        server = fixtures.start_dovecot(self, drafts_folder=False)
        self.configure(server)
        out, _ = self.run_bzr(["imap-folders"])
        self.assertContainsString(out, 'No drafts folder: brz send will create "Drafts".')
        with server.client(USER) as client:
            self.assertFalse(client.folder_exists("Drafts"))

    def test_configured_folder(self):
        server = fixtures.start_dovecot(self)
        self.configure(server, imap_mailbox="INBOX")
        out, _ = self.run_bzr(["imap-folders"])
        self.assertIn("* INBOX", out.splitlines())
        self.assertContainsString(out, 'Drafts go to "INBOX" (set by imap_mailbox).')

    def test_configured_folder_the_account_lacks(self):
        server = fixtures.start_dovecot(self)
        self.configure(server, imap_mailbox="Entwürfe")
        out, _ = self.run_bzr(["imap-folders"])
        self.assertContainsString(out, 'imap_mailbox is "Entwürfe", which this account'
                                  " does not have: brz send will stop with an error")
        self.assertNotIn("*", "".join(line[:1] for line in out.splitlines()))
        # ... as it does.
        _, err = self.send(retcode=3)
        self.assertContainsString(err, 'refused the folder "Entwürfe"')
        with server.client(USER) as client:
            self.assertFalse(client.folder_exists("Entwürfe"))


class TestImapLogin(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self)
        self.configure(self.server)

    def test_verified_password_is_stored(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        _, err = self.run_bzr(["imap-login"], stdin=PASSWORD + "\n")
        self.assertContainsString(err, "Logged in to 127.0.0.1 as alice")
        self.assertEqual({("127.0.0.1", USER): PASSWORD}, keyring.passwords)
        self.send()  # and brz send finds it, without asking
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_wrong_password_is_not_stored(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        _, err = self.run_bzr(["imap-login"], stdin="wrong\n", retcode=3)
        self.assertContainsString(err, "refused the login for alice")
        self.assertEqual({}, keyring.passwords)

    def test_no_keyring_is_said_before_asking(self):
        fixtures.no_keyring(self)
        _, err = self.run_bzr(["imap-login"], stdin=PASSWORD + "\n", retcode=3)
        self.assertContainsString(err, "No usable keyring (no keyring backend")
        self.assertContainsString(err, 'imap_password_command="pass show mail/imap"')
        self.assertNotContainsString(err, "IMAP password for")

    def test_forget(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        keyring.set_password("127.0.0.1", USER, PASSWORD)
        _, err = self.run_bzr(["imap-login", "--forget"])
        self.assertContainsString(err, "Deleted the password for alice")
        self.assertEqual({}, keyring.passwords)
        _, err = self.run_bzr(["imap-login", "--forget"])
        self.assertContainsString(err, "No password for alice on 127.0.0.1 is in")


class TestImapCheck(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())

    def test_every_step_over_tls(self):
        ca = fixtures.TestCA(self)
        ca_path = ca.path
        server = fixtures.start_dovecot(self, tls_files=ca.server_files())
        self.keyring.set_password("127.0.0.1", USER, PASSWORD)
        self.configure(imap_server="imaps://127.0.0.1:%d" % server.imaps_port,
                       imap_username=USER, imap_ca_certs=ca_path)
        out, _ = self.run_bzr(["imap-check"])
        lines = out.splitlines()
        self.assertEqual(
            "ok    config: 127.0.0.1 port %d, imaps, user alice" % server.imaps_port,
            lines[0])
        self.assertEqual("ok    DNS: 127.0.0.1 is 127.0.0.1", lines[1])
        self.assertEqual("ok    keyring: %s.MemoryKeyring" % fixtures.__name__, lines[2])
        self.assertContainsRe(lines[4], r"^ok    TLS: TLSv1\.[23] \(imaps\), "
                              r"certificate .*, valid until \w+ +\d+ .* GMT$")
        self.assertEqual("ok    login: alice with AUTHENTICATE PLAIN with SASL-IR"
                         " (password from keyring)", lines[5])
        self.assertEqual('ok    drafts: "Drafts" (flagged \\Drafts by the server)',
                         lines[6])
        self.assertEqual("ok    APPENDLIMIT: none announced", lines[7])
        self.assertContainsRe(lines[8], "^ok    capabilities: .*IMAP4REV1")
        self.assertEqual([], server.messages(USER, "Drafts"))

    def test_stops_at_the_first_failure_with_the_fix(self):
        server = fixtures.start_dovecot(self)
        self.keyring.set_password("127.0.0.1", USER, "wrong")
        self.configure(server)
        out, _ = self.run_bzr(["imap-check"], retcode=1)
        lines = out.splitlines()
        self.assertEqual("--    TLS: none (imap_security=none)", lines[4])
        self.assertContainsRe(lines[-1], "^FAIL  The IMAP server 127.0.0.1 refused"
                              " the login for alice: .* brz imap-login asks for it")
        self.assertEqual(6, len(lines))

    def test_headless_machine_is_told_what_works_there(self):
        fixtures.no_keyring(self)
        self.configure(fixtures.start_dovecot(self))
        out, _ = self.run_bzr(["imap-check"], retcode=1, stdin="")
        lines = out.splitlines()
        self.assertTrue(lines[2].startswith(
            "--    keyring: none usable here. Without a keyring, brz reads the password"
            ' from a command: brz config imap_password_command="pass show mail/imap"'),
            lines[2])
        self.assertContainsRe(lines[-1], "^FAIL  No password for alice on the IMAP server"
                              " 127.0.0.1: no keyring backend is available .* Without a"
                              " keyring, brz reads the password from a command")
        self.assertNotContainsString(out, "imap-login")  # it needs a keyring

    def test_a_keyring_that_asks_every_time_is_named(self):
        from keyrings.alt.file import EncryptedKeyring

        # Made without its crypto library (pycryptodome), never used: nothing
        # listens, so the check stops before a lookup would ask.
        fixtures.use_keyring(self, EncryptedKeyring.__new__(EncryptedKeyring))
        self.configure(imap_server="imap://127.0.0.1:1", imap_username=USER)
        out, _ = self.run_bzr(["imap-check"], retcode=1, stdin="")
        self.assertEqual("--    keyring: The keyring (keyrings.alt.file.EncryptedKeyring)"
                         " asks for its own master password on every send; a Secret"
                         " Service, or imap_password_command, does not (brz"
                         " imap-check).", out.splitlines()[2])

    def test_missing_server(self):
        self.configure()
        out, _ = self.run_bzr(["imap-check"], retcode=1)
        self.assertEqual(["FAIL  No IMAP server is configured for mail_client ="
                          " imapclient. Set one (brz config"
                          " imap_server=imap.example.com)."], out.splitlines())
