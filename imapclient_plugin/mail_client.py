"""The ``imapclient`` mail client: ``brz send`` stores a draft over IMAP.

Builds the message first, so that whatever goes wrong afterwards (settings,
network, server) the message is kept on disk and its path printed.  What
stores it (imapclient, imaplib, the keyring) is imported only then, once
Breezy has built the directive: imported with this module, before the
bundle, it would add its few megabytes to the bundle's peak.
"""

from __future__ import annotations

from breezy import trace
from breezy.mail_client import MailClient

from . import errors, git_series, heap
from .directive import without_bundle
from .draft_data import DraftData
from .message import InvalidAddress, UnsafeHeader, build_draft, draft_bytes
from .settings import identity, identity_address, read_settings
from .unsent import Terminated, keep_unsent, not_stored, signals_raise


class IMAPDraftClient(MailClient):
    """Store the message as a draft in an IMAP Drafts folder."""

    supports_body = True

    def __init__(self, config) -> None:
        super().__init__(config)
        # brz send makes its client before the bundle: what the bundle frees
        # is then given back, not kept under the message (see heap).
        heap.give_freed_memory_back()
        git_series.expect_series(self)

    def compose_merge_request(self, to, subject, directive, basename=None, body=None):
        """A git directive's series (``brz send --format=git``) as threaded
        drafts; any other directive as one draft (MailClient's way)."""
        series = self.__dict__.pop("series", None)  # set by git_series' hook
        if series is None:
            return super().compose_merge_request(to, subject, directive, basename, body)
        git_series.store_series(self.config, series, to=to, subject=subject,
                                basename=basename or "series", body=body)

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
        fields = dict(sender=sender, body=body, attachment=attachment,
                      filename=basename + extension, mime_subtype=mime_subtype)
        try:
            message = build_draft(to=to, subject=subject, **fields)
            data = draft_bytes(message)
        except InvalidAddress as e:
            # Nothing lost: the draft without its recipient is kept.
            raise not_stored(errors.InvalidRecipient(value=e.value, reason=e.reason),
                             draft_bytes(build_draft(to=None, subject=subject, **fields)),
                             basename)
        except UnsafeHeader as e:
            raise not_stored(errors.UnsafeDraft(reason=str(e)), attachment,
                             basename, extension)
        self._revision = None
        try:
            with signals_raise():
                settings = read_settings(self.config, identity_address(sender))
                try:
                    stored = self._store(settings, fields, to, subject, message, data)
                except errors.DraftTooBig as too_big:
                    smaller = without_bundle(self.config, attachment)
                    if smaller is None:
                        raise
                    trace.note(
                        "The draft is %d bytes, more than %s accepts (%d):"
                        " storing it without the revisions, as brz send"
                        " --no-bundle would; they are merged from the branch's"
                        " public location.", too_big.size, too_big.host,
                        too_big.limit)
                    fields["attachment"] = smaller
                    message = build_draft(to=to, subject=subject, **fields)
                    data = draft_bytes(message)
                    stored = self._store(settings, fields, to, subject, message, data)
        except errors.IMAPDraftError as e:
            raise not_stored(e, self._latest(data), basename)
        except Terminated as e:
            stopped = (errors.InterruptedAtThePrompt if e.at_the_prompt
                       else errors.Interrupted)
            raise not_stored(stopped(signal=e.name), self._latest(data), basename)
        except BaseException:
            trace.note("The message was kept in %s",
                       keep_unsent(self._latest(data), basename))
            raise
        from .store import report_stored  # imported by _store already

        report_stored(settings, stored)

    def _store(self, settings, fields: dict, to, subject: str, message,
               data: DraftData):
        """Store the draft, as the next revision of its merge request where
        revisions are on (``self._revision``)."""
        from .revisions import next_revision
        from .store import Draft, store_draft

        self._revision = next_revision(self.config, fields["attachment"], settings,
                                       subject, dict(fields, to=to))
        revision = self._revision
        if revision is None:
            return store_draft(settings, Draft(data, message["Message-ID"]))
        first = revision.first(data, message["Message-ID"])
        if first is not None:
            return store_draft(settings, first)
        return store_draft(settings, Draft(data, message["Message-ID"]),
                           prepare=revision.prepare)

    def _latest(self, data: DraftData) -> DraftData:
        """The draft to keep: the revision's (``NextRevision.to_keep``)."""
        revision = self._revision
        return revision.to_keep(data) if revision is not None else data
