"""Which of the drafts brz remembers are still there, unchanged, and the
removal of those, recoverably: nothing else is ever removed.

A remembered draft is brz's to remove only if, right before, on the same
connection: it is in the Drafts folder in use, selected by name; the
folder's UIDVALIDITY is the one its APPEND was answered with; the message
at the remembered UID has the draft's Message-ID, the \\Draft flag and
the fingerprint of what brz uploaded (``fingerprint``).  Where the server
gave no UID (no UIDPLUS, or a reply lost), the one message with that
Message-ID (which brz made), the flag and the fingerprint stands for it.
Anything else is left alone and the user is told why.

Not the size: servers store a message their own way (GNU Mailutils' mbox
adds headers and counts its size so), while the headers a user edits and
the text come back as they were uploaded.

Removed means moved to the \\Trash folder where the server has MOVE and
one (GMail's web interface does the same; an expunged GMail draft may live
on in All Mail), else UID EXPUNGE (UIDPLUS), else flagged \\Deleted for the
user's mail program to expunge.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Optional, Sequence

from breezy import trace

from . import drafts, fast_commands
from .draft_data import DraftData, slices
from .errors import printable
from .merge_requests import DraftRecord

THERE = "there"  # unchanged, in the folder: brz's to remove
GONE = "gone"  # not in the folder: sent, or deleted
LEFT = "left alone"  # there, but not provably brz's own draft

# What tells brz's draft from an edited one: the fields a user edits (and
# the Message-ID), and the start of the text (the message, the directive's).
FIELDS = ("MESSAGE-ID", "SUBJECT", "FROM", "TO", "CC")
TEXT_START = 65536
FETCHED = ["FLAGS", "BODY.PEEK[HEADER.FIELDS (%s)]" % " ".join(FIELDS),
           "BODY.PEEK[TEXT]<0.%d>" % TEXT_START]
LOOKED_AT = ("(%s)" % " ".join(FETCHED)).encode("ascii")


class Look(NamedTuple):
    state: str
    uid: Optional[int] = None
    why: str = ""


def look(client, folder: str, records: Sequence[DraftRecord]) -> list[Look]:
    """Where each of ``records`` is, read-only, in one turn (EXAMINE, FETCH,
    and leave the folder: some servers lose an APPEND into the selected
    one)."""
    if not records:
        return []
    replies = fast_commands.pipelined(client, _commands(client, folder, records, True))
    opened = _opened(client, replies, readonly=True, listing=False, folder=folder)
    try:
        return [_looked(client, folder, opened, record) for record in records]
    finally:
        fast_commands.leave_folder(client, folder)  # EXAMINEd again for a search


def checks_before_removal(client, folder: str,
                          records: Sequence[DraftRecord]) -> list[bytes]:
    """What ``remove`` asks first (SELECT, FETCH, and a LIST to find the
    Trash where the server can MOVE), to send ahead in a turn of another's:
    none of it changes any mail."""
    return (_commands(client, folder, records, readonly=False)
            + [drafts.LIST_ALL] * client.has_capability("MOVE"))


def remove(client, folder: str, records: Sequence[DraftRecord],
           last_use: bool = False, replies: Optional[list] = None) -> list[DraftRecord]:
    """Remove those of ``records`` that are brz's, unchanged, each told;
    the others are left alone, and said why.  Returns those settled
    (removed, gone or left alone); the rest stay remembered.  With
    ``last_use``, LOGOUT goes with the removal.  ``replies``: to
    ``checks_before_removal``, where they were sent ahead."""
    if replies is None:
        replies = fast_commands.pipelined(
            client, checks_before_removal(client, folder, records))
    opened = _opened(client, replies, readonly=False,
                     listing=client.has_capability("MOVE"), folder=folder)
    ours, settled = [], []
    for record in records:
        found = _looked(client, folder, opened, record)
        if found.state == THERE:
            ours.append((record, found.uid))
        else:
            settled.append(record)
            if found.state == LEFT:
                say_left(record, folder, found.why)
    if ours:
        uids = [uid for _record, uid in ours]
        done = _remove_uids(client, uids, opened.trash, last_use)
        trace.note(done, "the earlier unsent draft%s of this merge request (UID %s)" % (
            "s" if len(uids) > 1 else "", ", ".join(map(str, uids))))
        settled.extend(record for record, _uid in ours)
    return settled


def say_left(record: DraftRecord, folder: str, why: str) -> None:
    trace.note('Left the earlier draft %s in "%s" alone: %s.',
               printable(record.message_id), printable(record.folder or folder),
               printable(why))


def _commands(client, folder: str, records: Sequence[DraftRecord],
              readonly: bool) -> list[bytes]:
    """SELECT (or EXAMINE) ``folder``, FETCH the remembered UIDs; read-only,
    leave the folder too (UNSELECT, or CLOSE, which removes nothing from a
    folder EXAMINEd)."""
    uids = sorted({r.uid for r in records if r.uid is not None})
    commands = [fast_commands.select_command(folder, readonly)]
    if uids:
        commands.append(b"UID FETCH %s %s" % (",".join(map(str, uids)).encode(), LOOKED_AT))
    if readonly:
        commands.append(fast_commands.unselect_command(client))
    return commands


def _opened(client, replies: list, readonly: bool, listing: bool, folder: str):
    """What ``_commands`` (and a LIST after them) found: the folder's
    UIDVALIDITY (None if it could not be opened), what the FETCH gave by
    UID, and the folder to move to."""
    trash = _trash_folder(drafts.listed(client, replies[-1]) or [], folder) if listing \
        else None
    uidvalidity = fast_commands.selected(client, replies[0])
    fetched = fast_commands.fetched(client)
    if readonly:
        fast_commands.unselected(client)
    if replies[0][0] != "OK":
        uidvalidity, fetched = None, {}
    return _Opened(uidvalidity, fetched, trash, readonly)


class _Opened(NamedTuple):
    uidvalidity: Optional[int]
    fetched: dict
    trash: Optional[str]
    readonly: bool = False


def _looked(client, folder: str, opened: _Opened, record: DraftRecord) -> Look:
    if record.folder not in (None, folder):
        return Look(LEFT, why='it is in "%s", not in the Drafts folder in use'
                    % record.folder)
    uidvalidity = opened.uidvalidity
    if uidvalidity is None:
        return Look(GONE)
    if record.uid is not None and record.uidvalidity == uidvalidity:
        data = opened.fetched.get(record.uid)
        if data is not None:
            return _checked(record, record.uid, data)
    found = _by_message_id(client, folder, opened, record.message_id)
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
    return _checked(record, uid, data)


def _by_message_id(client, folder: str, opened: _Opened, message_id: str) -> dict:
    """What FETCHED shows of each message in ``folder`` with exactly this
    Message-ID, by UID (EXAMINEd again where ``look`` left it)."""
    if opened.readonly:
        client.select_folder(folder, readonly=True)
    uids = client.search(["HEADER", "Message-ID", message_id])
    if not uids:
        return {}
    fetched = client.fetch(uids, FETCHED)
    return {uid: data for uid, data in fetched.items()
            if drafts.has_message_id(data, message_id)}


def _checked(record: DraftRecord, uid: int, data: dict) -> Look:
    """THERE if the message at ``uid`` is the draft brz stored, unchanged."""
    if not drafts.has_message_id(data, record.message_id):
        return Look(LEFT, why="UID %d now holds another message" % uid)
    flags = {flag.lower() for flag in data.get(b"FLAGS", ())}
    if b"\\draft" not in flags:
        return Look(LEFT, why="it is no longer flagged as a draft")
    if not record.fingerprint:
        return Look(LEFT, why="an earlier brz-imapclient did not note what it"
                    " stored, so it cannot be told from an edited copy")
    header_block = drafts.fetch_item(data, drafts.HEADER_FIELDS_REPLY)
    if _fingerprint(header_block, drafts.fetch_item(data, b"BODY[TEXT]")) \
            != record.fingerprint:
        return Look(LEFT, why="it was edited since brz stored it")
    return Look(THERE, uid)


def fingerprint(data: DraftData) -> str:
    """The fingerprint of a draft brz is about to store."""
    start = b""
    for piece in slices(data):
        start += bytes(piece)
        if len(start) >= 4 * TEXT_START:  # headers and the text's start
            break
    head, _, text = start.partition(b"\r\n\r\n")
    return _fingerprint(head + b"\r\n", text[:TEXT_START])


def _fingerprint(header_block: bytes, text_start: bytes) -> str:
    digest = hashlib.sha256()
    for value in drafts.header_values(header_block, FIELDS):
        digest.update(value.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(text_start)
    return digest.hexdigest()


def _remove_uids(client, uids: list[int], trash: Optional[str], last_use: bool) -> str:
    """Move ``uids`` (in the selected folder) to ``trash``, else expunge
    them, or flag them \\Deleted, as the server allows; what was done, to
    say of them (%s)."""
    uid_set = ",".join(map(str, uids)).encode("ascii")
    if trash is not None:
        commands = [b"UID MOVE %s %s" % (uid_set, fast_commands.folder_name(trash))]
        said = 'Moved %%s to "%s".' % printable(trash).replace("%", "%%")
    else:
        commands = [b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uid_set]
        if client.has_capability("UIDPLUS"):
            commands.append(b"UID EXPUNGE " + uid_set)
            said = "Removed %s."
        else:
            said = ("Flagged %s as deleted: your mail program removes it when it"
                    " expunges the folder (the server cannot remove one message"
                    " alone).")
    logout = [fast_commands.LOGOUT] if last_use else []
    fast_commands.check_all(fast_commands.pipelined(client, commands + logout),
                            "removing the earlier draft")
    return said


def _trash_folder(listing: list, folder: str) -> Optional[str]:
    """The folder flagged \\Trash (RFC 6154) in ``listing``, if any."""
    for flags, _delimiter, name in listing:
        if any(flag.lower() == b"\\trash" for flag in flags) and name != folder:
            return name
    return None
