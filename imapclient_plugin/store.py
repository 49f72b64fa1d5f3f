"""Stores a message in the Drafts folder: exactly once, or an error.

Used by the ``imapclient`` mail client (``brz send``) and ``brz imap-send``.
"""

from __future__ import annotations

import dataclasses
import imaplib
from typing import Callable, Optional, Sequence

from breezy import trace

from . import bounded_io, credentials, drafts, errors, folder_cache, session
from .errors import printable
from .settings import IMAPSettings


@dataclasses.dataclass(frozen=True)
class StoredDraft:
    folder: drafts.DraftsFolder
    uid: Optional[int]
    web_link: Optional[str] = None


def report_stored(settings: IMAPSettings, stored: StoredDraft) -> None:
    """Say where the draft is; open it in the browser if asked to."""
    trace.note(
        'Draft saved to "%s" on %s%s.',
        printable(stored.folder.name),
        settings.host,
        " (UID %d)" % stored.uid if stored.uid is not None else "",
    )
    if stored.web_link is None:
        return
    trace.note("Open it: %s", printable(stored.web_link))
    if settings.open_draft:
        import webbrowser

        webbrowser.open(stored.web_link)


@dataclasses.dataclass
class Draft:
    """A message to store, and what to do on the connection that stored it
    (where the server said: folder name and APPENDUID) once it is there."""

    data: bytes
    message_id: str
    after_append: Optional[Callable[[object, str, drafts.Appended], None]] = None


def store_draft(settings: IMAPSettings, data: bytes, message_id: str,
                check_first: bool = False,
                prepare: Optional[Callable[[object, str, list], Draft]] = None,
                then: Sequence[bytes] = (),
                ) -> StoredDraft:
    """Connect, log in, find the Drafts folder and append ``data`` to it.

    Stores exactly one copy: if the connection is lost while the outcome of
    the APPEND is unknown, it reconnects once and appends again only if no
    message with ``message_id`` arrived.  ``check_first`` looks before the
    first APPEND too (for a retried message).  ``prepare``, given the client,
    the folder and the replies to the commands ``then`` (sent with the
    login), returns the Draft to store instead (brz send's next revision of
    a merge request depends on what the folder holds).
    """
    with session.logged_in(settings, then=then) as login:
        client, password = login.client, login.password
        folder = _drafts_folder(client, settings, folder_cache.remembered(settings))
        with session.translated_errors(settings, action="the Drafts folder"):
            draft = (prepare(client, folder.name, login.replies) if prepare
                     else Draft(data, message_id))
            drafts.check_append_limit(client, len(draft.data), settings.host)
        try:
            uid = _append_once(client, settings, folder.name, draft, check_first)
        except errors.MailboxRefused:
            if folder.how_found != drafts.REMEMBERED:
                raise
            folder_cache.forget(settings)  # the server no longer has it
            folder = _drafts_folder(client, settings, None)
            uid = _append_once(client, settings, folder.name, draft, check_first)
        except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
            uid = _append_after_lost_connection(settings, password, folder.name,
                                                draft, lost)
            return StoredDraft(folder, uid)
        return StoredDraft(folder, uid, _web_link(client, settings, draft.message_id))


def _web_link(client, settings: IMAPSettings, message_id: str) -> Optional[str]:
    """A link to the stored draft, if the server has one."""
    return drafts.gmail_link(client, message_id, settings.username)


def _drafts_folder(client, settings: IMAPSettings,
                   remembered: Optional[str]) -> drafts.DraftsFolder:
    """Find (and remember) the folder; a remembered one costs no LIST."""
    with session.translated_errors(settings, action="the Drafts folder"):
        folder = drafts.find_drafts_folder(client, settings.mailbox, remembered)
    trace.mutter("imapclient: drafts folder %r, %s", folder.name, folder.how_found)
    if folder.how_found == drafts.CREATED:
        trace.note('Created the folder "%s" for drafts.', printable(folder.name))
    if folder.was_discovered:
        folder_cache.remember(settings, folder.name)
    return folder


def _append_once(client, settings: IMAPSettings, folder: str, draft: Draft,
                 check_first: bool, look_again: bool = False) -> Optional[int]:
    """APPEND unless ``check_first`` finds the message already there; with
    ``look_again``, remove any copy that landed beside it meanwhile.
    Returns the UID, when the server says it."""
    with session.translated_errors(settings, action="storing the draft",
                                   client=client):
        if check_first:
            found = drafts.find_by_message_id(client, folder, draft.message_id)
            if found:
                trace.note("The draft was already there.")
                return found[0]
        appended = _append(client, settings, folder, draft.data)
        uid = appended.uid
        if look_again:
            copies = drafts.find_by_message_id(client, folder, draft.message_id)
            _report_copies(folder, copies, drafts.remove_copies(client, copies))
            uid = copies[0] if copies else uid
    _after_append(client, settings, folder, draft, appended._replace(uid=uid))
    return uid


def _after_append(client, settings: IMAPSettings, folder: str, draft: Draft,
                  appended: drafts.Appended) -> None:
    """The draft is stored: what follows must not make it look as if not."""
    if draft.after_append is None:
        return
    try:
        with session.translated_errors(settings, action="tidying up", client=client):
            draft.after_append(client, folder, appended)
    except errors.IMAPDraftError as e:
        trace.warning("The draft is stored, but: %s", e)


def _append(client, settings: IMAPSettings, folder: str, data: bytes) -> drafts.Appended:
    """APPEND; if its outcome is unknown, make sure this connection can no
    longer complete it, or say that it may still (and retry nothing)."""
    try:
        return drafts.append_draft(client, folder, data, settings.host)
    except bounded_io.ReplyTimeout as e:
        if e.delivered:  # the server has it all and may still store it
            raise errors.AppendUnconfirmed(host=settings.host, folder=printable(folder),
                                           timeout=settings.timeout)
        client._imap.abort_connection()
        raise
    except (OSError, imaplib.IMAP4.abort):
        client._imap.abort_connection()  # what the kernel holds never arrives
        raise


def _append_after_lost_connection(
    settings: IMAPSettings, password: Optional[credentials.Password], folder: str,
    draft: Draft, lost: errors.IMAPDraftError,
) -> Optional[int]:
    """The APPEND may or may not have landed: look, append if not, then look
    again, since the first upload may have landed meanwhile."""
    trace.note("%s Reconnecting to check whether the draft arrived.", lost)
    with session.logged_in(settings, password=password) as again:
        return _append_once(again.client, settings, folder, draft,
                            check_first=True, look_again=True)


def _report_copies(folder: str, copies: list[int], removed: list[int]) -> None:
    if removed:
        trace.note("The first upload arrived too; removed the extra copy"
                   " (UID %s), so there is one draft.",
                   ", ".join(map(str, removed)))
    elif len(copies) > 1:
        trace.warning(
            'There are %d copies of the draft in "%s" (UIDs %s): the server'
            " cannot remove one without UIDPLUS. Delete the extra ones in your"
            " mail program.", len(copies), printable(folder),
            ", ".join(map(str, copies)))
