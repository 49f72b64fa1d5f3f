"""Revisions of a merge request: the next ``brz send`` replaces the drafts
that were not sent, and replies to the version that was.

One engine for every kind of merge request: a merge directive is one
draft, a git series (``brz send --format=git``) its cover letter and one
draft a patch, as ``git format-patch -v2 --in-reply-to`` threads them.
The record (``merge_requests``) learns of each draft before it is
uploaded, and of where it went once the server confirms it; the drafts
it replaces are removed only after that, and only if provably brz's,
unchanged (``own_drafts``).  A draft a kill, a lost reply or a refused
removal left behind is still remembered, and the next send removes it
the same way.  A message brz stored already, unchanged (same Message-ID,
which names its content), is neither stored again nor removed.
Versions count what was sent: v2 follows a sent v1 however many unsent
drafts were replaced in between.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from typing import Optional, Protocol

from breezy import trace

from . import changes, errors, merge_requests, own_drafts, sent_copies
from .errors import printable
from .merge_requests import DraftRecord, MergeRequest, SentRecord
from .settings import IMAPSettings
from .store import Draft, StoredDraft
from .wire.connection import logged_in
from .wire.mailbox import Connection
from .wire.replies import Appended

MERGE_TAG = re.compile(r"^\[MERGE( v\d+)?\] ?")


@dataclasses.dataclass
class Thread:
    """How the next drafts of a merge request are to be threaded."""

    sent: Optional[SentRecord] = None  # the version they follow
    changes: str = ""  # what changed since it, for the first draft's text

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


class RequestDrafts(Protocol):
    """What a merge request is made of, as the engine needs it: its drafts
    for a thread, the first heading the others (``mail_client``'s
    ``BundleDraft``, ``git_series.SeriesDrafts``)."""

    title: str  # brz's subject without its tag: how a sent copy is found
    revisions: list  # [[id, line]] of what it holds, for "changes since"
    token: str  # what a sent copy's attachment holds (a directive's), or ""

    def make(self, thread: Thread) -> list[Draft]: ...


class NextRevision:
    """A merge request's drafts as its next revision: made once the
    folder shows whether the last version was sent, remembered before they
    are stored.  ``drafts`` are the latest made (kept if storing fails)."""

    def __init__(self, key: str, request: MergeRequest, made_of: RequestDrafts) -> None:
        self.key, self.request, self.made_of = key, request, made_of
        self.thread = Thread(request.sent)
        self.drafts: list[Draft] = []
        self.new: list[DraftRecord] = []  # of what this send uploads
        self.replaces: list[DraftRecord] = []  # the earlier drafts still there
        self.superseded: list[DraftRecord] = []  # earlier ones brz send kept in a file
        self._looked = False

    def adopt(self, drafts: list[Draft]) -> None:
        """Where nothing is remembered, the drafts made before connecting
        are the first revision: storing them needs no look at the folder."""
        if not self.request.drafts and not self.request.sent:
            self._remember(drafts, folder=None)
            self._looked = True

    def prepare(self, connection: Connection, folder: str) -> list[Draft]:
        """The drafts, once ``folder`` (the Drafts folder in use) shows
        which remembered drafts are still unsent."""
        if not self._looked:
            self.thread = self._thread_for(connection, folder)
            self._make(folder)
            self._looked = True
        return self.drafts

    def to_keep(self) -> list[Draft]:
        """The drafts to keep when storing failed.  Where it failed before
        the folder was looked at, they are made as the record says (the
        version sent last followed), and remembered: ``brz imap-send`` of
        them replaces the earlier drafts."""
        if not self.drafts:
            self._make(folder=None)
        return self.drafts

    def checks(self, connection: Connection, folder: str) -> list[bytes]:
        """What to send behind the APPEND of one draft: the checks of the
        drafts it replaces (they change no mail)."""
        return (own_drafts.checks_before_removal(connection, folder, self.replaces)
                if self.replaces else [])

    @property
    def stored_is_local(self) -> bool:
        """Telling it the drafts are stored sends the server nothing."""
        return not self.replaces

    def stored(self, connection: Connection, folder: str, places: list[Appended],
               checked: Optional[list] = None) -> None:
        """All stored (``places``: where, as the server said, in the order
        of ``drafts``): remembered so, then the drafts they replace removed
        (``checked``: the replies to ``checks``, where sent ahead)."""
        where = {draft.message_id: place for draft, place in zip(self.drafts, places)}
        placed = [(record, where.get(record.message_id, Appended(None, None)))
                  for record in self.new]
        record_stored(connection, self.key, self.request, placed, folder, self.replaces,
                      last_use=True, replies=checked)
        forget_kept_files(self.key, self.request, self.superseded)
        sent = self.thread.sent
        if sent is not None:
            trace.note('%s saved as v%d, a reply to "%s" sent %s.',
                       "Draft" if len(self.drafts) == 1 else "Series", self.thread.version,
                       printable(sent.subject), sent.day or "earlier")

    def kept_in(self, path: str) -> None:
        """The drafts are kept in ``path`` (storing failed): remembered
        with the head draft, so that a later version removes the file."""
        from .unsent import file_digest

        head = [r for r in self.request.drafts if r.message_id == self.drafts[0].message_id]
        if head and os.path.isabs(path):
            head[-1].kept = [path, file_digest(path)]
            merge_requests.save(self.key, self.request)

    def _thread_for(self, connection: Connection, folder: str) -> Thread:
        """The thread the drafts join: the version last sent, found by the
        newest of the remembered drafts that is gone from ``folder``; the
        records of what is gone forgotten, those left alone said so."""
        request = self.request
        self.superseded = [r for r in request.drafts if r.kept]
        looks = own_drafts.look_and_say(connection, folder, request.drafts)
        there = [r for r, found in zip(request.drafts, looks) if found.state == own_drafts.THERE]
        gone = [r for r, found in zip(request.drafts, looks)
                if found.state == own_drafts.GONE and r.stored and _heads_its_send(r)]
        sent = request.sent
        if gone:
            newest = gone[-1]
            copy = sent_copies.find_sent(connection, newest, self.made_of.title)
            if copy is not None:
                sent = SentRecord(copy.message_id, newest.version, newest.references,
                                  copy.subject, copy.day, newest.revisions)
            elif not there:
                trace.note(
                    'The previous draft of this merge request (%s) is neither in'
                    ' "%s" nor in a sent folder: it was edited or deleted, and is'
                    " left alone. %s", printable(newest.message_id), printable(folder),
                    "This draft starts a new thread." if sent is None else
                    "This draft follows v%d, sent %s." % (sent.version, sent.day))
        request.sent, request.drafts = sent, there
        return Thread(sent)

    def _make(self, folder: Optional[str]) -> None:
        sent = self.thread.sent
        since = changes.since_sent(sent, self.made_of.revisions) if sent else ""
        self.thread = Thread(sent, since)
        self._remember(self.made_of.make(self.thread), folder)

    def _remember(self, drafts: list[Draft], folder: Optional[str]) -> None:
        """Remembered before they are uploaded: a kill, a lost reply or a
        timeout cannot leave them behind unknown.  A draft already
        remembered (the same Message-ID: the same content) is neither
        remembered again nor replaced."""
        self.drafts = drafts
        ids = {draft.message_id for draft in drafts}
        known = {record.message_id for record in self.request.drafts}
        self.replaces = [r for r in self.request.drafts if r.message_id not in ids]
        thread, head = self.thread, drafts[0].message_id
        today = datetime.date.today().isoformat()
        self.new = [DraftRecord(
            draft.message_id, folder, own_drafts.fingerprint(draft.data), thread.version,
            thread.references + ([head] if index else []), day=today,
            token=self.made_of.token if index == 0 else "",
            revisions=self.made_of.revisions if index == 0 else [])
            for index, draft in enumerate(drafts) if draft.message_id not in known]
        self.request.drafts += self.new
        merge_requests.save(self.key, self.request)


def _heads_its_send(record: DraftRecord) -> bool:
    """A merge directive's draft or a series' cover letter, not one of its
    patches (which reply to their cover letter, and hold no revisions)."""
    return bool(record.token or record.revisions or not record.references)


def forget_kept_files(key: str, request: MergeRequest, superseded: list) -> None:
    """The files brz send kept ``superseded``'s drafts in are replaced by
    a version now stored: removed where unchanged (``unsent``)."""
    from .unsent import remove_superseded

    for record in superseded:
        remove_superseded(record.kept)
        record.kept = []
    if superseded:
        ids = [r.message_id for r in superseded if r.message_id not in request.superseded]
        request.superseded = (request.superseded + ids)[-100:]
        merge_requests.save(key, request)


def record_stored(connection: Connection, key: str, request: MergeRequest,
                  placed: list[tuple[DraftRecord, Appended]], folder: str,
                  earlier: list, **removal) -> None:
    """Each record's draft is stored where the server said: remembered
    so, then the ``earlier`` drafts they replace removed
    (``own_drafts.remove``, given ``removal``) and those settled
    forgotten.  A UID is kept only with its UIDVALIDITY (a UID found by a
    search after a lost reply has none, and is found again the same way
    when needed)."""
    for record, appended in placed:
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
            for message_id, where, _owner in owned:
                # Read again each time: the one before may have changed it.
                owner = merge_requests.owner_of(message_id)
                if owner is not None:
                    _settle(connection, owner[0], owner[1], message_id, where, just_stored)
    except errors.IMAPDraftError as e:
        trace.warning("The draft is stored, but: %s", e)


def refuse_superseded(name: str, message_ids: list[str]) -> None:
    """SupersededDraft where ``name`` holds a kept draft that a later
    version of its merge request replaced: storing it would bring the old
    version back beside the new one."""
    for message_id in message_ids:
        found = merge_requests.superseding(message_id)
        if found is None:
            continue
        key, request = found
        heads = [d for d in request.drafts if _heads_its_send(d)]
        newer = ("v%d, stored %s" % (heads[-1].version, heads[-1].day or "earlier") if heads
                 else "v%d, sent %s" % (request.sent.version, request.sent.day or "earlier")
                 if request.sent else "since removed")
        raise errors.SupersededDraft(name=name, request=printable(key), newer=newer)


def _settle(connection: Connection, key: str, request: MergeRequest, message_id: str,
            where: StoredDraft, just_stored: set) -> None:
    """The kept draft replaces the drafts remembered before it, and their
    kept files; the others of a series stored together (``just_stored``)
    and any newer version are not replaced."""
    index = max(i for i, d in enumerate(request.drafts) if d.message_id == message_id)
    kept, older = request.drafts[index], request.drafts[:index]
    kept.kept = []  # the file is removed by brz imap-send
    record_stored(connection, key, request, [(kept, Appended(None, where.uid))],
                  where.folder.name, [d for d in older if d.message_id not in just_stored])
    forget_kept_files(key, request, [d for d in older
                                     if d.kept and d.message_id not in just_stored])


def next_revision(config, directive: bytes, settings: IMAPSettings,
                  made_of: RequestDrafts) -> Optional[NextRevision]:
    """The merge request's next revision, or None where revisions are off
    (imap_revisions = False) or brz send gave no branch.  With
    imap_new_thread, what was remembered is forgotten: a new thread starts."""
    if not settings.revisions:
        return None
    key = merge_request_key(config, directive, settings)
    if key is None:
        return None
    request = MergeRequest() if settings.new_thread else merge_requests.remembered(key)
    return NextRevision(key, request, made_of)


def merge_request_key(config, directive: bytes, settings: IMAPSettings) -> Optional[str]:
    """Which merge request this is: the branch and the directive's target,
    on this account; None where brz send gave no branch."""
    branch = getattr(config, "branch", None)
    target = merge_requests.directive_target(directive)
    if branch is None or target is None:
        return None
    return request_key(branch.base, target, settings)


def request_key(branch_base: str, target: str, settings: IMAPSettings) -> str:
    """A merge request's key: the branch and its target, on this account
    (user@host; not the port: a proxy or tunnel may vary it)."""
    return "%s (%s@%s)" % (merge_requests.request_name(branch_base, target),
                           settings.username, settings.host)
