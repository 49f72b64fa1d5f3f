"""The record of merge requests: checked when read, and saved without
losing what another brz process saved meanwhile."""

from __future__ import annotations

import dataclasses
import threading

from breezy import tests


from ..imapclient_plugin import drafts, merge_requests
from ..imapclient_plugin.merge_requests import Damaged, DraftRecord, MergeRequest

GOOD = {"drafts": [{"message_id": "<1.2@example.com>", "folder": "Drafts",
                    "size": 100, "version": 1, "references": [], "stored": True,
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
                       {"size": -1}, {"version": 0}, {"references": "<a@b>"},
                       {"day": "yesterday"}, {"revisions": [["a"]]},
                       {"extra": 1}):
            self.assertRaises(Damaged, merge_requests.parsed, damaged(**fields))
        self.assertRaises(Damaged, merge_requests.parsed, {"drafts": {}, "sent": None})
        self.assertRaises(Damaged, merge_requests.parsed, [])

    def test_what_an_earlier_version_wrote_is_read_without_its_size(self):
        (draft,) = merge_requests.parsed({
            "message_id": "<1.2@example.com>", "subject": "[MERGE] x", "version": 2,
            "folder": "Drafts", "uidvalidity": 7, "uid": 3, "in_reply_to": None,
            "references": []}).drafts
        self.assertEqual((3, None, True), (draft.uid, draft.size, draft.stored))


class TestSaving(tests.TestCaseInTempDir):

    def setUp(self):
        super().setUp()
        self.overrideEnv("XDG_CACHE_HOME", self.test_dir + "/cache")

    def test_two_branches_saving_at_once_keep_both(self):
        request = MergeRequest([DraftRecord("<a@b.c>", "Drafts", 1, 1)])

        def save_many(branch: str) -> None:
            for n in range(40):
                merge_requests.save("%s %d" % (branch, n % 3), request)

        threads = [threading.Thread(target=save_many, args=(branch,))
                   for branch in ("trunk", "feature")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for branch in ("trunk", "feature"):
            for n in range(3):
                self.assertEqual(dataclasses.asdict(request), dataclasses.asdict(
                    merge_requests.remembered("%s %d" % (branch, n))))


class TestCourierFetchKeys(tests.TestCase):

    def test_quoted_field_name(self):
        """Courier-IMAP answers BODY[HEADER.FIELDS ("MESSAGE-ID")]."""
        fetched = {b'BODY[HEADER.FIELDS ("MESSAGE-ID")]': b"Message-ID: <a@b.c>\r\n\r\n"}
        self.assertTrue(drafts.has_message_id(fetched, "<a@b.c>"))
        self.assertFalse(drafts.has_message_id(fetched, "<a@b.d>"))



