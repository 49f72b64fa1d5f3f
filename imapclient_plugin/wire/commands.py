"""The IMAP command lines the plugin sends itself (pipelined, or behind an
APPEND), without their tags: what they say, not how they are sent.
Folder names go as imapclient sends them (modified UTF-7, quoted)."""

from __future__ import annotations

from typing import Sequence

from imapclient import imap_utf7

LOGOUT = b"LOGOUT"  # sent last: its reply (BYE) is not waited for
LIST_ALL = b'LIST "" "*"'


def quoted(text: bytes) -> bytes:
    """An IMAP quoted string."""
    return b'"%s"' % text.replace(b"\\", b"\\\\").replace(b'"', b'\\"')


def folder_name(folder: str) -> bytes:
    """A folder's name on the wire: modified UTF-7, quoted."""
    return quoted(imap_utf7.encode(folder))


def select(folder: str, readonly: bool = False) -> bytes:
    """SELECT (or EXAMINE) ``folder``."""
    return b"%s %s" % (b"EXAMINE" if readonly else b"SELECT", folder_name(folder))


def unselect(offered: bool) -> bytes:
    """What leaves the selected folder: UNSELECT (RFC 3691) where
    ``offered``, else CLOSE, which expunges a folder opened read-write:
    callers say why it was opened read-only (EXAMINE).  Refused where
    nothing is selected, which changes nothing."""
    return b"UNSELECT" if offered else b"CLOSE"


def search_message_id(message_id: str) -> bytes:
    """The messages whose Message-ID contains ``message_id`` (printable
    ASCII, as brz makes and checks them)."""
    return b"UID SEARCH HEADER Message-ID " + quoted(message_id.encode("ascii"))


def uid_set(uids: Sequence[int]) -> bytes:
    return ",".join(map(str, uids)).encode("ascii")


def uid_fetch(uids: Sequence[int], items: bytes) -> bytes:
    return b"UID FETCH %s %s" % (uid_set(uids), items)


def uid_move(uids: Sequence[int], folder: str) -> bytes:
    return b"UID MOVE %s %s" % (uid_set(uids), folder_name(folder))


def flag_deleted(uids: Sequence[int]) -> bytes:
    return b"UID STORE %s +FLAGS.SILENT (\\Deleted)" % uid_set(uids)


def uid_expunge(uids: Sequence[int]) -> bytes:
    return b"UID EXPUNGE " + uid_set(uids)


def append(folder: str, flags: Sequence[bytes], size: int, synchronising: bool) -> bytes:
    """``APPEND <folder> <flags> {size}`` (``{size+}`` where the literal
    need not wait for the server's ``+``)."""
    return b"APPEND %s (%s) {%d%s}" % (folder_name(folder), b" ".join(flags), size,
                                       b"" if synchronising else b"+")
