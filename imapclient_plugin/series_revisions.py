"""Revisions of a git patch series (``brz send --format=git``): the next
send replaces the series not sent yet, and follows the one that was, as
``git format-patch -v2 --in-reply-to`` would: ``[PATCH v2 0/N]`` replying
to the cover letter sent before, with what changed since.

The rules of a merge directive's revisions (``revisions``) hold: every
message of a series is remembered before it is uploaded, the earlier ones
are removed only once the new ones are stored, and only if provably brz's
and unchanged (``own_drafts``).  A cover letter's record holds the series'
commits (its ``revisions``); a patch's record holds none.
"""

from __future__ import annotations

import datetime
from typing import Callable, Optional

from breezy import trace

from . import changes, merge_requests, own_drafts, sent_copies
from .errors import printable
from .merge_requests import DraftRecord, MergeRequest, SentRecord
from .revisions import Thread, request_key
from .store import Draft
from .wire.mailbox import Connection
from .wire.replies import Appended

# (thread, what changed since the version sent) -> the cover letter, then the patches
MakeDrafts = Callable[[Thread, str], list]


class NextSeries:
    """The series as the next revision of its merge request."""

    def __init__(self, key: str, request: MergeRequest, make: MakeDrafts,
                 title: str, commits: list) -> None:
        self.key, self.request, self.make = key, request, make
        self.title, self.commits = title, commits
        self.thread = Thread(request.sent)
        self.drafts: list = []
        self.new: list = []  # DraftRecords of what this send uploads
        self.replaces: list = []  # DraftRecords of the earlier series, still there

    def prepare(self, connection: Connection, folder: str) -> list[Draft]:
        """Once ``folder`` shows what of the earlier series is still there
        (and so whether it was sent): the drafts, remembered."""
        self.thread = Thread(self._sent(connection, folder))
        sent = self.thread.sent
        self.drafts = self.make(self.thread, changes.since_sent(sent, self.commits)
                                if sent is not None else "")
        new_ids = {draft.message_id for draft in self.drafts}
        known = {record.message_id for record in self.request.drafts}
        self.replaces = [r for r in self.request.drafts if r.message_id not in new_ids]
        cover_id = self.drafts[0].message_id
        today = datetime.date.today().isoformat()
        self.new = [DraftRecord(
            draft.message_id, folder, own_drafts.fingerprint(draft.data),
            self.thread.version,
            self.thread.references + ([cover_id] if index else []), day=today,
            revisions=self.commits if index == 0 else [])
            for index, draft in enumerate(self.drafts) if draft.message_id not in known]
        self.request.drafts += self.new
        merge_requests.save(self.key, self.request)
        return self.drafts

    def _sent(self, connection: Connection, folder: str) -> Optional[SentRecord]:
        """The version sent last; the records of what is gone (sent, or
        deleted) forgotten, those left alone said so."""
        request = self.request
        looks = own_drafts.look_and_say(connection, folder, request.drafts)
        gone_covers = [r for r, found in zip(request.drafts, looks)
                       if found.state == own_drafts.GONE and r.stored and r.revisions]
        request.drafts = [r for r, found in zip(request.drafts, looks)
                          if found.state == own_drafts.THERE]
        if gone_covers:
            newest = gone_covers[-1]
            copy = sent_copies.find_sent(connection, newest, self.title)
            if copy is not None:
                request.sent = SentRecord(copy.message_id, newest.version, newest.references,
                                          copy.subject, copy.day, newest.revisions)
        return request.sent

    def stored(self, connection: Connection, folder: str, places: list[Appended]) -> None:
        """All stored: remembered so, with the UID each went to where the
        server said it (with its UIDVALIDITY), then the earlier series
        removed."""
        where = {draft.message_id: place for draft, place in zip(self.drafts, places)}
        for record in self.new:
            record.stored, record.folder = True, folder
            place = where.get(record.message_id)
            if place is not None and place.uidvalidity is not None and place.uid is not None:
                record.uidvalidity, record.uid = place.uidvalidity, place.uid
        merge_requests.save(self.key, self.request)
        if self.replaces:
            settled = own_drafts.remove(connection, folder, self.replaces)
            self.request.drafts = [d for d in self.request.drafts if d not in settled]
            merge_requests.save(self.key, self.request)
        sent = self.thread.sent
        if sent is not None:
            trace.note('Series saved as v%d, a reply to "%s" sent %s.', self.thread.version,
                       printable(sent.subject), sent.day or "earlier")


def next_series(settings, branch_base: Optional[str], target: Optional[str],
                make: MakeDrafts, title: str, commits: list) -> Optional[NextSeries]:
    """None where revisions are off or the branch is not known."""
    if not settings.revisions or not branch_base or not target:
        return None
    key = request_key(branch_base, target, settings)
    request = MergeRequest() if settings.new_thread else merge_requests.remembered(key)
    return NextSeries(key, request, make, title, commits)
