"""The ``imapclient`` mail client: ``brz send`` stores a draft over IMAP.

Builds the drafts first, so that whatever goes wrong afterwards (settings,
network, server) they are kept on disk and the path printed.  A merge
directive is one draft with the directive attached (``BundleDraft``); a
git directive (``brz send --format=git``) the series of its commits
(``git_series``); both are stored by one engine (``revisions``, ``store``).
What stores them (imapclient, imaplib, the keyring) is imported only then,
once Breezy has built the directive: imported with this module, before
the bundle, it would add its few megabytes to the bundle's peak.
"""

from __future__ import annotations

import functools
from typing import Optional, Union

from breezy import trace
from breezy.mail_client import MailClient

from . import errors, git_series, heap
from .directive import without_bundle
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
        git_series.install_hook()

    def compose_merge_request(self, to, subject, directive, basename=None, body=None):
        """A git directive's commits (as ``git_series``' hook wrote them) as
        threaded drafts; any other directive as one draft (MailClient's way)."""
        branch = self.config.branch
        commits = git_series.series_in(branch, directive)
        if commits is None:
            return super().compose_merge_request(to, subject, directive, basename, body)
        self._store(git_series.series_drafts(
            branch, directive, commits, sender=identity(self.config), to=to,
            subject=subject, body=body), directive, basename or "series")

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
        self._store(BundleDraft(
            getattr(self.config, "branch", None), sender=identity(self.config), to=to,
            subject=subject, body=body, attachment=attachment,
            filename=basename + extension, mime_subtype=mime_subtype), attachment, basename)

    def _store(self, made_of: Drafts, directive: bytes, basename: str) -> None:
        """Make the drafts, then store them as the next revision of their
        merge request where revisions are on; what could not be stored is
        kept on disk, and where is said."""
        from .revisions import Thread, next_revision
        from .store import report_stored, subject_of

        try:
            drafts = made_of.make(Thread())
        except InvalidAddress as e:  # kept without the recipient
            raise _not_stored(errors.InvalidRecipient(value=e.value, reason=e.reason),
                              made_of, made_of.without_recipients().make(Thread()), basename)
        except UnsafeHeader as e:
            raise made_of.unsafe(e, basename)
        revision = None
        try:
            with signals_raise():
                settings = read_settings(self.config, identity_address(made_of.sender))
                try:
                    revision = next_revision(self.config, directive, settings, made_of)
                    stored = _store_revision(settings, drafts, revision)
                except errors.DraftTooBig as too_big:
                    made_of = made_of.without_bundle(self.config, too_big)
                    drafts = made_of.make(Thread())
                    revision = next_revision(self.config, made_of.attachment, settings, made_of)
                    stored = _store_revision(settings, drafts, revision)
        except errors.IMAPDraftError as e:
            raise _not_stored(e, made_of, _latest(drafts, revision), basename, revision)
        except Terminated as e:
            stopped = (errors.InterruptedAtThePrompt if e.at_the_prompt
                       else errors.Interrupted)
            raise _not_stored(stopped(signal=e.name), made_of, _latest(drafts, revision),
                              basename, revision)
        except BaseException:
            data, extension = made_of.kept(_latest(drafts, revision))
            path = keep_unsent(data, basename, extension)
            trace.note("The message was kept in %s", path)
            _remember_kept(revision, path)
            raise
        drafts = revision.drafts if revision is not None else drafts
        for draft, where in zip(drafts, stored):
            report_stored(settings, where,
                          subject_of(draft.data, draft.message_id) if len(drafts) > 1 else "")


def _store_revision(settings, drafts: list, revision) -> list:
    from .store import store_drafts

    if revision is not None:
        revision.adopt(drafts)
    return store_drafts(settings, drafts, revision)


def _latest(drafts: list, revision) -> list:
    """The drafts to keep: the revision's (``NextRevision.to_keep``)."""
    return revision.to_keep() if revision is not None else drafts


def _not_stored(reason: errors.IMAPDraftError, made_of: Drafts, drafts: list,
                basename: str, revision=None) -> errors.IMAPDraftError:
    data, extension = made_of.kept(drafts)
    error = not_stored(reason, data, basename, extension)
    _remember_kept(revision, getattr(error, "path", None))
    return error


def _remember_kept(revision, path: Optional[str]) -> None:
    """The revision's record learns the file: a later version removes it.
    A record that cannot be written costs only that (a warning)."""
    if revision is None or path is None:
        return
    try:
        revision.kept_in(path)
    except OSError as e:
        trace.warning("Cannot read back %s (%s).", path, e.strerror or e)


class BundleDraft:
    """A merge directive as its merge request's one draft, the directive
    attached."""

    def __init__(self, branch, *, sender: Optional[str], to: Optional[str], subject: str,
                 body: Optional[str], attachment: bytes, filename: str,
                 mime_subtype: str) -> None:
        self.branch, self.sender, self.to, self.subject = branch, sender, to, subject
        self.body, self.attachment = body, attachment
        self.filename, self.mime_subtype = filename, mime_subtype

    @property
    def title(self) -> str:
        from .revisions import MERGE_TAG

        return MERGE_TAG.sub("", self.subject)

    @functools.cached_property
    def revisions(self) -> list:
        from . import changes

        return changes.revisions_of(self.branch, self.attachment)

    @functools.cached_property
    def token(self) -> str:
        from .sent_copies import directive_token

        return directive_token(self.attachment)

    def make(self, thread) -> list:
        """InvalidAddress where ``to`` is not a list of addresses."""
        from .store import Draft

        message = build_draft(
            sender=self.sender, to=self.to, subject=thread.subject(self.subject),
            body=self.body, attachment=self.attachment, filename=self.filename,
            mime_subtype=self.mime_subtype, in_reply_to=thread.in_reply_to,
            references=thread.references, changes=thread.changes)
        return [Draft(draft_bytes(message), message["Message-ID"], fresh_id=True)]

    def _with(self, **changed) -> BundleDraft:
        fields = dict(sender=self.sender, to=self.to, subject=self.subject, body=self.body,
                      attachment=self.attachment, filename=self.filename,
                      mime_subtype=self.mime_subtype)
        return BundleDraft(self.branch, **dict(fields, **changed))

    def without_recipients(self) -> BundleDraft:
        """The same draft to no one: what is kept when ``to`` is invalid."""
        return self._with(to=None)

    def without_bundle(self, config, too_big: errors.DraftTooBig) -> BundleDraft:
        """The draft ``brz send --no-bundle`` would make, where the branch
        has a public location; else ``too_big`` raised again."""
        smaller = without_bundle(config, self.attachment)
        if smaller is None:
            raise too_big
        trace.note(
            "The draft is %d bytes, more than %s accepts (%d): storing it without"
            " the revisions, as brz send --no-bundle would; they are merged from the"
            " branch's public location.", too_big.size, too_big.host, too_big.limit)
        return self._with(attachment=smaller)

    @staticmethod
    def kept(drafts: list) -> tuple:
        """The file that keeps it, and its extension."""
        return drafts[0].data, ".eml"

    def unsafe(self, error: Exception, basename: str) -> errors.IMAPDraftError:
        """The directive is kept as it is."""
        return not_stored(errors.UnsafeDraft(reason=str(error)), self.attachment, basename,
                          self.filename[len(basename):])


Drafts = Union[BundleDraft, git_series.SeriesDrafts]
