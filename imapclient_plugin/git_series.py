"""``brz send --format=git`` with ``mail_client = imapclient``: the commits
as a series of drafts threaded under a cover letter, as ``git format-patch
--cover-letter --thread`` and ``git imap-send`` make them.

Breezy's git directive holds one patch per commit and no single text (its
``to_lines`` fails), so Breezy cannot hand it to any mail client.  The one
reach into Breezy's git send is here: a ``merge_request_body`` hook, which
Breezy runs before ``to_lines``, gives the directive a text where the
branch's mail client is this one: its target and its commits, one line
each, which the client reads back (``series_in``) from what Breezy hands
it.  Other mail clients and formats never meet it.  The series is a merge
request like any other (``revisions``): only the drafts it is made of
(``SeriesDrafts``) are its own.

Of each patch only its commit is kept: the mail is written here from the
git commit itself, as git format-patch writes it (``git_am`` for its
headers and message, ``git_patch`` for the diff), since Breezy's patches
carry the time of the send as the Date (git am makes that the author
date), with older dulwich the whole message in the Subject, and binary
files as 8-bit text.  A commit git am would not give back is refused
before anything is stored; merge commits are left out, as git
format-patch leaves them out.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Optional

from breezy import trace

from . import git_am
from .errors import CommitNotSendable, NothingToSend, PatchWithoutCommit
from .inputs import content_message_id
from .merge_requests import directive_target, request_name
from .message import (POLICY, USER_AGENT, addresses, check_headers, header_text,
                      parsed_sender)

if TYPE_CHECKING:
    from .revisions import Thread
    from .store import Draft

HOOK_LABEL = "imapclient: brz send --format=git as threaded drafts"
MERGE_PREFIX = "[MERGE] "
SERIES_MARK = b"# brz-imapclient: the commits of a git directive\n"
COMMIT_LINE = re.compile(rb"^# commit: ([0-9a-f]{40})$", re.MULTILINE)
PATCH_COMMIT = re.compile(rb"From ([0-9a-f]{40}) ")


@dataclass
class Commit:
    """One commit of the series, as its patch mail needs it."""

    sha: bytes
    author: bytes  # the git ident, "Name <address>"
    timestamp: int
    timezone: int  # seconds east of UTC
    message: str
    diff: bytes  # what follows the message's "---" line


def install_hook() -> None:
    """Breezy gives the next git directive composed to ``_commits_as_text``."""
    from breezy.merge_directive import BaseMergeDirective

    # Looked up each time: Breezy's tests give each test fresh hooks.
    if _commits_as_text not in BaseMergeDirective.hooks["merge_request_body"]:
        BaseMergeDirective.hooks.install_named_hook(
            "merge_request_body", _commits_as_text, HOOK_LABEL)


def _commits_as_text(params) -> Optional[str]:
    """The hook: where this client is the branch's, a git directive's
    text is its target and commits; a directive with nothing to merge
    stops the send."""
    if not _sent_by_imapclient(params.branch):
        return params.body
    directive = params.directive
    patches = getattr(directive, "patches", None)  # GitMergeDirective's
    if directive.patch is not None or not isinstance(patches, list):
        if directive.revision_id == getattr(directive, "base_revision_id", None):
            raise NothingToSend(target=directive.target_branch)
        return params.body
    # Breezy joins to_lines() (self.patch) before it calls the client.
    directive.patch = SERIES_MARK + b"# target_branch: %s\n" % re.sub(
        r"\s", "%20", directive.target_branch).encode("utf-8") + b"".join(
        b"# commit: %s\n" % _patch_commit(name, patch) for name, patch in patches)
    return params.body


def _patch_commit(name: str, patch: bytes) -> bytes:
    """The commit a patch of the directive holds; PatchWithoutCommit if it
    does not say, rather than a series without it."""
    found = PATCH_COMMIT.match(bytes(patch))
    if found is None:
        raise PatchWithoutCommit(name=str(name))
    return found.group(1)


def _sent_by_imapclient(branch) -> bool:
    """The branch's mail client, as brz send picks it, is this plugin's."""
    from .mail_client import IMAPDraftClient

    chosen = branch.get_config_stack().get("mail_client")
    return isinstance(chosen, type) and issubclass(chosen, IMAPDraftClient)


def series_in(branch, directive: bytes) -> Optional[list[Commit]]:
    """The commits (oldest first) of a directive the hook wrote, read from
    ``branch``'s repository; None for any other directive."""
    if not directive.startswith(SERIES_MARK):
        return None
    commits = _commits(branch.repository, COMMIT_LINE.findall(directive))
    if not commits:  # only merges of what the target has
        raise NothingToSend(target=directive_target(directive) or "")
    return commits


def _commits(repository, shas: list[bytes]) -> list[Commit]:
    """The commits, read from the git objects; merge commits left out, as
    git format-patch leaves them out."""
    from breezy.git.object_store import get_object_store

    store = get_object_store(repository)
    commits = []
    with store.lock_read():
        for sha in shas:
            commit = store[sha]
            if len(commit.parents) > 1:
                trace.note('Left out the merge commit %s ("%s"), as git format-patch does:'
                           " the series holds the commits it merged, not what the merge"
                           " itself changed.", commit.id[:12].decode("ascii"),
                           _first_line(commit.message))
                continue
            commits.append(_commit(store, commit))
    return commits


def _commit(store, commit) -> Commit:
    """One commit as its patch mail needs it; CommitNotSendable where git am
    would not give it back."""
    from . import git_patch  # dulwich, imported only for a series

    reason = git_am.unsendable(commit.author, commit.message, commit.encoding)
    if reason is not None:
        raise CommitNotSendable(commit=commit.id[:12].decode("ascii"),
                                summary=_first_line(commit.message), reason=reason)
    return Commit(sha=commit.id, author=commit.author, timestamp=commit.author_time,
                  timezone=commit.author_timezone, message=commit.message.decode("utf-8"),
                  diff=git_patch.commit_diff(store, commit))


def _first_line(message: bytes) -> str:
    return message.decode("utf-8", "replace").strip().split("\n", 1)[0]


def patch_message_id(commit: Commit, number: int, total: int, *, request: str,
                     to: Optional[str], version: int = 1) -> str:
    """The same commit in the same place of the same merge request (branch
    and target), to the same recipients: the same Message-ID, so that
    sending again finds it instead of storing it twice.  Any of them
    changed, another: the next send replaces the message."""
    return content_message_id(b"\0".join([
        request.encode("utf-8"), commit.sha, b"%d/%d v%d" % (number, total, version),
        (to or "").encode("utf-8")]))


def cover_message_id(patch_ids: list[str], *parts: Optional[str]) -> str:
    """The patches' Message-IDs and the rest of the cover letter's text
    (``parts``): changed, another Message-ID."""
    return content_message_id("\0".join(patch_ids + [part or "" for part in parts])
                              .encode("utf-8"))


def summary(commit: Commit) -> str:
    """The first line of the message: git's subject (``git_am`` made sure
    the first paragraph is that one line)."""
    return commit.message.split("\n", 1)[0]


def cover_letter(commits: list[Commit], *, sender: Optional[str], to: Optional[str],
                 title: str, body: Optional[str], message_id: str, thread: Thread) -> bytes:
    """``[PATCH 0/N] title``: the merge request's text, what changed since
    the version sent (``thread``), then each commit's summary, as git's
    cover letter has them."""
    message = EmailMessage(policy=POLICY)
    sender_address = parsed_sender(sender)
    if sender_address is not None:
        message["From"] = sender_address
    message["Date"] = email.utils.format_datetime(email.utils.localtime())
    message["Subject"] = header_text("[%s 0/%d] %s" % (
        patch_tag(thread.version), len(commits), title))
    _address(message, to)
    message["Message-ID"] = message_id
    if thread.in_reply_to:
        message["In-Reply-To"] = thread.in_reply_to
        message["References"] = " ".join(thread.references)
    message["User-Agent"] = USER_AGENT
    summaries = ["  %s" % summary(commit) for commit in commits]
    text = (body.rstrip() + "\n\n" if body and body.strip() else "")
    if thread.changes:
        text += thread.changes.strip("\n") + "\n\n"
    message.set_content(text + "%s:\n\n%s\n\n%s" % (
        "The commit" if len(summaries) == 1 else "The %d commits" % len(summaries),
        "\n".join(summaries), diffstat([commit.diff for commit in commits])))
    data = message.as_bytes(policy=POLICY)
    check_headers(data[:data.index(b"\r\n\r\n") + 4], message.keys())
    return data


HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
DIFF_PATH = re.compile(rb'^diff --git (?:.* "b/(.*)"|.* b/(.*))$')  # quoted or not


def diffstat(diffs: list[bytes]) -> str:
    """Each file's lines added and removed ("Bin" for a binary one), the
    commits' diffs added up, and the totals, as git's cover letter ends and
    each of its patches begins."""
    files: dict = {}
    binary = set()
    for diff in diffs:
        for path, added, removed, is_binary in _counts(diff.split(b"\n")):
            before = files.get(path, (0, 0))
            files[path] = (before[0] + added, before[1] + removed)
            if is_binary:
                binary.add(path)
    if not files:
        return ""
    width = max(len(path) for path in files)
    lines = [" %s | %s" % (path.ljust(width), "Bin" if path in binary else
                           "+%d -%d" % (added, removed))
             for path, (added, removed) in files.items()]
    return "\n".join(lines) + "\n %d file%s changed, %d insertions(+), %d deletions(-)\n" % (
        len(files), "" if len(files) == 1 else "s",
        sum(a for a, _ in files.values()), sum(r for _, r in files.values()))


def _counts(lines: list[bytes]):
    """(path, lines added, lines removed, binary) for each file of a diff;
    a hunk's lines counted as its header says (what follows, a signature,
    is not)."""
    path, added, removed, old_left, new_left, binary = None, 0, 0, 0, 0, False
    for line in lines:
        if old_left > 0 or new_left > 0:
            if line.startswith(b"+"):
                added, new_left = added + 1, new_left - 1
            elif line.startswith(b"-"):
                removed, old_left = removed + 1, old_left - 1
            else:
                old_left, new_left = old_left - 1, new_left - 1
            continue
        started = DIFF_PATH.match(line)
        hunk = HUNK.match(line)
        if started:
            if path is not None:
                yield path, added, removed, binary
            name = b'"%s"' % started.group(1) if started.group(1) else started.group(2)
            path = header_text(name.decode("utf-8", "replace"))
            added = removed = 0
            binary = False
        elif line == b"GIT binary patch":
            binary = True
        elif hunk and path is not None:
            old_left = int(hunk.group(1) or 1)
            new_left = int(hunk.group(2) or 1)
    if path is not None:
        yield path, added, removed, binary


def patch_mail(commit: Commit, number: int, total: int, *, to: Optional[str],
               message_id: str, cover_id: str, thread: Thread) -> bytes:
    """``[PATCH n/N]`` as git format-patch --thread writes it, ready for
    APPEND: the author, the author's date and the message as git am reads
    them back (``git_am``), "---", the files changed, the diff
    (``git_patch``); the other headers made and checked by the email
    package; CRLF line ends."""
    header = EmailMessage(policy=POLICY)
    _address(header, to)
    header["Message-ID"] = message_id
    header["In-Reply-To"] = cover_id
    header["References"] = " ".join(thread.references + [cover_id])
    body = commit.message.rstrip("\n").partition("\n\n")[2]
    text = ((body + "\n" if body else "") + "---\n" + diffstat([commit.diff]) + "\n").encode(
        "utf-8") + commit.diff
    if not text.isascii():  # as git format-patch labels it
        header["MIME-Version"] = "1.0"
        header["Content-Type"] = "text/plain; charset=UTF-8"
        header["Content-Transfer-Encoding"] = "8bit"
    head = (git_am.from_header(commit.author)
            + git_am.date_header(commit.timestamp, commit.timezone)
            + git_am.subject_header("[%s %d/%d] %s" % (patch_tag(thread.version), number, total,
                                                      summary(commit)))
            + header.as_bytes(policy=POLICY))
    check_headers(head, ["From", "Date", "Subject"] + header.keys())
    return head + LONE_LF.sub(b"\r\n", text)


LONE_LF = re.compile(rb"(?<!\r)\n")


def _address(message: EmailMessage, to: Optional[str]) -> None:
    """To, where given; InvalidAddress if it is not a list of addresses."""
    recipients = addresses(to) if to and to.strip() else []
    if recipients:
        message["To"] = recipients


class SeriesDrafts:
    """A git series as the drafts of its merge request (``revisions``):
    the cover letter, then each patch, with their Message-IDs."""

    token = ""  # a sent copy is found by its Message-ID

    def __init__(self, commits: list[Commit], *, request: str, sender: Optional[str],
                 to: Optional[str], subject: str, body: Optional[str]) -> None:
        self.commits, self.request, self.sender = commits, request, sender
        self.to, self.body = to, body
        self.title = subject[len(MERGE_PREFIX):] if subject.startswith(MERGE_PREFIX) else subject
        self.revisions = [[commit.sha.decode("ascii", "replace"), summary(commit)]
                          for commit in commits]

    def make(self, thread: Thread) -> list[Draft]:
        """InvalidAddress where ``to`` is not a list of addresses,
        UnsafeHeader where a header would be unsafe."""
        from .store import Draft

        total = len(self.commits)
        patch_ids = [patch_message_id(commit, number, total, request=self.request,
                                      to=self.to, version=thread.version)
                     for number, commit in enumerate(self.commits, 1)]
        cover_id = cover_message_id(patch_ids, self.title, self.sender, self.body,
                                    thread.changes)
        cover = cover_letter(self.commits, sender=self.sender, to=self.to, title=self.title,
                             body=self.body, message_id=cover_id, thread=thread)
        return [Draft(cover, cover_id)] + [
            Draft(patch_mail(commit, number, total, to=self.to, message_id=patch_id,
                             cover_id=cover_id, thread=thread), patch_id)
            for number, (commit, patch_id) in enumerate(zip(self.commits, patch_ids), 1)]

    def without_recipients(self) -> SeriesDrafts:
        """The same drafts to no one: what is kept when ``to`` is invalid."""
        return SeriesDrafts(self.commits, request=self.request, sender=self.sender, to=None,
                            subject=self.title, body=self.body)

    @staticmethod
    def kept(drafts: list[Draft]) -> tuple[bytes, str]:
        """The file that keeps them, and its extension."""
        return as_mbox([draft.data for draft in drafts]), ".mbox"

    @staticmethod
    def without_bundle(config, too_big: Exception) -> SeriesDrafts:
        """A series has no bundle to leave out: ``too_big`` raised again."""
        raise too_big

    def unsafe(self, error: Exception, basename: str) -> Exception:
        """Nothing to keep: brz send -o DIR writes the patches."""
        from .errors import UnsafeDraft

        return UnsafeDraft(reason=str(error))


def series_drafts(branch, directive: bytes, commits: list[Commit], *,
                  sender: Optional[str], to: Optional[str], subject: str,
                  body: Optional[str]) -> SeriesDrafts:
    """The series of ``directive`` (its target) sent from ``branch``."""
    request = request_name(branch.base, directive_target(directive) or "")
    return SeriesDrafts(commits, request=request, sender=sender, to=to, subject=subject,
                        body=body)


def patch_tag(version: int) -> str:
    return "PATCH" if version == 1 else "PATCH v%d" % version


MBOX_SEPARATOR_LINE = b"From brz-imapclient Thu Jan  1 00:00:00 1970\n"
MBOXRD_FROM = re.compile(rb"^(>*From )", re.MULTILINE)


def as_mbox(messages: list[bytes]) -> bytes:
    """mboxrd, as ``brz imap-send`` reads it back."""
    return b"".join(MBOX_SEPARATOR_LINE + MBOXRD_FROM.sub(rb">\1", bytes(m).replace(
        b"\r\n", b"\n")) + b"\n" for m in messages)
