"""The ``imapclient`` mail client: ``brz send`` stores a draft over IMAP.

Builds the message first, so that whatever goes wrong afterwards (settings,
network, server) the message is kept on disk and its path printed.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from breezy import errors as bzr_errors
from breezy import trace
from breezy.mail_client import MailClient

from . import credentials, drafts, errors, session
from .message import build_draft, draft_bytes
from .settings import IMAPSettings, read_settings
from .unsent import keep_unsent


@dataclasses.dataclass(frozen=True)
class StoredDraft:
    folder: drafts.DraftsFolder
    uid: Optional[int]


class IMAPDraftClient(MailClient):
    """Store the message as a draft in an IMAP Drafts folder."""

    supports_body = True

    def compose(
        self,
        prompt,
        to,
        subject,
        attachment,
        mime_subtype,
        extension,
        basename=None,
        body=None,
    ):
        """See MailClient.compose: build the draft and APPEND it."""
        basename = basename or "attachment"
        sender = _identity(self.config)
        data = draft_bytes(
            build_draft(
                sender=sender,
                to=to,
                subject=subject,
                body=body,
                attachment=attachment,
                filename=basename + extension,
                mime_subtype=mime_subtype,
            )
        )
        try:
            settings = read_settings(self.config, _address(sender))
            stored = store_draft(settings, data)
        except errors.IMAPDraftError as e:
            raise errors.DraftNotStored(e, keep_unsent(data, basename))
        except BaseException:
            trace.note("The message was kept in %s", keep_unsent(data, basename))
            raise
        trace.note(
            'Draft saved to "%s" on %s%s.',
            stored.folder.name,
            settings.host,
            " (UID %d)" % stored.uid if stored.uid is not None else "",
        )


def store_draft(settings: IMAPSettings, data: bytes) -> StoredDraft:
    """Connect, log in, find the Drafts folder and append ``data`` to it."""
    client = session.connect(settings)
    try:
        password = credentials.find_password(settings)
        session.login(client, settings, password)
        credentials.offer_to_store(settings, password)
        with session.translated_errors(settings, action="the Drafts folder"):
            drafts.check_append_limit(client, len(data), settings.host)
            folder = drafts.find_drafts_folder(client, settings.mailbox)
            trace.mutter("imapclient: drafts folder %r, %s",
                         folder.name, folder.how_found)
            if folder.how_found.startswith("created"):
                trace.note('Created the folder "%s" for drafts.', folder.name)
            uid = drafts.append_draft(client, folder.name, data, settings.host)
    finally:
        session.close(client)
    return StoredDraft(folder, uid)


def _identity(config) -> Optional[str]:
    try:
        return config.get("email")
    except bzr_errors.BzrError as e:  # NoWhoami: the draft gets no From
        trace.warning("No Breezy identity (%s); the draft has no From.", e)
        return None


def _address(sender: Optional[str]) -> Optional[str]:
    if not sender:
        return None
    import email.utils

    return email.utils.parseaddr(sender)[1] or None
