"""Revisions of a merge request on a real Dovecot with a \\Sent folder:
v1 is stored, replaced while unsent, sent (moved to Sent by the test, as a
mail program would), and the next version replies to it."""

from __future__ import annotations

from breezy.workingtree import WorkingTree

from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import GMailSearch, RewritingProxy


class TestRevisions(fixtures.SendTestCase):

    sent_folder = "Sent"

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self, sent_folder=True)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def commit(self, message: str) -> None:
        tree = WorkingTree.open("feature")
        with open("feature/hello.txt", "ab") as f:
            f.write(message.encode() + b"\n")
        tree.commit(message)

    def drafts(self) -> list:
        return [parse(raw) for _flags, raw in self.server.messages(USER, "Drafts")]

    def send_it(self) -> None:
        """What a mail program does when the user sends the merge request's
        draft (and only that one); GMail keeps it in All Mail instead."""
        with self.server.client(USER) as client:
            client.select_folder("Drafts")
            uids = client.search(["SUBJECT", "[MERGE"])
            client.remove_flags(uids, [b"\\Draft"])
            client.copy(uids, self.sent_folder)
            client.delete_messages(uids)
            client.uid_expunge(uids)

    def test_replaced_while_unsent_then_threaded_once_sent(self):
        # Another draft the user flagged \Deleted must survive all this.
        with self.server.client(USER) as client:
            client.append("Drafts", b"From: a@example.com\r\nSubject: mine\r\n"
                          b"Message-ID: <mine@example.com>\r\n\r\nx\r\n",
                          flags=[b"\\Deleted"])
        _, err = self.send()
        self.assertContainsString(err, 'Draft saved to "Drafts" on 127.0.0.1 (UID 2)')
        (v1,) = [m for m in self.drafts() if m["Subject"] != "mine"]

        self.commit("Address review")
        _, err = self.send("-Dimap")
        self.assertContainsString(
            err, "Replaced the unsent draft of this merge request (UID 2) with"
            " the new one (UID 3).")
        # The old draft goes in one turn after the APPEND's OK, LOGOUT with it.
        self.assertContainsRe(self.get_log(), r"imap S: \S+ OK \[APPENDUID[^\n]*\n"
                              r"[^\n]*imap C: \S+ UID STORE 2 [^\n]*\n"
                              r"[^\n]*imap C: \S+ UID EXPUNGE 2\n[^\n]*imap C: \S+ LOGOUT")
        subjects = sorted(m["Subject"] for m in self.drafts())
        self.assertEqual(["[MERGE] Address review", "mine"], subjects)
        (v2,) = [m for m in self.drafts() if m["Subject"] != "mine"]
        self.assertNotEqual(v1["Message-ID"], v2["Message-ID"])
        self.assertIsNone(v2["In-Reply-To"])

        self.send_it()
        self.commit("Second round")
        _, err = self.send()
        self.assertContainsRe(err, r'Draft saved as v3, a reply to "\[MERGE\]'
                              r' Address review" sent \d{4}-\d\d-\d\d\.')
        (mine, v3) = self.drafts()  # by UID
        self.assertEqual("mine", mine["Subject"])  # still there, still \Deleted
        self.assertEqual("[MERGE v3] Second round", v3["Subject"])
        self.assertEqual(v2["Message-ID"], v3["In-Reply-To"])
        self.assertEqual(v2["Message-ID"], v3["References"])
        self.assertEqual(1, len(self.server.messages(USER, self.sent_folder)))

    def test_deleted_copy_of_another_draft_is_untouched(self):
        with self.server.client(USER) as client:
            client.append("Drafts", b"From: a@example.com\r\nSubject: mine\r\n"
                          b"Message-ID: <mine@example.com>\r\n\r\nx\r\n",
                          flags=[b"\\Deleted"])
        self.send()
        self.commit("Address review")
        self.send()
        mine = [flags for flags, raw in self.server.messages(USER, "Drafts")
                if parse(raw)["Subject"] == "mine"]
        self.assertEqual(1, len(mine))
        self.assertIn(b"\\Deleted", mine[0])

    def test_edited_in_webmail_is_left_alone(self):
        self.send()
        with self.server.client(USER) as client:  # GMail gives a new Message-ID
            client.select_folder("Drafts")
            (uid,) = client.search("ALL")
            raw = client.fetch([uid], ["RFC822"])[uid][b"RFC822"]
            client.append("Drafts", raw.replace(b"Message-ID: <", b"Message-ID: <edited-"))
            client.delete_messages([uid])
            client.expunge()
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "it was edited or deleted, and is left alone."
                                  " This draft starts a new thread.")
        self.assertEqual(2, len(self.drafts()))

    def test_new_thread_option(self):
        self.send()
        self.commit("Start over")
        _, err = self.send("-Oimap_new_thread=True")
        self.assertNotContainsString(err, "Replaced")
        self.assertEqual(2, len(self.drafts()))

    def test_revisions_off(self):
        self.configure(imap_revisions="False")
        self.send()
        self.send()
        self.assertEqual(2, len(self.drafts()))


class TestRevisionsOnGMail(TestRevisions):
    """The same where the server is GMail (a stand-in: a proxy answering
    X-GM-RAW), whose sent mail is found in All Mail, wherever labels put it."""

    sent_folder = "AllMail"  # where GMail keeps a sent message: not in Sent

    def setUp(self):
        super().setUp()
        self.gmail = GMailSearch()
        proxy = RewritingProxy((self.server.host, self.server.port),
                               faults=lambda n: self.gmail)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)

    def test_replaced_while_unsent_then_threaded_once_sent(self):
        super().test_replaced_while_unsent_then_threaded_once_sent()
        self.assertEqual(1, self.gmail.raw_searches)
