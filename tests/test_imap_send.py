"""``brz imap-send``: kept messages are stored later, never twice."""

from __future__ import annotations

import os
import shutil
import tempfile

from breezy.branch import Branch

from ..imapclient_plugin import commands
from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import (CutBeforeReply, CutInsideLiteral, Faults, RewritingProxy,
                    hide_capability)
from .server_behaviours import CountCommands, RefuseUidExpunge


MBOX = (b"From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
        b"From: A Dev <a@example.com>\nDate: Tue, 24 Nov 2026 09:00:00 +0000\n"
        b"Subject: [PATCH 1/2] First\n\nOne.\n\n"
        b"From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\n"
        b"From: A Dev <a@example.com>\nDate: Tue, 24 Nov 2026 09:00:01 +0000\n"
        b"Subject: [PATCH 2/2] Second\n\n>From the start.\n>>From a quoted line.\n")


NOTE = b"From: a@example.com\nSubject: hand-written\n\nHello\n"


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
        self.assertContainsString(err, 'Already in "Drafts" on 127.0.0.1 (UID 1): [MERGE]'
                                  " Say hello to the world")
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
        _, err = self.run_bzr(["imap-send", "note.eml"])  # the same Message-ID
        self.assertEqual('Already in "Drafts" on 127.0.0.1 (UID 1): hand-written\n', err)
        (stored,) = [parse(raw) for _flags, raw in server.messages(USER, "Drafts")]
        self.assertEqual("hand-written", stored["Subject"])
        self.assertContainsRe(stored["Message-ID"], "^<[0-9a-f]{40}@brz-imapclient.invalid>$")

    def test_mbox_gives_one_draft_per_message(self):
        server = fixtures.start_dovecot(self)
        self.configure(server)
        self.build_tree_contents([("series.mbox", MBOX)])
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(2, err.count("Draft saved to"))
        self.assertContainsString(err, 'Draft saved to "Drafts" on 127.0.0.1 (UID 2):'
                                  " [PATCH 2/2] Second\n")
        stored = [parse(raw) for _flags, raw in server.messages(USER, "Drafts")]
        self.assertEqual(["[PATCH 1/2] First", "[PATCH 2/2] Second"],
                         [m["Subject"] for m in stored])
        body = stored[1].get_content().replace("\r\n", "\n")
        self.assertEqual("From the start.\n>From a quoted line.\n", body)

    def test_brz_send_output_on_stdin_becomes_a_merge_draft(self):
        server = fixtures.start_dovecot(self)
        self.configure(server)
        directive, _ = self.run_bzr_raw(["send", "-o", "-", "../trunk"],
                                        working_dir="feature")
        self.run_bzr(["imap-send", "-"], stdin=directive.decode("utf-8"))
        ((_flags, raw),) = server.messages(USER, "Drafts")
        message = parse(raw)
        self.assertEqual("[MERGE] stdin", message["Subject"])
        self.assertEqual(fixtures.IDENTITY, message["From"])
        self.assertEqual(directive, fixtures.attachment_bytes(message))

    def test_plain_patch_becomes_a_draft_with_it_attached(self):
        server = fixtures.start_dovecot(self)
        self.configure(server)
        patch = b"--- a\n+++ b\n@@ -1 +1 @@\n-x\n+\xff binary-ish\n"
        self.build_tree_contents([("fix.diff", patch)])
        self.run_bzr(["imap-send", "fix.diff"])
        ((_flags, raw),) = server.messages(USER, "Drafts")
        message = parse(raw)
        self.assertEqual("[PATCH] fix", message["Subject"])
        (part,) = list(message.iter_attachments())
        self.assertEqual("fix.patch", part.get_filename())
        self.assertEqual(patch, fixtures.attachment_bytes(message))

    def test_settings_of_the_branch_it_runs_in(self):
        """Run inside a branch, its branch.conf applies, as for brz send."""
        server = fixtures.start_dovecot(self)
        self.configure(server)
        stack = Branch.open("feature").get_config_stack()
        stack.set("imap_mailbox", "INBOX")
        stack.store.save()
        self.build_tree_contents([("feature/note.eml", NOTE)])
        self.run_bzr(["imap-send", "note.eml"], working_dir="feature")
        self.assertEqual([], server.messages(USER, "Drafts"))
        ((_flags, raw),) = server.messages(USER, "INBOX")
        self.assertEqual("hand-written", parse(raw)["Subject"])

    def test_in_a_subversion_checkout(self):
        """Not a branch Breezy can read: the global settings, no error."""
        server = fixtures.start_dovecot(self)
        self.configure(server)
        self.build_tree(["checkout/", "checkout/.svn/"])
        self.build_tree_contents([("checkout/note.eml", NOTE)])
        _, err = self.run_bzr(["imap-send", "note.eml"], working_dir="checkout")
        self.assertContainsString(err, 'Draft saved to "Drafts"')
        self.assertEqual(1, len(server.messages(USER, "Drafts")))

    def test_branch_dirs_looked_for_up_to_the_root(self):
        root = tempfile.mkdtemp(prefix="brz-imapclient-test-")
        self.addCleanup(shutil.rmtree, root)
        inner = os.path.join(root, "a", "b")
        os.makedirs(inner)
        if commands.has_branch_dir_above(root):
            self.skipTest("a .bzr or .git above %s" % root)
        self.assertFalse(commands.has_branch_dir_above(inner))
        with open(os.path.join(root, "a", ".git"), "w") as f:  # a worktree's
            f.write("gitdir: elsewhere\n")
        self.assertTrue(commands.has_branch_dir_above(inner))
        self.assertFalse(commands.has_branch_dir_above(root))

    def test_big_patches_go_over_one_connection(self):
        """Drafts too big to hold whole, each a slice at a time."""
        server = fixtures.start_dovecot(self)
        self.configure(server)
        patches = [b"--- a\n+++ b\n" + b"+%d a line of a big patch\n" % n * 60000
                   for n in (1, 2)]
        self.build_tree_contents([("one.diff", patches[0]), ("two.diff", patches[1])])
        _, err = self.run_bzr(["imap-send", "one.diff", "two.diff"])
        self.assertEqual(2, err.count("Draft saved to"))
        stored = [parse(raw) for _flags, raw in server.messages(USER, "Drafts")]
        self.assertEqual(patches, [fixtures.attachment_bytes(m) for m in stored])

    def test_missing_file(self):
        self.configure(imap_server="imap.example.com")
        _, err = self.run_bzr(["imap-send", "nowhere.eml"], retcode=3)
        self.assertContainsString(err, "Cannot read nowhere.eml: No such file")


def series(count: int) -> bytes:
    """A git format-patch --stdout series of ``count`` patches."""
    return b"".join(
        b"From %040d Mon Sep 17 00:00:00 2001\nFrom: A Dev <a@example.com>\n"
        b"Date: Tue, 24 Nov 2026 09:00:%02d +0000\n"
        b"Subject: [PATCH %d/%d] Change %d\n\n---\n f | 2 +-\n\n" % (
            n, n, n, count, n) for n in range(1, count + 1))


class TestSeriesOverOneConnection(fixtures.SendTestCase):
    """A series costs turns that do not grow with it: one connection, one
    turn to find what is there, one MULTIAPPEND for the rest."""

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.server = fixtures.start_dovecot(self)
        self.build_tree_contents([("series.mbox", series(10))])

    def through(self, faults) -> RewritingProxy:
        proxy = RewritingProxy((self.server.host, self.server.port), faults=faults)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        return proxy

    def subjects(self) -> list:
        return [parse(raw)["Subject"] for _f, raw in self.server.messages(USER, "Drafts")]

    def test_ten_patches_one_multiappend(self):
        counter = CountCommands()
        proxy = self.through(lambda n: counter)
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(10, err.count("Draft saved to"))
        self.assertEqual(1, proxy.connections)
        self.assertEqual(1, counter.commands.count(b"APPEND"))
        self.assertEqual(["[PATCH %d/10] Change %d" % (n, n) for n in range(1, 11)],
                         self.subjects())
        # Again: everything is found in one turn, nothing is stored.
        counter.commands.clear()
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(10, err.count("Already in \"Drafts\""))
        self.assertNotIn(b"APPEND", counter.commands)
        self.assertEqual(10, len(self.subjects()))

    def test_what_is_there_is_asked_in_one_turn(self):
        self.through(lambda n: Faults())
        self.run_bzr(["imap-send", "series.mbox"])  # finds the folder, remembers it
        _, err = self.run_bzr(["-Dimap", "imap-send", "series.mbox"])
        self.assertEqual(10, err.count("Already in \"Drafts\""))
        first_turn = fixtures.turn_after_login(self, self.get_log())
        self.assertContainsRe(first_turn, r'imap C: \S+ EXAMINE "Drafts"')
        self.assertEqual(10, first_turn.count("UID SEARCH HEADER Message-ID"))

    def test_without_multiappend_still_one_connection(self):
        counter = CountCommands(hide_capability(b"MULTIAPPEND"))
        proxy = self.through(lambda n: counter)
        self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(1, proxy.connections)
        self.assertEqual(10, counter.commands.count(b"APPEND"))
        self.assertEqual(10, len(self.subjects()))

    def test_half_of_them_there_already(self):
        self.configure(self.server)
        self.build_tree_contents([("first.mbox", series(10)[:series(10).index(
            b"From 0000000000000000000000000000000000000006")])])
        self.run_bzr(["imap-send", "first.mbox"])
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(5, err.count("Already in \"Drafts\""))
        self.assertEqual(10, len(self.subjects()))

    def test_connection_cut_in_the_multiappend_stores_each_once(self):
        proxy = self.through(lambda n: CutInsideLiteral() if n == 0 else Faults())
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertContainsString(err, "Reconnecting to check which drafts arrived")
        self.assertEqual(2, proxy.connections)
        self.assertEqual(["[PATCH %d/10] Change %d" % (n, n) for n in range(1, 11)],
                         self.subjects())

    def test_a_message_id_repeated_in_the_input_is_stored_once(self):
        self.configure(self.server)
        eml = b"From: a@example.com\nSubject: twice\nMessage-ID: <twice@x>\n\nHi\n"
        self.build_tree_contents([("a.eml", eml), ("b.eml", eml)])
        self.run_bzr(["imap-send", "a.eml", "b.eml"])
        self.assertEqual(["twice"], self.subjects())

    def test_an_mbox_without_messages(self):
        self.configure(self.server)
        self.build_tree_contents([("empty.mbox",
                                   b"From x Mon Sep 17 00:00:00 2001\n\n")])
        _, err = self.run_bzr(["imap-send", "empty.mbox"], retcode=3)
        self.assertContainsRe(err, "^brz: ERROR: Cannot store empty.mbox: it holds"
                              " no message")


class TestOneMessage(fixtures.SendTestCase):
    """One message goes up in the search's turn, once the folder is left,
    where the server can remove a copy by UID (UIDPLUS); found there
    already, the copy just stored is removed by its UID: one draft either
    way.  Elsewhere the APPEND waits for the search."""

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.server = fixtures.start_dovecot(self)
        self.build_tree_contents([
            ("a.eml", b"From: a@example.com\nSubject: first\nMessage-ID: <a@x>\n\nA\n"),
            ("b.eml", b"From: a@example.com\nSubject: second\nMessage-ID: <b@x>\n\nB\n"),
        ])

    def through(self, faults=lambda n: Faults()) -> RewritingProxy:
        proxy = RewritingProxy((self.server.host, self.server.port), faults=faults)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port,
                       imap_mailbox="Drafts")
        return proxy

    def stored(self) -> list:
        return [(parse(raw)["Subject"], flags)
                for flags, raw in self.server.messages(USER, "Drafts")]

    def first_turn(self) -> str:
        """What the last run's client sent once its login's OK came, up
        to the server's next reply (nothing goes behind the login)."""
        return fixtures.turn_after_login(self, self.get_log())

    def test_without_uidplus_the_append_waits_for_the_search(self):
        counter = CountCommands(hide_capability(b"UIDPLUS"))
        self.through(lambda n: counter)
        self.run_bzr(["imap-send", "a.eml"])
        counter.commands.clear()
        _, err = self.run_bzr(["-Dimap", "imap-send", "a.eml"])
        self.assertNotContainsString(self.first_turn(), "APPEND")
        self.assertNotIn(b"APPEND", counter.commands)
        self.assertContainsString(err, 'Already in "Drafts" on 127.0.0.1 (UID 1): first')
        self.assertEqual(1, len(self.stored()))

    def test_append_goes_behind_the_search_and_the_unselect(self):
        self.through()
        _, err = self.run_bzr(["-Dimap", "imap-send", "b.eml"])
        self.assertContainsRe(self.first_turn(),
                              r'^[^\n]*imap C: \S+ EXAMINE "Drafts"\n[^\n]*imap C: \S+ UID'
                              r' SEARCH HEADER Message-ID "<b@x>"\n[^\n]*imap C: \S+'
                              r' UNSELECT\n[^\n]*imap C: \S+ APPEND "Drafts"')
        self.assertContainsRe(err, r'Draft saved to "Drafts" on 127.0.0.1 \(UID 1\)')
        self.assertEqual(["second"], [s for s, _f in self.stored()])

    def test_found_there_already_leaves_one_draft(self):
        counter = CountCommands()
        self.through(lambda n: counter)
        self.run_bzr(["imap-send", "a.eml"])
        counter.commands.clear()
        _, err = self.run_bzr(["imap-send", "a.eml"])
        self.assertEqual(1, counter.commands.count(b"APPEND"))  # went with the search
        self.assertEqual('Already in "Drafts" on 127.0.0.1 (UID 1): first\n', err)
        self.assertEqual(["first"], [s for s, _f in self.stored()])

    def reply_lost_on_second_connection(self) -> RewritingProxy:
        """The first imap-send learns the server; the next one's APPEND
        reaches it, and is stored, but its reply is lost."""
        proxy = self.through(lambda n: CutBeforeReply() if n == 1 else Faults())
        self.run_bzr(["imap-send", "a.eml"])
        return proxy

    def test_reply_lost_after_the_append_of_a_new_message(self):
        proxy = self.reply_lost_on_second_connection()
        _, err = self.run_bzr(["imap-send", "b.eml"])
        self.assertContainsString(err, "Reconnecting to check whether the draft arrived.")
        self.assertEqual(3, proxy.connections)
        self.assertEqual(["first", "second"], [s for s, _f in self.stored()])

    def test_reply_lost_after_the_append_of_one_there_already(self):
        self.reply_lost_on_second_connection()
        _, err = self.run_bzr(["imap-send", "a.eml"])
        self.assertContainsString(err, "removed the extra copy (UID 2)")
        self.assertContainsString(err, 'Already in "Drafts" on 127.0.0.1 (UID 1): first')
        self.assertEqual(["first"], [s for s, _f in self.stored()])

    def test_a_refused_removal_keeps_both_copies_and_says_so(self):
        self.through(lambda n: RefuseUidExpunge() if n == 1 else Faults())
        self.run_bzr(["imap-send", "a.eml"])
        _, err = self.run_bzr(["imap-send", "a.eml"])  # exits 0: it is stored
        self.assertContainsRe(err, r'There are 2 copies of the draft in "Drafts"'
                              r" \(UIDs 1, 2\): removing the extra one failed: The IMAP"
                              r' server 127.0.0.1 refused UID EXPUNGE \(folder "Drafts"\):'
                              r" \[CANNOT\] Expunging is not allowed\. Delete it")
        self.assertContainsString(err, 'Already in "Drafts" on 127.0.0.1 (UID 1): first')
        (_, first), (_, second) = self.stored()
        self.assertNotIn(b"\\Deleted", first)
        self.assertIn(b"\\Deleted", second)  # the next EXPUNGE removes it
