"""``brz send`` with mail_client = imapclient, against a real Dovecot."""

from __future__ import annotations

import os
import re
import shutil

import breezy.send
from keyring.errors import KeyringLocked
from breezy import bedding

from . import fixtures
from .fixtures import PASSWORD, USER, attachment_bytes, parse
from .proxy import hide_capability

FIXED_TIME = 1_700_000_000.0


def announce_append_limit(limit: int):
    return lambda line: line.replace(
        b" IMAP4rev1 ", b" IMAP4rev1 APPENDLIMIT=%d " % limit)


class FixedClock:
    """Stands in for ``time`` in breezy.send, so two sends match byte for byte."""

    @staticmethod
    def time() -> float:
        return FIXED_TIME


class TestSendStoresDraft(fixtures.SendTestCase):
    """Against Dovecot: a \\Drafts folder, SPECIAL-USE, NAMESPACE."""

    drafts_folder = "Drafts"

    def start_imap_server(self):
        return fixtures.start_dovecot(self)

    def setUp(self):
        super().setUp()
        self.server = self.start_imap_server()
        self.keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        self.keyring.set_password(self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def only_draft(self, folder=None):
        (stored,) = self.server.messages(USER, folder or self.drafts_folder)
        return stored

    def test_draft_is_stored_flagged_and_mergeable(self):
        self.overrideAttr(breezy.send, "time", FixedClock)
        out, err = self.send()
        self.assertContainsRe(
            err, r'Draft saved to "%s" on 127\.0\.0\.1 \(UID \d+\)\.'
            % re.escape(self.drafts_folder))
        flags, raw = self.only_draft()
        # \\Recent is the server's own; the client sets the other two.
        self.assertEqual({b"\\Draft", b"\\Seen"}, set(flags) - {b"\\Recent"})
        message = parse(raw)
        self.assertEqual("Project List <list@example.org>", message["To"])
        self.assertEqual(fixtures.IDENTITY, message["From"])
        self.assertEqual("[MERGE] Say hello to the world", message["Subject"])
        self.assertIsNotNone(message["Message-ID"])
        self.assertIsNotNone(message["Date"])
        directive = attachment_bytes(message)
        expected, _ = self.run_bzr_raw(["send", "-o", "-", "../trunk"],
                                       working_dir="feature")
        self.assertEqual(expected, directive)
        with open("directive.patch", "wb") as f:
            f.write(directive)
        self.run_bzr(["merge", "../directive.patch"], working_dir="trunk")
        self.assertFileEqual(b"hello\nworld \xc3\xa9t\xc3\xa9\n",
                             "trunk/hello.txt")

    def test_verbose_shows_the_steps(self):
        _, err = self.send()
        self.assertNotContainsString(err, "Logged in")
        _, err = self.send("-v")
        self.assertContainsRe(err, r"Logged in to 127\.0\.0\.1 port \d+, no TLS as alice"
                              r" with \S[^\n]*\.\n")
        self.assertContainsString(err, 'Drafts folder "%s": ' % self.drafts_folder)
        self.assertNotContainsString(err, "imap C:")  # that is -Dimap's
        self.build_tree_contents([("note.eml", b"From: a@example.com\nSubject: n\n\nHi\n")])
        _, err = self.run_bzr(["imap-send", "-v", "note.eml"])
        self.assertContainsString(err, "Logged in to 127.0.0.1")

    def test_body_option_is_the_text_part(self):
        self.send("--body", "Please review, thanks.")
        message = parse(self.only_draft()[1])
        body = message.get_body(("plain",)).get_content()
        self.assertEqual("Please review, thanks.\n", body.replace("\r\n", "\n"))

    def test_empty_to_is_stored(self):
        self.run_bzr(["send", "../trunk"], working_dir="feature")
        self.assertIsNone(parse(self.only_draft()[1])["To"])

    def test_configured_non_ascii_mailbox(self):
        with self.server.client(USER) as client:
            client.create_folder("Entwürfe")
        self.configure(imap_mailbox="Entwürfe")
        _, err = self.send()
        self.assertContainsString(err, 'Draft saved to "Entwürfe"')
        self.only_draft("Entwürfe")
        self.assertEqual([], self.server.messages(USER, self.drafts_folder))

    def test_settings_from_branch_config(self):
        with self.server.client(USER) as client:
            client.create_folder("Feature")
        self.run_bzr(["config", "imap_mailbox=Feature"], working_dir="feature")
        self.send()
        self.only_draft("Feature")


class TestSendStoresDraftOnPymap(TestSendStoresDraft):
    """The same against pymap: no Drafts, no SPECIAL-USE, APPENDLIMIT."""

    def start_imap_server(self):
        return fixtures.start_pymap(self)


class TestSendStoresDraftOnHoodiecrow(TestSendStoresDraft):
    """The same against hoodiecrow laid out as GMail: [Gmail]/Drafts flagged
    \\Drafts under a "/" separator, X-GM-EXT-1 (the web link is printed)."""

    drafts_folder = "[Gmail]/Drafts"

    def start_imap_server(self):
        return fixtures.start_hoodiecrow(self)

    def test_gmail_web_link_is_printed(self):
        _, err = self.send()
        self.assertContainsRe(err, r"Open it: https://mail\.google\.com/mail/")


class TestSettingsLocations(fixtures.SendTestCase):

    def test_legacy_bazaar_conf(self):
        server = fixtures.start_dovecot(self)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            server.host, USER, PASSWORD)
        shutil.rmtree(bedding.config_dir(), ignore_errors=True)
        legacy = bedding.bazaar_config_dir()
        os.makedirs(legacy, exist_ok=True)
        with open(os.path.join(legacy, "bazaar.conf"), "w") as f:
            f.write("[DEFAULT]\nmail_client = imapclient\n"
                    "imap_server = imap://127.0.0.1:%d\nimap_security = none\n"
                    "imap_username = %s\n" % (server.port, USER))
        self.assertEqual(os.path.join(legacy, "bazaar.conf"),
                         bedding.config_path())
        self.send()
        self.assertEqual(1, len(server.messages(USER, "Drafts")))


class TestPasswordSources(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self)
        self.configure(self.server)

    def write_authentication_conf(self):
        os.makedirs(bedding.config_dir(), exist_ok=True)
        with open(bedding.authentication_config_path(), "w") as f:
            f.write("[imap]\nscheme = imap\nhost = 127.0.0.1\n"
                    "user = %s\npassword = %s\n" % (USER, PASSWORD))

    def test_authentication_conf(self):
        fixtures.no_keyring(self)
        self.write_authentication_conf()
        self.send()
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_password_command(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        keyring.set_password("127.0.0.1", USER, "not this one")
        self.build_tree_contents([("pw", PASSWORD.encode() + b"\nsecond line\n")])
        self.configure(imap_password_command="cat %s" % os.path.abspath("pw"))
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        self.assertNotContainsString(err, "IMAP password for")
        self.assertContainsString(self.get_log(), "from imap_password_command")
        self.assertNotContainsString(self.get_log(), PASSWORD)
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_failing_password_command(self):
        self.configure(imap_password_command="echo locked >&2; exit 7")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "imap_password_command (echo locked >&2; exit 7)"
                             " gave no password: exit status 7, locked")

    def test_silent_password_command(self):
        self.configure(imap_password_command="true")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "gave no password: it printed nothing")

    def test_locked_keyring_falls_through(self):
        fixtures.use_keyring(self, fixtures.FailingKeyring(KeyringLocked()))
        self.write_authentication_conf()
        self.send()
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_raising_keyring_falls_through_with_a_warning(self):
        fixtures.use_keyring(self, fixtures.FailingKeyring(
            RuntimeError("D-Bus said no")))
        _, err = self.send(stdin=PASSWORD + "\n")
        self.assertContainsString(
            err, "The keyring failed (RuntimeError: D-Bus said no); trying")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_prompt_then_store_in_keyring(self):
        keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        _, err = self.send(stdin=PASSWORD + "\ny\n")
        self.assertContainsString(err, "IMAP password for alice on 127.0.0.1")
        self.assertContainsString(err, "Password stored in the keyring.")
        self.assertEqual({(self.server.host, USER): PASSWORD},
                         keyring.passwords)
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_keyring_refusing_to_store_says_why_without_the_password(self):
        class Refusing(fixtures.MemoryKeyring):
            def set_password(self, service, username, password):
                raise ValueError("cannot store %r: the collection is locked" % password)

        fixtures.use_keyring(self, Refusing())
        _, err = self.send(stdin=PASSWORD + "\ny\n")
        self.assertContainsString(
            err, "Could not store the password in the keyring (ValueError: cannot"
            " store '<password>': the collection is locked).")
        self.assertNotContainsString(err, PASSWORD)
        self.assertNotContainsString(self.get_log(), PASSWORD)
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_prompt_without_keyring_does_not_offer(self):
        fixtures.no_keyring(self)
        _, err = self.send(stdin=PASSWORD + "\n")
        self.assertNotContainsString(err, "keyring")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_user_name_with_spaces_over_login(self):
        # (Dovecot's passwd-file cannot hold a user name with a double quote.)
        user = "j q public"
        server = fixtures.start_dovecot(self, users={user: PASSWORD})
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", user, PASSWORD)
        self.configure_through_proxy(server, hide_capability(b"AUTH=PLAIN"),
                                     imap_username=user)
        self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        self.assertContainsRe(self.get_log(), r"imap C: \S+ LOGIN <credentials")
        self.assertEqual(1, len(server.messages(user, "Drafts")))

    def test_server_without_literal_plus_or_sasl_ir(self):
        # The classic exchange: wait for "+" before the SASL response and
        # before the draft.
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.configure_through_proxy(
            self.server,
            lambda line: line.replace(b" LITERAL+", b"").replace(b" SASL-IR", b""))
        self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        log = self.get_log()
        self.assertContainsRe(log, r"imap C: \S+ AUTHENTICATE PLAIN <cred")
        self.assertContainsRe(log, r"imap C: \S+ APPEND .* \{\d+\}\n")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_user_name_with_space_and_non_ascii_password(self):
        user, password = "zoë dev", "pässwörd"
        server = fixtures.start_dovecot(self, users={user: password})
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            server.host, user, password)
        self.configure(server, imap_username=user)
        self.send()
        self.assertEqual(1, len(server.messages(user, "Drafts")))


class TestDraftsDiscovery(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self, drafts_folder=False)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def test_found_by_name_without_special_use(self):
        with self.server.client(USER) as client:
            client.create_folder("INBOX.Drafts")
        _, err = self.send()
        self.assertContainsString(err, 'Draft saved to "INBOX.Drafts"')
        self.assertEqual(1, len(self.server.messages(USER, "INBOX.Drafts")))

    def test_created_when_missing(self):
        _, err = self.send()
        self.assertContainsString(err, 'Created the folder "Drafts"')
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_first_send_lists_the_folders_once_logged_in(self):
        with self.server.client(USER) as client:
            client.create_folder("INBOX.Drafts")
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        self.assertContainsString(err, 'Draft saved to "INBOX.Drafts"')
        log = self.get_log()
        self.assertContainsRe(fixtures.turn_after_login(self, log),
                              r'imap C: \S+ LIST "" "\*"')
        self.assertEqual(1, len(re.findall(r"imap C: \S+ LIST ", log)))

    def test_second_send_remembers_the_folder_without_listing(self):
        with self.server.client(USER) as client:
            client.create_folder("INBOX.Drafts")
        self.send()
        self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        # Up to the APPEND (the LIST after it looks for the Trash, where
        # the draft it replaces goes).
        log = self.get_log().split(" APPEND ")[0]
        self.assertNotContainsRe(log, r"imap C: \S+ (LIST|NAMESPACE|CAPABILITY)")
        # The second send of the branch replaced its unsent draft.
        self.assertEqual(1, len(self.server.messages(USER, "INBOX.Drafts")))

    def test_remembered_folder_that_went_away_is_found_again(self):
        self.send()  # creates and remembers Drafts
        with self.server.client(USER) as client:
            client.rename_folder("Drafts", "Old")
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"],
                              working_dir="feature")
        self.assertContainsRe(self.get_log(), r"TRYCREATE(.|\n)*imap C: \S+ LIST")
        self.assertContainsString(err, 'Created the folder "Drafts"')
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))
        self.assertEqual(1, len(self.server.messages(USER, "Old")))
