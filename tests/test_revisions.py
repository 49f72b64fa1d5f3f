"""Revisions of a merge request on a real Dovecot with \\Sent, \\All and
\\Trash folders: v1 is stored, replaced while unsent, sent (moved to Sent
by the test, as a mail program would), and the next version replies to
it; nothing but brz's own unchanged drafts is ever removed."""

from __future__ import annotations

import imaplib
import os

from breezy import bedding
from breezy.workingtree import WorkingTree

from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import RewritingProxy
from .server_behaviours import GMailSearch

MINE = (b"From: a@example.com\r\nSubject: mine\r\n"
        b"Message-ID: <mine@example.com>\r\n\r\nx\r\n")


def records_path() -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", "merge-requests.json")


class RevisionsTestCase(fixtures.SendTestCase):

    sent_folder = "Sent"

    def setUp(self):
        super().setUp()
        self.server = self.start_imap_server()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def start_imap_server(self):
        """A server with \\Drafts, \\Sent and \\Trash folders."""
        return fixtures.start_dovecot(self, sent_folder=True)

    def commit(self, message: str) -> None:
        tree = WorkingTree.open("feature")
        with open("feature/hello.txt", "ab") as f:
            f.write(message.encode() + b"\n")
        tree.commit(message)

    def drafts(self, folder: str = "Drafts") -> list:
        return [parse(raw) for _flags, raw in self.server.messages(USER, folder)]

    def merge_requests(self) -> list:
        return [m for m in self.drafts() if m["Subject"] != "mine"]

    def send_it(self, new_message_id: bool = False) -> None:
        """What a mail program does when the user sends the merge request's
        draft (and only that one); GMail keeps it in All Mail instead.
        alpine and Thunderbird give the sent message a new Message-ID."""
        with self.server.client(USER) as client:
            client.select_folder("Drafts")
            uids = client.search(["SUBJECT", "[MERGE"])
            if new_message_id:
                for uid in uids:
                    raw = client.fetch([uid], ["RFC822"])[uid][b"RFC822"]
                    client.append(self.sent_folder, raw.replace(
                        b"Message-ID: <", b"Message-ID: <sent-by-alpine-", 1))
            else:
                client.copy(uids, self.sent_folder)
            client.delete_messages(uids)
            client.uid_expunge(uids)

    def add_mine(self, folder: str = "Drafts", flags=(b"\\Draft",)) -> None:
        with self.server.client(USER) as client:
            client.append(folder, MINE, flags=list(flags))


    def edit_draft_keeping_its_message_id(self, recreate: bool = False,
                                          edit=lambda raw: raw.replace(
                                              b"\r\n\r\n", b"\r\n\r\nEdited.\r\n", 1)
                                          ) -> None:
        """As a mail program saves an edit (``edit`` of the message's
        bytes): a new message with the same Message-ID, the old one gone."""
        with self.server.client(USER) as client:
            client.select_folder("Drafts")
            (uid,) = client.search("ALL")
            raw = client.fetch([uid], ["RFC822"])[uid][b"RFC822"]
            client.delete_messages([uid])
            client.expunge()
            if recreate:  # as after an account move: a new UIDVALIDITY
                client.close_folder()
                try:
                    client.delete_folder("Drafts")
                except imaplib.IMAP4.error:  # Cyrus: not a special-use folder
                    client.rename_folder("Drafts", "Old drafts")
                client.create_folder("Drafts")
            client.append("Drafts", edit(raw), flags=[b"\\Draft"])


class TestRevisions(RevisionsTestCase):

    def test_replaced_while_unsent_then_threaded_once_sent(self):
        # Another draft the user flagged \Deleted must survive all this.
        self.add_mine(flags=[b"\\Deleted"])
        _, err = self.send()
        self.assertContainsString(err, 'Draft saved to "Drafts" on 127.0.0.1 (UID 2)')
        (v1,) = self.merge_requests()

        self.commit("Address review")
        _, err = self.send("-Dimap")
        self.assertContainsString(
            err, 'Moved the earlier unsent draft of this merge request (UID 2) to "Trash".')
        # Checked right before, on the same connection, behind the APPEND;
        # moved only once the check's replies came.
        log = self.get_log()
        self.assertContainsRe(log, r"imap C: \S+ APPEND [^\n]*\n[^\n]*imap C: <literal"
                              r"[^\n]*\n[^\n]*imap C: \S+ SELECT \"Drafts\"\n"
                              r"[^\n]*imap C: \S+ UID FETCH 2 \(FLAGS BODY.PEEK")
        self.assertContainsRe(log, r"imap S: \* \d+ FETCH \((.|\n)*"
                              r"imap C: \S+ UID MOVE 2 ")
        self.assertEqual(["[MERGE] Address review", "mine"],
                         sorted(m["Subject"] for m in self.drafts()))
        (v1_again,) = self.merge_requests()
        self.assertNotEqual(v1["Message-ID"], v1_again["Message-ID"])
        self.assertIsNone(v1_again["In-Reply-To"])
        # Recoverable: the replaced draft is in the Trash, whole.
        (trashed,) = self.drafts("Trash")
        self.assertEqual(v1["Message-ID"], trashed["Message-ID"])

        self.send_it()
        self.commit("Second round")
        _, err = self.send()
        # Versions count what was sent: one unsent replacement makes no v3.
        self.assertContainsRe(err, r'Draft saved as v2, a reply to "\[MERGE\]'
                              r' Address review" sent \d{4}-\d\d-\d\d\.')
        (mine, v2) = self.drafts()  # by UID
        self.assertEqual("mine", mine["Subject"])  # still there, still \Deleted
        self.assertEqual("[MERGE v2] Second round", v2["Subject"])
        self.assertEqual(v1_again["Message-ID"], v2["In-Reply-To"])
        self.assertEqual(v1_again["Message-ID"], v2["References"])
        self.assertEqual(1, len(self.server.messages(USER, self.sent_folder)))
        # What changed since the sent version, as brz log --line says it.
        body = v2.get_body(("plain",)).get_content().replace("\r\n", "\n")
        self.assertContainsRe(body, r"Changes since v1 \(sent \d{4}-\d\d-\d\d\):\n"
                              r"  added:\n    4: Zo\S+ D\S+ \d{4}-\d\d-\d\d Second round\n")

        self.commit("Third round")
        _, err = self.send()
        (mine, v2_again) = self.drafts()
        self.assertEqual("[MERGE v2] Third round", v2_again["Subject"])
        self.assertEqual(v1_again["Message-ID"], v2_again["In-Reply-To"])

    def test_deleted_copy_of_another_draft_is_untouched(self):
        self.add_mine(flags=[b"\\Deleted", b"\\Draft"])
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

    def test_edited_keeping_its_message_id_is_left_alone(self):
        """A mail program that keeps the Message-ID: same ID, other bytes."""
        err = self.send_after_editing(recreate=False)
        self.assertContainsRe(err, r'Left the earlier draft <[^>]+> in "Drafts" alone:'
                              r" it was changed since brz stored it \(now UID 2\)\.")

    def test_edited_draft_in_a_recreated_folder_is_left_alone(self):
        err = self.send_after_editing(recreate=True)
        self.assertContainsString(err, "its UIDVALIDITY changed")

    def send_after_editing(self, recreate: bool) -> str:
        """v1 edited (``edit_draft_keeping_its_message_id``), then v2 sent:
        the edited draft is still there beside v2, none in the Trash; what
        brz said."""
        self.send()
        self.edit_draft_keeping_its_message_id(recreate=recreate)
        self.commit("Address review")
        _, err = self.send()
        self.assertEqual(2, len(self.drafts()))
        self.assertEqual([], self.drafts("Trash"))
        return err

    def test_new_thread_option(self):
        self.send()
        self.commit("Start over")
        _, err = self.send("-Oimap_new_thread=True")
        self.assertNotContainsString(err, "Moved")
        self.assertEqual(2, len(self.drafts()))

    def test_revisions_off(self):
        self.configure(imap_revisions="False")
        self.send()
        self.send()
        self.assertEqual(2, len(self.drafts()))

    def test_sent_with_a_new_message_id_is_still_followed(self):
        self.send()
        self.send_it(new_message_id=True)
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "Draft saved as v2")
        (sent,) = self.drafts(self.sent_folder)
        (v2,) = self.drafts()
        self.assertEqual("[MERGE v2] Address review", v2["Subject"])
        self.assertStartsWith(sent["Message-ID"], "<sent-by-alpine-")
        self.assertEqual(sent["Message-ID"], v2["In-Reply-To"].strip())

    def test_revisions_gone_since_the_sent_version_are_listed(self):
        self.commit("Doomed change")
        self.send()
        self.send_it()
        tree = WorkingTree.open("feature")
        self.run_bzr(["uncommit", "--force"], working_dir="feature")
        tree.revert()
        self.commit("Better change")
        self.send()
        (v2,) = self.drafts()
        body = v2.get_body(("plain",)).get_content().replace("\r\n", "\n")
        self.assertContainsRe(body, r"  added:\n    3: .* Better change\n"
                              r"  gone \(no longer in the branch\):\n"
                              r"    3: .* Doomed change\n")


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
        self.gmail_server = "imap://127.0.0.1:%d" % proxy.port
        self.configure(self.server, imap_server=self.gmail_server)

    def test_replaced_while_unsent_then_threaded_once_sent(self):
        super().test_replaced_while_unsent_then_threaded_once_sent()
        self.assertEqual(1, self.gmail.raw_searches)

    def test_imap_send_of_a_kept_draft_replaces_and_links(self):
        self.send()
        self.commit("Address review")
        self.configure(imap_server="imap://127.0.0.1:1")  # nothing listens
        kept = self.kept_message_path(self.send(retcode=3)[1])
        self.configure(imap_server=self.gmail_server)
        _, err = self.run_bzr(["imap-send", kept], working_dir="feature")
        self.assertContainsString(err, "Moved the earlier unsent draft")
        self.assertContainsRe(err, r"Open it: https://mail\.google\.com/mail/\?authuser="
                              r"alice#search/rfc822msgid%3A\S+@example\.com\n")
        (draft,) = self.drafts()
        self.assertEqual("[MERGE] Address review", draft["Subject"])


class TestKeptFiles(RevisionsTestCase):
    """The files failed sends keep belong to their merge request."""

    def failed_send(self) -> str:
        self.configure(imap_server="imap://127.0.0.1:1")  # nothing listens
        try:
            return self.kept_message_path(self.send(retcode=3)[1])
        finally:
            self.configure(self.server)

    def test_two_kept_files_stored_then_a_send_leave_one_draft(self):
        self.send()
        self.commit("Address review")
        first, second = self.failed_send(), self.failed_send()
        self.run_bzr(["imap-send", first], working_dir="feature")
        self.run_bzr(["imap-send", second], working_dir="feature")
        self.assertEqual(1, len(self.merge_requests()))
        self.send()
        self.assertEqual(1, len(self.merge_requests()))
        self.assertEqual(3, len(self.drafts("Trash")))

    def test_a_send_removes_the_kept_files_it_supersedes(self):
        self.send()
        self.commit("Address review")
        first, second = self.failed_send(), self.failed_send()
        with open(second, "ab") as f:
            f.write(b"A note of mine.\r\n")
        _, err = self.send()
        self.assertPathDoesNotExist(first)
        self.assertContainsString(err, "Removed %s, kept by an earlier brz send" % first)
        self.assertPathExists(second)
        self.assertContainsString(err, "Left %s, kept by an earlier brz send: it changed"
                                  % second)
        self.assertEqual(1, len(self.merge_requests()))

    def test_a_kept_file_a_later_send_replaced_is_not_stored(self):
        self.send()
        self.commit("Address review")
        kept = self.failed_send()
        with open(kept, "rb") as f:
            copy = f.read()
        self.send()
        self.assertPathDoesNotExist(kept)
        with open(kept, "wb") as f:  # the user put it back
            f.write(copy)
        _, err = self.run_bzr(["imap-send", kept], working_dir="feature", retcode=3)
        self.assertContainsRe(err, r"holds a draft of the merge request .* that a later"
                              r" version replaced \(v1, stored \d{4}-\d\d-\d\d\)\."
                              r" Nothing from it was stored\.")
        self.assertEqual(1, len(self.merge_requests()))
        self.run_bzr(["imap-send", "--superseded", kept], working_dir="feature")
        self.assertEqual(2, len(self.merge_requests()))

    def test_imap_send_of_the_newer_kept_file_removes_the_older(self):
        self.send()
        self.commit("Address review")
        first, second = self.failed_send(), self.failed_send()
        _, err = self.run_bzr(["imap-send", second], working_dir="feature")
        self.assertContainsString(err, "Removed %s, kept by an earlier brz send" % first)
        self.assertPathDoesNotExist(first)
        self.assertEqual(1, len(self.merge_requests()))


class TestRevisionsOnCyrus(TestRevisions):
    """The same on Cyrus IMAP (Fastmail's server), which drops what is sent
    behind a login before its reply."""

    def start_imap_server(self):
        return fixtures.start_cyrus(self)
