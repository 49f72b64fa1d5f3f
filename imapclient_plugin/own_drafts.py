"""Which of the drafts brz remembers are still there, unchanged, and the
removal of those, recoverably: nothing else is ever removed.

A remembered draft is brz's to remove only if, right before, on the same
connection: it is in the Drafts folder in use, selected by name, and
either the folder's UIDVALIDITY is the one its APPEND was answered with
and the message at the remembered UID has the draft's Message-ID and the
\\Draft flag (an IMAP message never changes: an edit is a new message,
with a new UID), or, where the server gave no UID (no UIDPLUS, or a reply
lost), the one message with that Message-ID (which brz made) has the
flag and the fingerprint of the whole of what brz uploaded
(``fingerprint``), fetched whole.  Anything else is left alone and the
user is told why.

The fingerprint is of every header field brz writes and the whole text,
not of the raw bytes or the size: servers store a message their own way
(GNU Mailutils' mbox adds header fields and counts its size so), while
those come back as they were uploaded.

Removed means moved to the \\Trash folder where the server has MOVE and
one (GMail's web interface does the same; an expunged GMail draft may live
on in All Mail), else UID EXPUNGE (UIDPLUS), else flagged \\Deleted for the
user's mail program to expunge.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Optional, Sequence

from breezy import trace

from .draft_data import DraftData, slices
from .errors import printable
from .merge_requests import DraftRecord
from .wire import mailbox, replies
from .wire.mailbox import Connection

THERE = "there"  # unchanged, in the folder: brz's to remove
GONE = "gone"  # not in the folder: sent, or deleted
LEFT = "left alone"  # there, but not provably brz's own draft

# What tells brz's draft from an edited one where no UID is known: every
# header field brz writes (a mail program edits any of them), and the whole
# text; not the fields a server adds as it stores the message.
FIELDS = ("MESSAGE-ID", "DATE", "FROM", "TO", "CC", "BCC", "REPLY-TO", "SUBJECT",
          "IN-REPLY-TO", "REFERENCES", "USER-AGENT", "MIME-VERSION", "CONTENT-TYPE",
          "CONTENT-TRANSFER-ENCODING")
# By UID: the flags and the Message-ID.  By search: the message's own bytes,
# whole, not the parts a server works out from them (hoodiecrow's BODY[TEXT]
# of a multipart message leaves lines out).
LOOKED_AT = b"(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
FETCHED_WHOLE = ["FLAGS", "BODY.PEEK[]"]


class Look(NamedTuple):
    state: str
    uid: Optional[int] = None
    why: str = ""


def look(connection: Connection, folder: str,
         records: Sequence[DraftRecord]) -> list[Look]:
    """Where each of ``records`` is, read-only, in one turn (EXAMINE, FETCH,
    and leave the folder: some servers lose an APPEND into the selected
    one)."""
    if not records:
        return []
    opened = connection.look(folder, _uids(records), LOOKED_AT, readonly=True)
    return [_looked(connection, folder, opened, record, True) for record in records]


def look_and_say(connection: Connection, folder: str,
                 records: Sequence[DraftRecord]) -> list[Look]:
    """``look``, and a word for each draft left alone (not provably brz's)."""
    looks = look(connection, folder, records)
    for record, found in zip(records, looks):
        if found.state == LEFT:
            say_left(record, folder, found.why)
    return looks


def checks_before_removal(connection: Connection, folder: str,
                          records: Sequence[DraftRecord]) -> list[bytes]:
    """What ``remove`` asks first (SELECT, FETCH, and a LIST to find the
    Trash where the server can MOVE), to send ahead in a turn of another's:
    none of it changes any mail."""
    return connection.look_commands(folder, _uids(records), LOOKED_AT, readonly=False,
                                    listing=connection.has("MOVE"))


def remove(connection: Connection, folder: str, records: Sequence[DraftRecord],
           last_use: bool = False, replies: Optional[list] = None) -> list[DraftRecord]:
    """Remove those of ``records`` that are brz's, unchanged, each told;
    the others are left alone, and said why.  Returns those settled
    (removed, gone or left alone); the rest stay remembered.  With
    ``last_use``, LOGOUT goes with the removal.  ``replies``: to
    ``checks_before_removal``, where they were sent ahead."""
    listing = connection.has("MOVE")
    if replies is None:
        replies = connection.pipelined(checks_before_removal(connection, folder, records))
    opened = connection.looked(replies, readonly=False, listing=listing, folder=folder)
    ours, settled = [], []
    for record in records:
        found = _looked(connection, folder, opened, record, False)
        if found.state == THERE:
            ours.append((record, found.uid))
        else:
            settled.append(record)
            if found.state == LEFT:
                say_left(record, folder, found.why)
    if ours:
        uids = [uid for _record, uid in ours]
        trash = _trash_folder(opened.listing or [], folder)
        done = connection.remove(folder, uids, trash, last_use)
        trace.note(SAID[done].replace("%(trash)s", printable(trash or "").replace("%", "%%")),
                   "the earlier unsent draft%s of this merge request (UID %s)" % (
                       "s" if len(uids) > 1 else "", ", ".join(map(str, uids))))
        if done != mailbox.NOT_SHOWN:  # else remembered, and looked at again
            settled.extend(record for record, _uid in ours)
    return settled


SAID = {
    mailbox.MOVED: 'Moved %s to "%(trash)s".',
    mailbox.EXPUNGED: "Removed %s.",
    mailbox.FLAGGED: ("Flagged %s as deleted: your mail program removes it when it"
                      " expunges the folder (the server cannot remove one message"
                      " alone)."),
    mailbox.NOT_SHOWN: ('The server said it moved %s to "%(trash)s", but not where'
                        " (no COPYUID): brz remembers it and looks again at the next"
                        " send."),
}


def say_left(record: DraftRecord, folder: str, why: str) -> None:
    trace.note('Left the earlier draft %s in "%s" alone: %s.',
               printable(record.message_id), printable(record.folder or folder),
               printable(why))


def _uids(records: Sequence[DraftRecord]) -> list[int]:
    return sorted({r.uid for r in records if r.uid is not None})


def _looked(connection: Connection, folder: str, opened: mailbox.FolderLook,
            record: DraftRecord, readonly: bool) -> Look:
    if record.folder not in (None, folder):
        return Look(LEFT, why='it is in "%s", not in the Drafts folder in use'
                    % record.folder)
    uidvalidity = opened.uidvalidity
    if uidvalidity is None:
        return Look(GONE)
    if record.uid is not None and record.uidvalidity == uidvalidity:
        data = opened.fetched.get(record.uid)
        if data is not None:
            return _checked_by_uid(record, record.uid, data)
    found = _by_message_id(connection, folder, readonly, record.message_id)
    if not found:
        return Look(GONE)
    if record.uid is not None and record.uidvalidity != uidvalidity:
        return Look(LEFT, why="the folder was made anew since brz stored it"
                    " (its UIDVALIDITY changed), so it may not be the same message")
    if record.uid is not None:
        return Look(LEFT, why="it was changed since brz stored it (now UID %s)"
                    % ", ".join(map(str, found)))
    if len(found) > 1:
        return Look(LEFT, why="there are %d messages with its Message-ID" % len(found))
    (uid, data), = found.items()
    return _checked_whole(record, uid, data)


def _by_message_id(connection: Connection, folder: str, readonly: bool,
                   message_id: str) -> dict:
    """Each message in ``folder`` with exactly this Message-ID, fetched
    whole with its flags, by UID (EXAMINEd again where ``look`` left it)."""
    if readonly:
        connection.select(folder, readonly=True)
    uids = connection.search(["HEADER", "Message-ID", message_id], folder=folder)
    found = {}
    for uid in uids:  # one at a time: a big draft is not held twice
        data = connection.fetch([uid], FETCHED_WHOLE, folder).get(uid, {})
        if _has_message_id(_parts(data)[0], message_id):
            found[uid] = data
    if readonly:
        connection.leave(folder)
    return found


def _checked_by_uid(record: DraftRecord, uid: int, data: dict) -> Look:
    """THERE if the message at the UID brz's APPEND was answered with still
    has the draft's Message-ID and flag: it is then the message brz stored,
    unchanged, as no IMAP message ever changes."""
    if not replies.has_message_id(data, record.message_id):
        return Look(LEFT, why="UID %d now holds another message" % uid)
    return _flagged_and_noted(record, uid, data)


def _checked_whole(record: DraftRecord, uid: int, data: dict) -> Look:
    """THERE if the message found by its Message-ID, fetched whole, is the
    draft brz stored: the flag, and the fingerprint of all of it."""
    looked = _flagged_and_noted(record, uid, data)
    if looked.state != THERE:
        return looked
    if _fingerprint(*_parts(data)) != record.fingerprint:
        return Look(LEFT, why="it was edited since brz stored it (or an older"
                    " brz-imapclient stored it, which noted less of it)")
    return looked


def _flagged_and_noted(record: DraftRecord, uid: int, data: dict) -> Look:
    flags = {flag.lower() for flag in data.get(b"FLAGS", ())}
    if b"\\draft" not in flags:
        return Look(LEFT, why="it is no longer flagged as a draft")
    if not record.fingerprint:
        return Look(LEFT, why="an earlier brz-imapclient did not note what it"
                    " stored, so it cannot be told from an edited copy")
    return Look(THERE, uid)


def fingerprint(data: DraftData) -> str:
    """The fingerprint of a draft brz is about to store: its header fields
    (``FIELDS``) and the whole text, read a slice at a time."""
    head = b""
    pieces = iter(slices(data))
    for piece in pieces:
        head += bytes(piece)
        if b"\r\n\r\n" in head:
            break
    header_block, text = _split(head)
    digest = _header_digest(header_block)
    digest.update(text)
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def _parts(fetched: dict) -> tuple[bytes, bytes]:
    """The header block and the text of a message fetched whole."""
    return _split(replies.fetch_item(fetched, b"BODY[]"))


def _split(message: bytes) -> tuple[bytes, bytes]:
    """The header block and the text of a message."""
    head, _, text = message.partition(b"\r\n\r\n")
    return head + b"\r\n", text


def _has_message_id(header_block: bytes, message_id: str) -> bool:
    found, = replies.header_values(header_block, ["Message-ID"])
    return found == message_id.strip()


def _fingerprint(header_block: bytes, text: bytes) -> str:
    digest = _header_digest(header_block)
    digest.update(text)
    return digest.hexdigest()


def _header_digest(header_block: bytes):
    digest = hashlib.sha256()
    for value in replies.header_values(header_block, FIELDS):
        digest.update(value.encode("utf-8", "surrogateescape") + b"\0")
    return digest


def _trash_folder(listing: list, folder: str) -> Optional[str]:
    """The folder flagged \\Trash (RFC 6154) in ``listing``, if any."""
    for flags, _delimiter, name in listing:
        if any(flag.lower() == b"\\trash" for flag in flags) and name != folder:
            return name
    return None
