"""Finds the sent copy of a draft brz stored: the version of a merge
request that was sent, and its Message-ID as sent, to thread the next
version under.

Looked for in the folders flagged \\Sent (RFC 6154), else those with a
usual sent name; on GMail in All Mail, wherever its labels put it.  First
by the draft's Message-ID.  Mail programs that give a message a new one
when they send it (alpine, Thunderbird, perhaps GMail's web interface)
keep its attachment, so the second key is the merge directive brz
attached: among the messages since the day the draft was stored (those
with its subject first), the one whose attachment starts with the
directive's own ``# revision_id:`` and ``# timestamp:`` lines.
"""

from __future__ import annotations

import binascii
import datetime
import email.header
import itertools
import quopri
from typing import Iterator, NamedTuple, Optional

from . import errors
from .merge_requests import DraftRecord, is_message_id
from .wire import replies
from .wire.mailbox import Connection

SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent",
              "INBOX/Sent", "[Gmail]/Sent Mail", "[Google Mail]/Sent Mail")
CANDIDATES = 20  # newest messages whose attachments are read, a folder
PART_START = 8192  # bytes of each part read: the directive's header is first
MAX_PARTS = 8
MAX_DEPTH = 4


class SentCopy(NamedTuple):
    message_id: str
    subject: str
    day: str


def find_sent(connection: Connection, record: DraftRecord,
              subject: str) -> Optional[SentCopy]:
    """The sent copy of ``record``'s draft (brz's subject ``subject``),
    or None.  Leaves a sent folder EXAMINEd, or none selected."""
    listing = connection.list_folders()
    gmail = connection.is_gmail
    folders = _flagged(listing, b"\\all") if gmail else _sent_folders(listing)
    for folder in folders:
        if connection.select(folder, readonly=True) is None:
            continue
        found = (_gmail_search(connection, folder, record.message_id) if gmail
                 else _with_message_id(connection, folder, record.message_id))
        if not found and record.token:
            found = _by_directive(connection, folder, record, subject)
        if found:
            return _copy(connection, folder, found[-1])
    return None


def _with_message_id(connection: Connection, folder: str, message_id: str) -> list[int]:
    uids = connection.search(["HEADER", "Message-ID", message_id], folder=folder)
    return connection.with_message_id(uids, message_id, folder)


def _gmail_search(connection: Connection, folder: str, message_id: str) -> list[int]:
    """X-GM-RAW with GMail's documented rfc822msgid: operator, confirmed
    exactly (a search engine's match is not an equality); where it is
    refused (a server that copies GMail's layout, not its search), the
    plain search."""
    query = "rfc822msgid:" + message_id.strip().strip("<>")
    try:
        found = connection.gmail_search(query, folder)
    except errors.ServerRefused:
        return _with_message_id(connection, folder, message_id)
    return connection.with_message_id(found, message_id, folder)


def _by_directive(connection: Connection, folder: str, record: DraftRecord,
                  subject: str) -> list[int]:
    """The second key: see the module's docstring."""
    since = _day_before(record.day)
    criteria = ["SINCE", since] if since else ["ALL"]
    uids = _search(connection, folder, criteria + ["SUBJECT", subject.strip()]) \
        if subject.strip() else []
    if not uids:
        uids = connection.search(criteria, folder=folder)
    revision_line, timestamp_line = directive_lines(record.token)
    for uid in sorted(uids, reverse=True)[:CANDIDATES]:
        for text in _part_starts(connection, folder, uid):
            if revision_line in text and timestamp_line in text:
                return [uid]
    return []


def _search(connection: Connection, folder: str, criteria: list) -> list[int]:
    """SEARCH, UTF-8 where the criteria need it; nothing if refused."""
    ascii_only = all(isinstance(c, str) and c.isascii() or not isinstance(c, str)
                     for c in criteria)
    try:
        return connection.search(criteria, None if ascii_only else "UTF-8", folder)
    except errors.ServerRefused:
        return []


def directive_token(directive: bytes) -> str:
    """What identifies this send's directive: its revision id and its
    timestamp (``# revision_id: X``, ``# timestamp: Y``), or "" if absent."""
    fields = {}
    for line in directive[:PART_START].splitlines():
        name, _, value = line.partition(b": ")
        if name in (b"# revision_id", b"# timestamp") and name not in fields:
            fields[name] = value.strip().decode("utf-8", "replace")
    if len(fields) != 2 or " " in fields[b"# revision_id"]:
        return ""
    return "%s %s" % (fields[b"# revision_id"], fields[b"# timestamp"])


def directive_lines(token: str) -> tuple[bytes, bytes]:
    revision_id, _, timestamp = token.partition(" ")
    return (b"# revision_id: " + revision_id.encode("utf-8"),
            b"# timestamp: " + timestamp.encode("utf-8"))


def _part_starts(connection: Connection, folder: str, uid: int) -> Iterator[bytes]:
    """The start of each leaf part of message ``uid``, decoded."""
    structure = connection.fetch([uid], ["BODYSTRUCTURE"], folder).get(uid, {}).get(
        b"BODYSTRUCTURE")
    if structure is None:
        return
    sections = list(itertools.islice(_leaves(structure), MAX_PARTS))
    wanted = ["BODY.PEEK[%s]<0.%d>" % (section, PART_START) for section, _ in sections]
    fetched = connection.fetch([uid], wanted, folder).get(uid, {})
    for section, encoding in sections:
        yield _decoded_part(replies.fetch_item(fetched, b"BODY[%s]" % section.encode("ascii")),
                            encoding)


def _leaves(structure, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(section, transfer encoding) of each leaf part of a BODYSTRUCTURE,
    down to MAX_DEPTH (a server's nesting is no reason to recurse)."""
    if structure.is_multipart:
        if prefix.count(".") >= MAX_DEPTH:
            return
        for number, part in enumerate(structure[0], 1):
            yield from _leaves(part, "%s%d." % (prefix, number))
        return
    encoding = structure[5] if len(structure) > 5 else b""
    yield (prefix[:-1] or "1"), (encoding if isinstance(encoding, bytes) else b"")


def _decoded_part(data: bytes, encoding: bytes) -> bytes:
    encoding = encoding.lower()
    if encoding == b"base64":
        compact = b"".join(data.split())
        try:
            return binascii.a2b_base64(compact[:len(compact) // 4 * 4])
        except binascii.Error:
            return b""
    if encoding == b"quoted-printable":
        return quopri.decodestring(data)
    return data


def _copy(connection: Connection, folder: str, uid: int) -> Optional[SentCopy]:
    """The sent copy's Message-ID, subject and day; None where the server
    does not say its Message-ID (there is then nothing to reply to)."""
    envelope = connection.fetch([uid], ["ENVELOPE"], folder).get(uid, {}).get(b"ENVELOPE")
    if envelope is None:
        return None
    message_id = (envelope.message_id or b"").decode("ascii", "replace").strip()
    if not is_message_id(message_id):
        return None  # nothing to thread under
    subject = _decoded((envelope.subject or b"").decode("utf-8", "replace"))
    day = envelope.date.strftime("%Y-%m-%d") if envelope.date else ""
    return SentCopy(message_id, subject, day)


def _day_before(day: str) -> Optional[datetime.date]:
    try:
        return datetime.date.fromisoformat(day) - datetime.timedelta(days=1)
    except ValueError:
        return None


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
    try:
        return str(email.header.make_header(email.header.decode_header(subject)))
    except (LookupError, UnicodeError, ValueError):
        return subject
