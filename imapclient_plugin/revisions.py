"""Revisions of a merge request: the next ``brz send`` replaces the draft
that was not sent yet, or replies to the version that was.

Each stored draft is remembered per merge request (the branch, its submit
branch, and the account) in ``<Breezy cache dir>/imapclient/merge-requests.json``.
Not in the branch's own configuration: ``brz send`` works from read-only and
remote branches, writing branch.conf would take the branch's lock, and what
is remembered (which account, folder and UID) belongs to this machine, not
to the branch.  Message-IDs and subjects only; never credentials.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from breezy import trace

from imapclient import exceptions as imap_exceptions

from . import cache_files, drafts, fast_commands
from .draft_data import DraftData
from .drafts import Appended
from .errors import printable
from .message import build_draft, draft_bytes
from .settings import IMAPSettings
from .store import Draft

TARGET_BRANCH = re.compile(rb"^# target_branch: (\S+)$", re.MULTILINE)
MERGE_TAG = re.compile(r"^\[MERGE( v\d+)?\] ?")
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent",
              "INBOX/Sent", "[Gmail]/Sent Mail", "[Google Mail]/Sent Mail")


@dataclasses.dataclass
class Revision:
    """The last draft stored for one merge request."""

    message_id: str
    subject: str  # brz's own subject, without a version
    version: int
    folder: str
    uidvalidity: Optional[int]
    uid: Optional[int]
    in_reply_to: Optional[str] = None  # the sent version it answers
    references: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Thread:
    """How the next draft of a merge request is to be stored."""

    version: int = 1
    in_reply_to: Optional[str] = None
    references: list = dataclasses.field(default_factory=list)
    replaces: list = dataclasses.field(default_factory=list)  # UIDs, unsent
    sent_subject: Optional[str] = None
    sent_date: Optional[str] = None

    def subject(self, subject: str) -> str:
        """``[MERGE vN]`` for a draft that follows a sent version."""
        if self.in_reply_to is None:
            return subject
        return "[MERGE v%d] %s" % (self.version, MERGE_TAG.sub("", subject))


class NextRevision:
    """brz send's draft as the next revision of its merge request: built
    once the folder shows whether the last one was sent, remembered once
    stored.  ``data`` is the latest draft built (kept if storing fails)."""

    def __init__(self, key: str, previous: Optional[Revision], subject: str,
                 fields: dict) -> None:
        self.key, self.previous, self.subject, self.fields = key, previous, subject, fields
        self.thread = Thread()
        self.data: Optional[DraftData] = None
        self.message_id = ""

    def commands(self) -> list[bytes]:
        """Sent with the login, so that the common case (the draft not sent
        yet) costs no turn of its own: SELECT the last draft's folder, FETCH
        its remembered UID's Message-ID.  A failed login makes the server
        refuse both; a failed SELECT, its FETCH; a changed UIDVALIDITY makes
        the FETCH's answer ignored (``thread_for``)."""
        previous = self.previous
        if previous is None or previous.uid is None:
            return []
        return [fast_commands.select_command(previous.folder),
                b"UID FETCH %d (%s)" % (previous.uid,
                                        drafts.MESSAGE_ID_FIELD.encode("ascii"))]

    def first(self, data: DraftData, message_id: str) -> Optional[Draft]:
        """Where there is no earlier draft to look for, the one already
        built (``data``) is the first revision: known before connecting,
        and storing it tells the server nothing more."""
        if self.previous is not None:
            return None
        self.data, self.message_id = data, message_id
        return Draft(data, message_id, self._stored, after_append_is_local=True)

    def prepare(self, client, folder: str, replies: list) -> Draft:
        self.thread = thread_for(client, self.previous, replies)
        message = build_draft(subject=self.thread.subject(self.subject),
                              in_reply_to=self.thread.in_reply_to,
                              references=self.thread.references, **self.fields)
        self.data, self.message_id = draft_bytes(message), message["Message-ID"]
        return Draft(self.data, self.message_id, self._stored,
                     after_append_is_local=not self.thread.replaces)

    def _stored(self, client, folder: str, appended: Appended) -> None:
        thread = self.thread
        remember(self.key, Revision(
            self.message_id, self.subject, thread.version, folder,
            appended.uidvalidity, appended.uid, thread.in_reply_to,
            thread.references))
        if thread.replaces:
            said = replace_unsent(client, thread)
            trace.note("%s with the new one (UID %s).", said,
                       appended.uid if appended.uid is not None else "?")
        elif thread.in_reply_to:
            trace.note('Draft saved as v%d, a reply to "%s" sent %s.',
                       thread.version, printable(thread.sent_subject or ""),
                       thread.sent_date)

def next_revision(config, directive: bytes, settings: IMAPSettings, subject: str,
                  fields: dict) -> Optional[NextRevision]:
    """The merge request's next revision, or None where revisions are off
    (imap_revisions = False) or brz send gave no branch.  With
    imap_new_thread, the last draft is forgotten: a new thread starts."""
    if not settings.revisions:
        return None
    key = merge_request_key(config, directive, settings)
    if key is None:
        return None
    previous = None if settings.new_thread else remembered(key)
    return NextRevision(key, previous, subject, fields)


def merge_request_key(config, directive: bytes, settings: IMAPSettings) -> Optional[str]:
    """Which merge request this is: the branch and the directive's target,
    on this account; None where brz send gave no branch."""
    branch = getattr(config, "branch", None)
    target = TARGET_BRANCH.search(directive[:4096])
    if branch is None or target is None:
        return None
    # The account is user@host; not the port (a proxy or tunnel may vary it).
    return "%s -> %s (%s@%s)" % (branch.base, target.group(1).decode("utf-8", "replace"),
                                 settings.username, settings.host)


def remembered(key: str) -> Optional[Revision]:
    record = _load().get(key)
    try:
        return Revision(**record) if isinstance(record, dict) else None
    except TypeError:  # written by another version: start afresh
        return None


def remember(key: str, revision: Revision) -> None:
    records = _load()
    records[key] = dataclasses.asdict(revision)
    _save(records)


def thread_for(client, previous: Optional[Revision], replies: list = ()) -> Thread:
    """Look for the previous draft: still in its folder (not sent: it is
    replaced), else in a sent folder (sent: the new one replies to it).
    ``replies``: to NextRevision.commands, where they were sent."""
    if previous is None:
        return Thread()
    unsent = _unsent(client, previous, replies)
    if unsent:
        return Thread(previous.version + 1, previous.in_reply_to,
                      list(previous.references), replaces=unsent)
    sent = _find_sent(client, previous.message_id)
    if sent is None:
        trace.note('The previous draft of this merge request (%s) is neither in'
                   ' "%s" nor in a sent folder: it was edited or deleted, and is'
                   " left alone. This draft starts a new thread.",
                   printable(previous.message_id), printable(previous.folder))
        return Thread()
    sent_subject, sent_date = sent
    return Thread(previous.version + 1, previous.message_id,
                  previous.references + [previous.message_id],
                  sent_subject=sent_subject, sent_date=sent_date)


def _unsent(client, previous: Revision, replies: list) -> list[int]:
    """The previous draft's UID while it is still in its folder: where the
    folder's UIDVALIDITY is unchanged, what the FETCH of the remembered UID
    (sent with the login) showed; else a search by Message-ID."""
    if replies:
        uidvalidity = fast_commands.selected(client, replies[0])
        fetched = fast_commands.fetched(client)
        if uidvalidity is None:  # no such folder any more
            return []
    else:
        status = drafts.select(client, previous.folder)
        if status is None:
            return []
        uidvalidity, fetched = status.get(b"UIDVALIDITY"), None
        if previous.uid is not None and uidvalidity == previous.uidvalidity:
            fetched = client.fetch([previous.uid], [drafts.MESSAGE_ID_FIELD])
    if uidvalidity == previous.uidvalidity and fetched is not None:
        data = fetched.get(previous.uid)
        return [previous.uid] if data and drafts.has_message_id(
            data, previous.message_id) else []
    return drafts.with_message_id(client, client.search(
        ["HEADER", "Message-ID", previous.message_id]), previous.message_id)


def _find_sent(client, message_id: str) -> Optional[tuple[str, str]]:
    """(subject, date) of the sent message with this Message-ID, if any: on
    GMail searched for in All Mail, wherever its labels put it; elsewhere
    in the sent folders."""
    listing = client.list_folders()
    if client.has_capability(drafts.GMAIL_EXTENSION):
        for folder in _flagged(listing, b"\\all"):
            found = _gmail_search(client, folder, message_id)
            if found:
                return _envelope(client, found[0])
    for folder in _sent_folders(listing):
        found = drafts.find_by_message_id(client, folder, message_id)
        if found:
            return _envelope(client, found[0])
    return None


def _gmail_search(client, folder: str, message_id: str) -> list[int]:
    """X-GM-RAW with GMail's documented rfc822msgid: operator, confirmed
    exactly (a search engine's match is not an equality)."""
    if drafts.select(client, folder) is None:
        return []
    query = "rfc822msgid:" + message_id.strip().strip("<>")
    return drafts.with_message_id(client, client.gmail_search(query, charset=None),
                                  message_id)


def _envelope(client, uid: int) -> tuple[str, str]:
    envelope = client.fetch([uid], ["ENVELOPE"])[uid][b"ENVELOPE"]
    subject = (envelope.subject or b"").decode("utf-8", "replace")
    date = envelope.date.strftime("%Y-%m-%d") if envelope.date else "?"
    return _decoded(subject), date


def _flagged(listing: list, flag: bytes) -> list[str]:
    return [name for flags, _delimiter, name in listing
            if any(f.lower() == flag for f in flags)]


def _sent_folders(listing: list) -> list[str]:
    """Folders flagged \\Sent (RFC 6154), else with a usual sent name."""
    flagged = _flagged(listing, b"\\sent")
    if flagged:
        return flagged
    names = {name.lower(): name for _flags, _delimiter, name in listing}
    return [names[n.lower()] for n in SENT_NAMES if n.lower() in names]


def _decoded(subject: str) -> str:
    import email.header

    try:
        return str(email.header.make_header(email.header.decode_header(subject)))
    except (LookupError, UnicodeError, ValueError):
        return subject


def replace_unsent(client, thread: Thread) -> str:
    """Delete the unsent drafts ``thread`` replaces (the new one is stored):
    UID EXPUNGE with UIDPLUS; without it they are flagged \\Deleted and left,
    as a plain EXPUNGE would remove other messages the user deleted.
    Returns what to tell the user.  The folder is still selected: the
    UIDs were found there, and only the APPEND came since.  STORE and UID
    EXPUNGE go in one turn: EXPUNGE removes those UIDs only if STORE
    flagged them, so a failed STORE leaves them whole.  LOGOUT goes with
    them: this is the connection's last use (``store.Draft``)."""
    uids = ",".join(map(str, thread.replaces)).encode("ascii")
    store = b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uids
    if not client.has_capability("UIDPLUS"):
        _check_replies(fast_commands.pipelined(client, [store, fast_commands.LOGOUT]))
        return ("Flagged the unsent draft of this merge request (UID %s) as"
                " deleted (the server cannot expunge one message without"
                " UIDPLUS)" % uids.decode())
    _check_replies(fast_commands.pipelined(
        client, [store, b"UID EXPUNGE " + uids, fast_commands.LOGOUT]))
    return "Replaced the unsent draft of this merge request (UID %s)" % uids.decode()


def _check_replies(replies: list) -> None:
    for kind, data in replies:
        if kind != "OK":
            raise imap_exceptions.IMAPClientError(
                "removing the unsent draft: %s %s" % (kind, data[-1] if data else ""))


CACHE_FILE = "merge-requests.json"


def _load() -> dict:
    return cache_files.load(CACHE_FILE)


def _save(records: dict) -> None:
    """A record that cannot be written only costs the next send its
    replacing or threading: said, not an error."""
    try:
        cache_files.save(CACHE_FILE, records)
    except OSError as e:
        trace.warning("Cannot save %s (%s): the next brz send of this merge"
                      " request will not replace or thread this draft.",
                      cache_files.path(CACHE_FILE), e.strerror)
