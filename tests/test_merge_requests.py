"""The record of merge requests: checked when read, and saved without
losing what another brz process saved meanwhile."""

from __future__ import annotations

import os
import subprocess
import threading

from breezy import bedding, tests

from . import fixtures

from ..imapclient_plugin import cache_files, merge_requests
from ..imapclient_plugin.wire import replies
from ..imapclient_plugin.merge_requests import Damaged

GOOD = {"drafts": [{"message_id": "<1.2@example.com>", "folder": "Drafts",
                    "fingerprint": "0" * 64, "version": 1, "references": [], "stored": True,
                    "uidvalidity": 7, "uid": 3, "day": "2026-12-03",
                    "token": "rev-1 2026-12-03 10:00:00 +0000",
                    "revisions": [["rev-1", "2: Zoë 2026-12-03 Say hello"]]}],
        "sent": None}


def damaged(**fields) -> dict:
    entry = {"drafts": [dict(GOOD["drafts"][0], **fields)], "sent": None}
    return entry


class TestChecks(tests.TestCase):

    def test_a_good_entry(self):
        (draft,) = merge_requests.parsed(GOOD).drafts
        self.assertEqual(3, draft.uid)

    def test_damage_is_refused(self):
        for fields in ({"uid": "3"}, {"uid": 0}, {"uid": 2 ** 32}, {"uid": True},
                       {"message_id": 7}, {"message_id": "<a b@c>"},
                       {"message_id": "<a@b>\r\nBcc: x"}, {"folder": ["INBOX"]},
                       {"folder": "Drafts\u202e"}, {"folder": "Drafts\x1b[2J"},
                       {"fingerprint": "x" * 64}, {"fingerprint": None}, {"version": 0}, {"references": "<a@b>"},
                       {"day": "yesterday"}, {"revisions": [["a"]]},
                       {"kept": ["kept.eml", "0" * 64]}, {"kept": ["/k.eml", "x"]},
                       {"kept": ["/k.eml"]}, {"extra": 1}):
            self.assertRaises(Damaged, merge_requests.parsed, damaged(**fields))
        self.assertRaises(Damaged, merge_requests.parsed, {"drafts": {}, "sent": None})
        self.assertRaises(Damaged, merge_requests.parsed, dict(GOOD, superseded="<a@b>"))
        self.assertRaises(Damaged, merge_requests.parsed, dict(GOOD, superseded=["a"]))
        self.assertEqual(["<a@b>"], merge_requests.parsed(
            dict(GOOD, superseded=["<a@b>"])).superseded)
        self.assertEqual(["/k.eml", "0" * 64], merge_requests.parsed(
            damaged(kept=["/k.eml", "0" * 64])).drafts[0].kept)
        self.assertRaises(Damaged, merge_requests.parsed, [])

    def test_what_an_earlier_version_wrote_is_read_without_a_fingerprint(self):
        (draft,) = merge_requests.parsed({
            "message_id": "<1.2@example.com>", "subject": "[MERGE] x", "version": 2,
            "folder": "Drafts", "uidvalidity": 7, "uid": 3, "in_reply_to": None,
            "references": []}).drafts
        self.assertEqual((3, "", True), (draft.uid, draft.fingerprint, draft.stored))


class TestSaving(tests.TestCaseInTempDir):

    def setUp(self):
        super().setUp()
        self.overrideEnv("XDG_CACHE_HOME", self.test_dir + "/cache")

    def test_two_branches_saving_at_once_keep_both(self):
        """Two brz processes, each saving its own merge requests over and
        over: every entry of both is there at the end."""
        code = ("from breezy.plugins.imapclient.imapclient_plugin import merge_requests as m\n"
                "request = m.MergeRequest([m.DraftRecord('<a@b.c>', 'Drafts', '', 1)])\n"
                "for n in range(150):\n"
                "    m.save('%s %d' % (BRANCH, n), request)\n")
        bedding.cache_dir()  # made once: Breezy's own making of it races
        processes = [subprocess.Popen(fixtures.python_with_plugin(
            "BRANCH = %r\n" % branch + code)) for branch in ("trunk", "feature")]
        for process in processes:
            self.assertEqual(0, process.wait(timeout=120))
        for branch in ("trunk", "feature"):
            for n in range(150):
                self.assertEqual(1, merge_requests.remembered(
                    "%s %d" % (branch, n)).drafts[0].version)


class TestHostileRecordFiles(tests.TestCaseInTempDir):
    """A record file brz did not write is read as empty, with a warning
    naming it: never a hang, never a traceback."""

    def setUp(self):
        super().setUp()
        self.overrideEnv("XDG_CACHE_HOME", self.test_dir + "/cache")
        os.makedirs(os.path.dirname(cache_files.path(merge_requests.CACHE_FILE)), 0o700)
        self.path = cache_files.path(merge_requests.CACHE_FILE)

    def remembered_within(self, seconds: float) -> merge_requests.MergeRequest:
        found = []
        reader = threading.Thread(target=lambda: found.append(
            merge_requests.remembered("trunk -> feature")), daemon=True)
        reader.start()
        reader.join(seconds)
        self.assertFalse(reader.is_alive(), "reading the record hangs")
        return found[0]

    def test_a_fifo_is_not_read(self):
        os.mkfifo(self.path, 0o600)
        self.assertEqual([], self.remembered_within(10).drafts)
        self.assertContainsString(self.get_log(), "Ignoring %s: it is not a regular file."
                                  % self.path)

    def test_a_record_nested_too_deep_is_a_warning(self):
        with open(self.path, "w") as f:
            f.write("[" * 100000 + "]" * 100000)
        os.chmod(self.path, 0o600)
        self.assertEqual([], self.remembered_within(10).drafts)
        self.assertContainsString(self.get_log(), "Ignoring %s: it is not what brz writes"
                                  " (nested too deep)." % self.path)


class TestCourierFetchKeys(tests.TestCase):

    def test_quoted_field_name(self):
        """Courier-IMAP answers BODY[HEADER.FIELDS ("MESSAGE-ID")]."""
        fetched = {b'BODY[HEADER.FIELDS ("MESSAGE-ID")]': b"Message-ID: <a@b.c>\r\n\r\n"}
        self.assertTrue(replies.has_message_id(fetched, "<a@b.c>"))
        self.assertFalse(replies.has_message_id(fetched, "<a@b.d>"))



