"""Revisions of a merge request on a real Dovecot with \\Sent, \\All and
\\Trash folders: v1 is stored, replaced while unsent, sent (moved to Sent
by the test, as a mail program would), and the next version replies to
it; nothing but brz's own unchanged drafts is ever removed."""

from __future__ import annotations

import imaplib
import json
import os
import re
import signal
import subprocess
import sys
import time

from breezy import bedding
from breezy.workingtree import WorkingTree

from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import (CountCommands, Cut, Faults, GMailSearch, RewritingProxy,
                    hide_capability)
from .test_faults import first_connection
from ..imapclient_plugin import own_drafts
from .proxy import CutInsideLiteral

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


    def edit_draft_keeping_its_message_id(self, recreate: bool = False) -> None:
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
            client.append("Drafts", raw.replace(b"\r\n\r\n", b"\r\n\r\nEdited.\r\n", 1),
                          flags=[b"\\Draft"])


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


class TestRevisionsOnCyrus(TestRevisions):
    """The same on Cyrus IMAP (Fastmail's server), which drops what is sent
    behind a login before its reply."""

    def start_imap_server(self):
        return fixtures.start_cyrus(self)


class TestOnlyOwnDraftsAreRemoved(RevisionsTestCase):
    """What brz remembers never makes it remove mail that is not its own."""

    def through_proxy(self, faults) -> RewritingProxy:
        proxy = RewritingProxy((self.server.host, self.server.port), faults=faults)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        return proxy

    def test_lost_append_reply_after_a_change_of_folder(self):
        """The upload cut off, brz reconnects and stores the draft again:
        that path once removed the remembered UID from the new folder,
        where UID 1 is the user's own draft."""
        self.send()
        with self.server.client(USER) as client:
            client.create_folder("Other")
        self.add_mine("Other")
        self.commit("Address review")
        self.through_proxy(first_connection(CutInsideLiteral))
        _, err = self.send("-Oimap_mailbox=Other")
        self.assertContainsString(err, "Reconnecting to check whether the draft")
        self.assertContainsString(err, 'in "Drafts" alone: it is in "Drafts", not in'
                                  " the Drafts folder in use")
        subjects = sorted(m["Subject"] for m in self.drafts("Other"))
        self.assertEqual(["[MERGE] Address review", "mine"], subjects)
        self.assertEqual(1, len(self.drafts()))  # the old one, left alone
        self.assertEqual([], self.drafts("Trash"))

    def test_no_uidplus_flags_only_the_unchanged_draft(self):
        self.through_proxy(lambda n: CountCommands(hide_capability(b"UIDPLUS")))
        self.add_mine()
        self.send()
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, 'Moved the earlier unsent draft')
        self.assertEqual(["[MERGE] Address review", "mine"],
                         sorted(m["Subject"] for m in self.drafts()))

    def test_no_uidplus_nor_move_leaves_an_edited_draft_unflagged(self):
        self.through_proxy(lambda n: CountCommands(without_uidplus_nor_move))
        self.send()
        self.commit("Address review")
        self.send()  # replaces it: flagged \Deleted, as it cannot be expunged
        flags = [f for f, raw in self.server.messages(USER, "Drafts")
                 if parse(raw)["Subject"] == "[MERGE] Say hello to the world"]
        self.assertEqual(1, len(flags))
        self.assertIn(b"\\Deleted", flags[0])
        with self.server.client(USER) as client:  # the user expunges
            client.select_folder("Drafts")
            client.expunge()
        self.edit_draft_keeping_its_message_id()
        self.commit("Another round")
        _, err = self.send()
        self.assertContainsString(err, "alone: it was edited since brz stored it")
        edited = [f for f, raw in self.server.messages(USER, "Drafts")
                  if b"Edited." in raw]
        self.assertEqual(1, len(edited))
        self.assertNotIn(b"\\Deleted", edited[0])

    def write_records(self, records: dict, mode: int = 0o600) -> None:
        os.makedirs(os.path.dirname(records_path()), exist_ok=True)
        with open(records_path(), "w") as f:
            json.dump(records, f)
        os.chmod(records_path(), mode)

    def only_key(self) -> str:
        with open(records_path()) as f:
            (key,) = json.load(f)
        return key

    def test_damaged_records_are_ignored_with_a_warning(self):
        self.send()
        key = self.only_key()
        for damage in ({"uid": "1"}, {"message_id": 7}, {"folder": ["INBOX"]},
                       {"folder": "Drafts\u202e"}, {"uid": -1}):
            with open(records_path()) as f:
                records = json.load(f)
            records[key]["drafts"][0].update(damage)
            self.write_records(records)
            self.commit("Round %s" % list(damage)[0])
            _, err = self.send()
            self.assertNotContainsString(err, "Traceback")
            self.assertContainsString(err, "Ignoring the damaged record of this merge"
                                      " request in %s" % records_path())
        self.assertEqual(6, len(self.drafts()))

    def test_a_record_naming_another_folder_removes_nothing_there(self):
        with self.server.client(USER) as client:
            client.append("INBOX", MINE, flags=[b"\\Draft"])
        self.send()
        key = self.only_key()
        with open(records_path()) as f:
            records = json.load(f)
        records[key]["drafts"][0].update(folder="INBOX", uid=1,
                                         message_id="<mine@example.com>",
                                         fingerprint=own_drafts.fingerprint(MINE))
        self.write_records(records)
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, 'alone: it is in "INBOX", not in the Drafts'
                                  " folder in use")
        self.assertEqual(1, len(self.drafts("INBOX")))

    def test_a_record_others_may_write_is_ignored(self):
        self.send()
        os.chmod(records_path(), 0o666)
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "may be written by other users")
        self.assertEqual(2, len(self.drafts()))

    def test_a_record_another_user_owns_is_ignored(self):
        self.send()
        if os.geteuid() != 0:
            self.skipTest("only root can give a file away")
        os.chown(records_path(), 65534, 65534)
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "belongs to another user")
        self.assertEqual(2, len(self.drafts()))

    def test_removal_cut_off_is_done_by_the_next_send(self):
        """Stored, then the connection lost before the removal: the next
        send removes the draft left behind as well as the one it replaces."""
        self.send()
        self.commit("Address review")
        self.through_proxy(first_connection(CutOnRemoval))
        _, err = self.send()
        self.assertContainsString(err, "The draft is stored, but:")
        self.assertEqual(2, len(self.drafts()))
        self.commit("Third round")
        _, err = self.send()
        self.assertContainsString(err, "the earlier unsent drafts of this merge request"
                                  " (UID 1, 2)")
        (left,) = self.drafts()
        self.assertEqual("[MERGE] Third round", left["Subject"])
        self.assertEqual(2, len(self.drafts("Trash")))

    def test_killed_between_storing_and_removing(self):
        self.configure(imap_password_command="echo '%s'" % PASSWORD)
        self.send()
        self.commit("Address review")
        killer = KillOnRemoval()
        self.through_proxy(lambda n: killer if n == 0 else Faults())
        self.configure(imap_password_command="echo '%s'" % PASSWORD)
        killer.process = self.brz("send", "../trunk")
        output, _ = killer.process.communicate(timeout=60)
        self.assertEqual(-signal.SIGKILL, killer.process.returncode, output)
        self.assertEqual(2, len(self.drafts()))
        # In processes of their own too: the first breaks the branch lock
        # the killed brz left.
        with open("feature/hello.txt", "ab") as f:
            f.write(b"Third round\n")
        self.brz("commit", "-m", "Third round").communicate(timeout=60)
        output, _ = self.brz("send", "../trunk").communicate(timeout=60)
        self.assertContainsString(output.decode(), "the earlier unsent drafts of this"
                                  " merge request (UID 1, 2)")
        (left,) = self.drafts()
        self.assertEqual("[MERGE] Third round", left["Subject"])

    def brz(self, *args: str) -> subprocess.Popen:
        env = dict(os.environ, BRZ_PLUGINS_AT="imapclient@" + fixtures.PLUGIN_ROOT)
        return subprocess.Popen(
            [sys.executable, "-m", "breezy"] + list(args), cwd="feature",
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)

    def test_imap_send_of_the_kept_message_replaces_the_unsent_draft(self):
        self.send()
        self.commit("Address review")
        self.configure(imap_server="imap://127.0.0.1:1")  # nothing listens
        _, err = self.send(retcode=3)
        kept = self.kept_message_path(err)
        self.configure(self.server)
        _, err = self.run_bzr(["imap-send", kept], working_dir="feature")
        self.assertContainsString(err, "Moved the earlier unsent draft")
        (v1,) = self.drafts()
        self.assertEqual("[MERGE] Address review", v1["Subject"])
        self.commit("Third round")
        _, err = self.send()  # the record knows of the draft imap-send stored
        self.assertContainsString(err, "Moved the earlier unsent draft")
        (v1,) = self.drafts()
        self.assertEqual("[MERGE] Third round", v1["Subject"])


def without_uidplus_nor_move(line: bytes) -> bytes:
    """A server without UIDPLUS (GNU Mailutils', say) nor MOVE: neither
    announced, and no APPENDUID in an APPEND's OK."""
    line = hide_capability(b"MOVE")(hide_capability(b"UIDPLUS")(line))
    return re.sub(rb"\[APPENDUID \d+ \d+\] ", b"", line)


class CutOnRemoval(Faults):
    """The connection lost when brz starts to remove an earlier draft."""

    def from_client(self, chunk: bytes) -> bytes:
        if b" UID MOVE " in chunk or b" UID STORE " in chunk:
            raise Cut()
        return chunk


class KillOnRemoval(CutOnRemoval):
    """brz killed (SIGKILL) as it starts to remove an earlier draft."""

    process = None

    def from_client(self, chunk: bytes) -> bytes:
        try:
            return super().from_client(chunk)
        except Cut:
            deadline = time.monotonic() + 10
            while self.process is None and time.monotonic() < deadline:
                time.sleep(0.01)
            self.process.kill()
            self.process.wait()
            raise
