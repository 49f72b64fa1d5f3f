"""``brz imap-send``: kept messages are stored later, never twice."""

from __future__ import annotations

import os
import shutil

from . import fixtures
from .fixtures import PASSWORD, USER, parse


class TestImapSend(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)

    def kept_message(self) -> str:
        """A failed brz send (no server configured) keeps its message."""
        self.configure()
        return self.kept_message_path(self.send(retcode=3)[1])

    def test_kept_message_is_stored_once_and_removed(self):
        kept = self.kept_message()
        self.assertContainsString(self.send(retcode=3)[1],
                                  "once fixed, store it with: brz imap-send")
        copy = os.path.abspath("copy.eml")
        shutil.copy(kept, copy)
        server = fixtures.start_dovecot(self)
        self.configure(server)

        _, err = self.run_bzr(["imap-send", kept])
        self.assertContainsRe(err, r'Draft saved to "Drafts" on 127.0.0.1 \(UID 1\)')
        self.assertContainsString(err, "Removed %s." % kept)
        self.assertPathDoesNotExist(kept)

        _, err = self.run_bzr(["imap-send", copy])
        self.assertContainsString(err, "The draft was already there.")
        self.assertPathExists(copy)  # not one of brz send's kept files
        ((flags, raw),) = server.messages(USER, "Drafts")
        self.assertEqual("[MERGE] Say hello to the world", parse(raw)["Subject"])
        self.assertIn(b"\\Draft", flags)

    def test_lf_line_ends_and_no_message_id(self):
        server = fixtures.start_dovecot(self)
        self.configure(server)
        self.build_tree_contents([("note.eml", b"From: a@example.com\n"
                                   b"Subject: hand-written\n\nHello\n")])
        self.run_bzr(["imap-send", "note.eml"])
        self.run_bzr(["imap-send", "note.eml"])  # a new Message-ID each time
        stored = [parse(raw) for _flags, raw in server.messages(USER, "Drafts")]
        self.assertEqual(["hand-written"] * 2, [m["Subject"] for m in stored])
        self.assertTrue(all(m["Message-ID"] for m in stored))

    def test_not_a_message(self):
        self.configure(imap_server="imap.example.com")
        self.build_tree_contents([("notes.txt", b"just some text\n")])
        _, err = self.run_bzr(["imap-send", "notes.txt"], retcode=3)
        self.assertContainsString(err, "notes.txt is not an e-mail message")
        self.assertNotContainsString(err, "Traceback")

    def test_missing_file(self):
        self.configure(imap_server="imap.example.com")
        _, err = self.run_bzr(["imap-send", "nowhere.eml"], retcode=3)
        self.assertContainsString(err, "Cannot read nowhere.eml: No such file")
