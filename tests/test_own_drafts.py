"""Nothing but brz's own unchanged draft is ever removed, whatever the
record says and whatever happens to the connection."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import Cut, Faults, RewritingProxy, hide_capability
from .server_behaviours import CountCommands
from .test_faults import first_connection
from ..imapclient_plugin import own_drafts
from .proxy import CutInsideLiteral
from .test_revisions import MINE, RevisionsTestCase, records_path


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

    def test_without_uidplus_an_edit_of_any_header_is_left_alone(self):
        """No UID known: every header field brz wrote counts, not only the
        ones most often edited (here the mail program changed only Date)."""
        self.through_proxy(lambda n: CountCommands(without_uidplus_nor_move))
        self.send()
        self.edit_draft_keeping_its_message_id(edit=lambda raw: re.sub(
            rb"(?m)^Date: [^\r]*", b"Date: Mon, 7 Dec 2026 10:00:00 +0000", raw, count=1))
        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "alone: it was edited since brz stored it")
        self.assertEqual(2, len(self.drafts()))
        self.assertEqual([], self.drafts("Trash"))

    def test_a_move_the_server_does_not_show_is_not_believed(self):
        """A UID MOVE answered OK, but without the COPYUID that UIDPLUS
        promises (here: never done at all), leaves the draft remembered."""
        self.send()
        self.commit("Address review")
        self.through_proxy(lambda n: MoveNotDone())
        _, err = self.send()
        self.assertContainsString(err, 'The server said it moved the earlier unsent draft'
                                  ' of this merge request (UID 1) to "Trash", but not where')
        self.assertEqual(2, len(self.drafts()))
        self.configure(self.server)  # no proxy: the next send moves both
        self.commit("Another round")
        _, err = self.send()
        self.assertContainsString(err, "Moved the earlier unsent drafts of this merge request"
                                  ' (UID 1, 2) to "Trash".')
        self.assertEqual(["[MERGE] Another round"], [m["Subject"] for m in self.drafts()])

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
        with open(records_path(), "w") as f:  # a file no JSON reader can take
            f.write("[" * 100000 + "]" * 100000)
        self.commit("Round nested")
        _, err = self.send()
        self.assertNotContainsString(err, "Traceback")
        self.assertContainsString(err, "Ignoring %s: it is not what brz writes (nested"
                                  " too deep)." % records_path())
        self.assertEqual(7, len(self.drafts()))

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


class MoveNotDone(Faults):
    """The server is asked for a NOOP where brz asks for a UID MOVE: it says
    OK, with no COPYUID, and nothing moves."""

    def from_client(self, chunk: bytes) -> bytes:
        return re.sub(rb"(?m)^(\S+) UID MOVE [^\r\n]*", rb"\1 NOOP", chunk)
