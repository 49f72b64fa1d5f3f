"""Revisions of a merge request: the next ``brz send`` replaces the drafts
that were not sent, and replies to the version that was.

The record (``merge_requests``) learns of a draft before it is uploaded,
and of where it went once the server confirms it; the drafts it replaces
are removed only after that, and only if provably brz's, unchanged
(``own_drafts``).  A draft a kill, a lost reply or a refused removal left
behind is still remembered, and the next send removes it the same way.
Versions count what was sent: v2 follows a sent v1 however many unsent
drafts were replaced in between.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Optional

from breezy import trace

from . import changes, errors, merge_requests, own_drafts, sent_copies
from .draft_data import DraftData
from .errors import printable
from .merge_requests import DraftRecord, MergeRequest, SentRecord
from .message import build_draft, draft_bytes
from .settings import IMAPSettings
from .store import Draft, StoredDraft
from .wire.connection import logged_in
from .wire.mailbox import Connection
from .wire.replies import Appended

TARGET_BRANCH = re.compile(rb"^# target_branch: (\S+)$", re.MULTILINE)
MERGE_TAG = re.compile(r"^\[MERGE( v\d+)?\] ?")


@dataclasses.dataclass
class Thread:
    """How the next draft of a merge request is to be stored."""

    sent: Optional[SentRecord] = None  # the version it follows

    @property
    def version(self) -> int:
        return self.sent.version + 1 if self.sent else 1

    @property
    def in_reply_to(self) -> Optional[str]:
        return self.sent.message_id if self.sent else None

    @property
    def references(self) -> list:
        return self.sent.references + [self.sent.message_id] if self.sent else []

    def subject(self, subject: str) -> str:
        """``[MERGE vN]`` for a draft that follows a sent version."""
        if self.sent is None:
            return subject
        return "[MERGE v%d] %s" % (self.version, MERGE_TAG.sub("", subject))


class NextRevision:
    """brz send's draft as the next revision of its merge request: built
    once the folder shows whether the last one was sent, remembered before
    it is stored.  ``data`` is the latest draft built (kept if storing
    fails)."""

    def __init__(self, key: str, request: MergeRequest, subject: str,
                 fields: dict, revisions: list) -> None:
        self.key, self.request, self.subject = key, request, subject
        self.fields, self.revisions = fields, revisions
        self.token = sent_copies.directive_token(fields["attachment"])
        self.thread = Thread(request.sent)
        self.data: Optional[DraftData] = None
        self.message_id = ""
        self.replaces: list = []  # DraftRecords still in the folder

    def first(self, data: DraftData, message_id: str) -> Optional[Draft]:
        """Where nothing is remembered, the draft already built is the
        first revision: known before connecting, and storing it tells the
        server nothing more."""
        if self.request.drafts or self.request.sent:
            return None
        self._remember_new(data, message_id, folder=None)
        return Draft(data, message_id, self._stored, after_append_is_local=True)

    def to_keep(self, data: DraftData) -> DraftData:
        """The draft to keep when storing failed.  Where it failed before
        the folder was looked at, it is built as the record says (the last
        draft still unsent, the version sent last followed), and
        remembered: ``brz imap-send`` of it replaces the earlier drafts."""
        if self.data is None:
            self._build(folder=None)
        return self.data

    def prepare(self, connection: Connection, folder: str) -> Draft:
        """The draft, once ``folder`` (the Drafts folder in use) shows
        which remembered drafts are still unsent."""
        self.thread = self._thread_for(connection, folder)
        self._build(folder)
        return Draft(self.data, self.message_id, self._stored,
                     after_append_is_local=not self.replaces,
                     sent_behind_append=self._checks if self.replaces else None)

    def _checks(self, connection: Connection, folder: str) -> list[bytes]:
        return own_drafts.checks_before_removal(connection, folder, self.replaces)

    def _thread_for(self, connection: Connection, folder: str) -> Thread:
        request = self.request
        looks = own_drafts.look_and_say(connection, folder, request.drafts)
        self.replaces = [r for r, found in zip(request.drafts, looks)
                         if found.state == own_drafts.THERE]
        gone = [r for r, found in zip(request.drafts, looks)
                if found.state == own_drafts.GONE and r.stored]
        sent = request.sent
        if gone:
            newest = gone[-1]
            copy = sent_copies.find_sent(connection, newest, MERGE_TAG.sub("", self.subject))
            if copy is not None:
                sent = SentRecord(copy.message_id, newest.version, newest.references,
                                  copy.subject, copy.day, newest.revisions)
            elif not self.replaces:
                trace.note(
                    'The previous draft of this merge request (%s) is neither in'
                    ' "%s" nor in a sent folder: it was edited or deleted, and is'
                    " left alone. %s", printable(newest.message_id), printable(folder),
                    "This draft starts a new thread." if sent is None else
                    "This draft follows v%d, sent %s." % (sent.version, sent.day))
        request.sent = sent
        request.drafts = list(self.replaces)
        return Thread(sent)

    def _build(self, folder: Optional[str]) -> None:
        thread = self.thread
        message = build_draft(
            subject=thread.subject(self.subject), in_reply_to=thread.in_reply_to,
            references=thread.references,
            changes=changes.since_sent(thread.sent, self.revisions) if thread.sent else "",
            **self.fields)
        self._remember_new(draft_bytes(message), message["Message-ID"], folder)

    def _remember_new(self, data: DraftData, message_id: str,
                      folder: Optional[str]) -> None:
        """Remembered before it is uploaded: a kill, a lost reply or a
        timeout cannot leave it behind unknown."""
        self.data, self.message_id = data, message_id
        thread = self.thread
        self.new = DraftRecord(
            message_id, folder, own_drafts.fingerprint(data), thread.version,
            thread.references,
            day=datetime.date.today().isoformat(), token=self.token,
            revisions=self.revisions)
        self.request.drafts.append(self.new)
        merge_requests.save(self.key, self.request)

    def _stored(self, connection: Connection, folder: str, appended: Appended,
                checked: Optional[list] = None) -> None:
        """Stored: remembered where, then the drafts it replaces removed
        (``checked``: the replies to their checks, sent behind the APPEND)."""
        _record_stored(connection, self.key, self.request, self.new, folder, appended,
                       self.replaces, last_use=True, replies=checked)
        if self.thread.sent is not None:
            trace.note('Draft saved as v%d, a reply to "%s" sent %s.',
                       self.thread.version, printable(self.thread.sent.subject),
                       self.thread.sent.day or "earlier")


def _record_stored(connection: Connection, key: str, request: MergeRequest, record: DraftRecord,
                   folder: str, appended: Appended, earlier: list, **removal) -> None:
    """``record``'s draft is stored where the server said: remembered so,
    then the ``earlier`` drafts it replaces removed (``own_drafts.remove``,
    given ``removal``) and those settled forgotten.  A UID is kept only
    with its UIDVALIDITY (a UID found by a search after a lost reply has
    none, and is found again the same way when needed)."""
    record.stored, record.folder = True, folder
    if appended.uidvalidity is not None and appended.uid is not None:
        record.uidvalidity, record.uid = appended.uidvalidity, appended.uid
    merge_requests.save(key, request)
    if earlier:
        settled = own_drafts.remove(connection, folder, earlier, **removal)
        request.drafts = [d for d in request.drafts if d not in settled]
        merge_requests.save(key, request)


def settle_kept(settings: IMAPSettings, stored: list[tuple[str, StoredDraft]]) -> None:
    """After ``brz imap-send`` of messages ``brz send`` kept ((Message-ID,
    where it is now) each): their merge requests learn they are stored,
    and the drafts they replace are removed, as brz send would have.
    The drafts are stored whatever happens here: a failure is a warning."""
    owned = [(message_id, where, merge_requests.owner_of(message_id))
             for message_id, where in stored]
    owned = [(m, where, owner) for m, where, owner in owned if owner is not None]
    if not owned:
        return
    just_stored = {message_id for message_id, _where in stored}
    try:
        with logged_in(settings) as connection:
            for message_id, where, (key, request) in owned:
                _settle(connection, key, request, message_id, where, just_stored)
    except errors.IMAPDraftError as e:
        trace.warning("The draft is stored, but: %s", e)


def _settle(connection: Connection, key: str, request: MergeRequest, message_id: str,
            where: StoredDraft, just_stored: set) -> None:
    """The others of a series stored together (``just_stored``) are not
    the drafts it replaces."""
    (kept,) = [d for d in request.drafts if d.message_id == message_id][-1:]
    _record_stored(connection, key, request, kept, where.folder.name, Appended(None, where.uid),
                   [d for d in request.drafts
                    if d is not kept and d.message_id not in just_stored])


def next_revision(config, directive: bytes, settings: IMAPSettings, subject: str,
                  fields: dict) -> Optional[NextRevision]:
    """The merge request's next revision, or None where revisions are off
    (imap_revisions = False) or brz send gave no branch.  With
    imap_new_thread, what was remembered is forgotten: a new thread starts."""
    if not settings.revisions:
        return None
    key = merge_request_key(config, directive, settings)
    if key is None:
        return None
    request = MergeRequest() if settings.new_thread else merge_requests.remembered(key)
    revisions = changes.revisions_of(getattr(config, "branch", None), directive)
    return NextRevision(key, request, subject, fields, revisions)


def merge_request_key(config, directive: bytes, settings: IMAPSettings) -> Optional[str]:
    """Which merge request this is: the branch and the directive's target,
    on this account; None where brz send gave no branch."""
    branch = getattr(config, "branch", None)
    target = TARGET_BRANCH.search(directive[:4096])
    if branch is None or target is None:
        return None
    return request_key(branch.base, target.group(1).decode("utf-8", "replace"), settings)


def request_key(branch_base: str, target: str, settings: IMAPSettings) -> str:
    """A merge request's key: the branch and its target, on this account
    (user@host; not the port: a proxy or tunnel may vary it)."""
    return "%s (%s@%s)" % (merge_requests.request_name(branch_base, target),
                           settings.username, settings.host)
