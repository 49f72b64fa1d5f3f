"""Stores a message in the Drafts folder: exactly once, or an error.

Used by the ``imapclient`` mail client (``brz send``) and ``brz imap-send``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Callable, Optional, Protocol, Sequence

from breezy import trace

from . import drafts, errors, folder_cache
from .draft_data import DraftData, slices
from .errors import printable
from .settings import IMAPSettings
from .wire.connection import logged_in
from .wire.faults import LOST
from .wire.mailbox import Connection
from .wire.replies import Appended, fetch_item


@dataclasses.dataclass(frozen=True)
class StoredDraft:
    folder: drafts.DraftsFolder
    uid: Optional[int]
    web_link: Optional[str] = None
    already_there: bool = False  # found, not stored (brz imap-send)


def report_stored(settings: IMAPSettings, stored: StoredDraft, name: str = "") -> None:
    """Say where the draft is, one line (naming the message where several
    may be stored); open it in the browser if asked to."""
    trace.note(
        '%s "%s" on %s%s%s',
        "Already in" if stored.already_there else "Draft saved to",
        printable(stored.folder.name),
        settings.host,
        " (UID %d)" % stored.uid if stored.uid is not None else "",
        ": " + printable(name) if name else ".",
    )
    if stored.web_link is None:
        return
    trace.note("Open it: %s", printable(stored.web_link))
    if settings.open_draft:
        import webbrowser

        webbrowser.open(stored.web_link)


def subject_of(data: bytes, message_id: str) -> str:
    """What names a message in imap-send's lines: its subject, RFC 2047
    words decoded, else its Message-ID."""
    import email.parser
    import email.policy

    header = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
        bytes(data).partition(b"\r\n\r\n")[0])
    subject = " ".join(printable(str(header["Subject"] or "")).split())
    return subject[:80] or message_id


@dataclasses.dataclass
class Draft:
    """A message to store.  ``fresh_id`` where its Message-ID was just
    made (brz send's merge directive): no folder can hold it yet, so it is
    stored without a search first."""

    data: DraftData
    message_id: str
    fresh_id: bool = False


class Revision(Protocol):
    """What stores a merge request's next revision (``revisions``) does
    on the connection: make the drafts once the folder is known, be told
    where they went."""

    def prepare(self, connection: Connection, folder: str) -> list[Draft]: ...

    def checks(self, connection: Connection, folder: str) -> list[bytes]: ...

    @property
    def stored_is_local(self) -> bool: ...

    def stored(self, connection: Connection, folder: str, places: list[Appended],
               checked: Optional[list] = None) -> None: ...


def store_drafts(settings: IMAPSettings, messages: Sequence[Draft],
                 revision: Optional[Revision] = None) -> list[StoredDraft]:
    """Connect, log in, find the Drafts folder and store each message
    exactly once, in turns that do not grow with their number: what is
    there already is found in one turn and skipped, the rest goes up in
    one MULTIAPPEND where offered.  If the connection is lost while the
    outcome is unknown, it reconnects once, looks, stores what is missing
    and looks again.  ``revision`` (brz send) makes the messages once the
    folder is known, and is told on the same connection where they went.
    A remembered folder the server no longer has (TRYCREATE) is forgotten
    and found again, on a new connection: LOGOUT may have gone already."""
    remembered = folder_cache.remembered(settings)
    try:
        with logged_in(settings) as connection:
            return _store_on(connection, remembered, messages, revision)
    except errors.MailboxRefused:
        if not remembered or settings.mailbox:
            raise
        folder_cache.forget(settings)
        return store_drafts(settings, messages, revision)


def _store_on(connection: Connection, remembered: Optional[str], messages: Sequence[Draft],
              revision: Optional[Revision]) -> list[StoredDraft]:
    folder = _drafts_folder(connection, remembered)
    if revision is not None:
        messages = revision.prepare(connection, folder.name)
    connection.check_append_limit(max(len(m.data) for m in messages))
    try:
        if len(messages) == 1 and messages[0].fresh_id:
            places = [(_append_fresh(connection, folder.name, messages[0], revision), False)]
        else:
            places = _append_missing(connection, folder.name, messages)
            _tell(revision, connection, folder.name, places)
    except LOST as lost:
        trace.note("%s Reconnecting to check %s.", lost, "whether the draft arrived"
                   if len(messages) == 1 else "which drafts arrived")
        with logged_in(connection.settings, password=connection.password) as again:
            places = _append_missing(again, folder.name, messages, look_again=True)
            _tell(revision, again, folder.name, places)
        connection = again
        if any(there for m, (_where, there) in zip(messages, places) if m.fresh_id):
            trace.note("The draft was already there.")  # the upload whose reply was lost
            places = [(where, there and not m.fresh_id)
                      for m, (where, there) in zip(messages, places)]
    return [StoredDraft(folder, where.uid, drafts.gmail_link(connection, m.message_id), there)
            for m, (where, there) in zip(messages, places)]


def _append_fresh(connection: Connection, folder: str, draft: Draft,
                  revision: Optional[Revision]) -> Appended:
    """One draft no folder holds yet, in one turn: the checks of what it
    replaces behind its APPEND, and LOGOUT too where nothing follows."""
    behind = revision.checks(connection, folder) if revision is not None else []
    appended, pending = connection.append(
        folder, draft.data, behind, logout=revision is None or revision.stored_is_local)
    if revision is not None:
        _tell(revision, connection, folder, [(appended, False)],
              lambda: connection.replies(pending) if behind else None)
    return appended


def _tell(revision: Optional[Revision], connection: Connection, folder: str,
          places: list[tuple[Appended, bool]],
          checked: Callable[[], Optional[list]] = lambda: None) -> None:
    """The revision learns where its drafts are.  They are stored whatever
    happens then: a failure is a warning, not an error (which would have
    the user store them again)."""
    if revision is None:
        return
    try:
        revision.stored(connection, folder, [where for where, _there in places], checked())
    except errors.IMAPDraftError as e:
        trace.warning("The draft is stored, but: %s", e)


def _append_missing(connection: Connection, folder: str, messages: Sequence[Draft],
                    look_again: bool = False) -> list[tuple[Appended, bool]]:
    """Where each message is (its UID, and the folder's UIDVALIDITY where
    an APPEND was answered with them), and whether it was there already;
    those that are not are stored."""
    ids = [m.message_id for m in messages]
    if len(messages) == 1 and not look_again:
        places = _append_behind_search(connection, folder, messages[0])
        if places is not None:
            return places
    there = connection.find_each(folder, ids)
    connection.check_append_limit(max(len(m.data) for m in messages))
    for m in messages:
        if there.get(m.message_id):
            if look_again:  # an upload cut off may have landed beside it
                _keep_one(connection, folder, there[m.message_id], m.data)
    # Once per Message-ID, also where the input repeats one.
    missing = list({m.message_id: m for m in reversed(messages)
                    if not there.get(m.message_id)}.values())[::-1]
    appended = connection.append_many(folder, [m.data for m in missing])
    places = dict(zip([m.message_id for m in missing], appended))
    if look_again and missing:
        again = connection.find_each(folder, [m.message_id for m in missing])
        for m in missing:
            copies = again.get(m.message_id, [])
            _keep_one(connection, folder, copies, m.data)
            if copies:
                places[m.message_id] = Appended(None, copies[0])
    return [(Appended(None, there[m][0]), True) if there.get(m) else (places[m], False)
            for m in ids]


def _append_behind_search(connection: Connection, folder: str,
                          draft: Draft) -> Optional[list[tuple[Appended, bool]]]:
    """One message in one turn (``Connection.append_behind_search``): [where
    it is, whether it was there]; found there already, the copy just stored
    is removed.  None where the server does not allow it."""
    connection.check_append_limit(len(draft.data))
    done = connection.append_behind_search(folder, draft.message_id, draft.data)
    if done is None:
        return None
    there, appended = done
    if not there:
        return [(appended, False)]
    if appended.uid is not None:  # the one removed is the copy just stored
        _remove_extra(connection, folder, [there[0], appended.uid], say_removed=False)
    return [(Appended(None, there[0]), True)]


def _drafts_folder(connection: Connection, remembered: Optional[str]) -> drafts.DraftsFolder:
    """Find (and remember) the folder; a remembered one costs no LIST."""
    folder = drafts.find_drafts_folder(connection, connection.settings.mailbox, remembered)
    trace.mutter("imapclient: drafts folder %r, %s", folder.name, folder.how_found)
    if trace.is_verbose():
        trace.note('Drafts folder "%s": %s.', printable(folder.name), folder.how_found)
    if folder.how_found == drafts.CREATED:
        trace.note('Created the folder "%s" for drafts.', printable(folder.name))
    if folder.was_discovered:
        folder_cache.remember(connection.settings, folder.name)
    return folder


def _keep_one(connection: Connection, folder: str, copies: list[int],
              uploaded: DraftData) -> None:
    """After a lost reply: of ``copies`` (the UIDs with the draft's
    Message-ID), remove the extra ones that are byte for byte what brz
    uploaded, keeping the first.  Any other (a mail program that keeps the
    Message-ID stores a user's edit so) is never touched, and said so."""
    if len(copies) < 2:
        return
    identical = _identical_to(connection, folder, copies, uploaded)
    others = [uid for uid in copies if uid not in identical]
    if others:
        trace.note('Left %s in "%s" alone: %s the draft\'s Message-ID but not what brz'
                   " stored (edited in a mail program?).",
                   "UID %s" % ", ".join(map(str, others)), printable(folder),
                   "it has" if len(others) == 1 else "they have")
    _remove_extra(connection, folder, identical)


def _identical_to(connection: Connection, folder: str, uids: list[int],
                  uploaded: DraftData) -> list[int]:
    """Those of ``uids`` whose whole message (BODY[], fetched one at a time:
    a big draft is not held twice) is ``uploaded``, by their digests."""
    digest = hashlib.sha256()
    for piece in slices(uploaded):
        digest.update(piece)
    wanted = digest.digest()
    if connection.select(folder, readonly=True) is None:
        return []
    identical = [uid for uid in uids if hashlib.sha256(fetch_item(
        connection.fetch([uid], ["BODY.PEEK[]"], folder).get(uid, {}), b"BODY[]")
    ).digest() == wanted]
    connection.leave(folder)
    return identical


def _remove_extra(connection: Connection, folder: str, copies: list[int],
                  say_removed: bool = True) -> None:
    """Remove all but the first of ``copies`` (UIDs of one draft, each
    proven brz's upload), and say what is left.  The draft is stored
    whatever happens here: a removal the server refuses, or a connection
    lost meanwhile, is a warning, not an error (which would have the user
    store it again)."""
    listed = ", ".join(map(str, copies))
    try:
        removed = connection.remove_copies(folder, copies)
    except errors.IMAPDraftError as e:
        trace.warning('There are %d copies of the draft in "%s" (UIDs %s): removing the'
                      " extra one failed: %s Delete it in your mail program.",
                      len(copies), printable(folder), listed, e)
        return
    if removed and say_removed:
        trace.note("The first upload arrived too; removed the extra copy"
                   " (UID %s), so there is one draft.", ", ".join(map(str, removed)))
    elif len(copies) > 1 and not removed:
        trace.warning(
            'There are %d copies of the draft in "%s" (UIDs %s): the server'
            " cannot remove one without UIDPLUS. Delete the extra ones in your"
            " mail program.", len(copies), printable(folder), listed)
