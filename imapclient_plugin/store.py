"""Stores a message in the Drafts folder: exactly once, or an error.

Used by the ``imapclient`` mail client (``brz send``) and ``brz imap-send``.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from breezy import trace

from . import credentials, drafts, errors, folder_cache, session
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


def store_draft(settings: IMAPSettings, data: bytes, message_id: str,
                check_first: bool = False) -> StoredDraft:
    """Connect, log in, find the Drafts folder and append ``data`` to it.

    Stores exactly one copy: if the connection is lost while the outcome of
    the APPEND is unknown, it reconnects once and appends again only if no
    message with ``message_id`` arrived.  ``check_first`` looks before the
    first APPEND too (for a retried message).
    """
    with session.logged_in(settings) as (client, password, _method):
        with session.translated_errors(settings, action="the Drafts folder"):
            drafts.check_append_limit(client, len(data), settings.host)
        folder = _drafts_folder(client, settings, folder_cache.remembered(settings))
        try:
            uid = _append_once(client, settings, folder.name, data, message_id,
                               check_first)
        except errors.MailboxRefused:
            if folder.how_found != drafts.REMEMBERED:
                raise
            folder_cache.forget(settings)  # the server no longer has it
            folder = _drafts_folder(client, settings, None)
            uid = _append_once(client, settings, folder.name, data, message_id,
                               check_first)
        except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
            uid = _append_after_lost_connection(
                settings, password, folder.name, data, message_id, lost)
            return StoredDraft(folder, uid)
        return StoredDraft(folder, uid, _web_link(client, settings, folder.name, uid))


def _web_link(client, settings: IMAPSettings, folder: str,
              uid: Optional[int]) -> Optional[str]:
    """A link to the stored draft, if the server has one; the draft is
    stored already, so a failure here only costs the link."""
    try:
        return drafts.gmail_link(client, folder, uid, settings.username)
    except Exception as e:
        trace.mutter("imapclient: no web link for the draft: %s", e)
        return None


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


def _append_once(client, settings: IMAPSettings, folder: str, data: bytes,
                 message_id: str, check_first: bool) -> Optional[int]:
    """APPEND unless ``check_first`` finds the message already there."""
    with session.translated_errors(settings, action="storing the draft",
                                   client=client):
        if check_first:
            uid = drafts.find_by_message_id(client, folder, message_id)
            if uid is not None:
                trace.note("The draft was already there.")
                return uid
        return drafts.append_draft(client, folder, data, settings.host)


def _append_after_lost_connection(
    settings: IMAPSettings, password: Optional[credentials.Password], folder: str,
    data: bytes, message_id: str, lost: errors.IMAPDraftError,
) -> Optional[int]:
    """The APPEND may or may not have landed: look, then append if not."""
    trace.note("%s Reconnecting to check whether the draft arrived.", lost)
    with session.logged_in(settings, password=password) as again:
        return _append_once(again.client, settings, folder, data, message_id,
                            check_first=True)
