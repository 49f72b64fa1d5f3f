"""The ``imapclient`` mail client: ``brz send`` stores a draft over IMAP.

Builds the message first, so that whatever goes wrong afterwards (settings,
network, server) the message is kept on disk and its path printed.
"""

from __future__ import annotations

from breezy import trace
from breezy.mail_client import MailClient

from . import errors
from .message import InvalidAddress, UnsafeHeader, build_draft, draft_bytes
from .settings import identity, identity_address, read_settings
from .store import report_stored, store_draft
from .unsent import Terminated, keep_unsent, not_stored, signals_raise


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
        sender = identity(self.config)
        fields = dict(sender=sender, subject=subject, body=body,
                      attachment=attachment, filename=basename + extension,
                      mime_subtype=mime_subtype)
        try:
            message = build_draft(to=to, **fields)
            data = draft_bytes(message)
        except InvalidAddress as e:
            # Nothing lost: the draft without its recipient is kept.
            raise not_stored(errors.InvalidRecipient(value=e.value, reason=e.reason),
                             draft_bytes(build_draft(to=None, **fields)), basename)
        except UnsafeHeader as e:
            raise not_stored(errors.UnsafeDraft(reason=str(e)), attachment,
                             basename, extension)
        try:
            with signals_raise():
                settings = read_settings(self.config, identity_address(sender))
                stored = store_draft(settings, data, message["Message-ID"])
        except errors.IMAPDraftError as e:
            raise not_stored(e, data, basename)
        except Terminated as e:
            raise not_stored(errors.Interrupted(signal=e.name), data, basename)
        except BaseException:
            trace.note("The message was kept in %s", keep_unsent(data, basename))
            raise
        report_stored(settings, stored)
