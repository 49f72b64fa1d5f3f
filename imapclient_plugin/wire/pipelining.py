"""IMAP commands in fewer round trips than imaplib sends them, driving
imaplib's own tag and response machinery (``_new_tag``,
``_command_complete``), so replies, BYE and errors are handled as usual.

imaplib waits for the server's ``+`` before every literal and before the
SASL response, and for the reply to LOGOUT.  Where the server allows it,
these do without:

- AUTHENTICATE PLAIN with its initial response (SASL-IR, RFC 4959);
- APPEND with a non-synchronising literal (LITERAL+ / LITERAL-, RFC 7888);
- commands pipelined where none can be misread if one before it fails,
  their replies read when wanted (``Pending``); never behind a login
  before its reply (Cyrus IMAP drops what arrives while it authenticates);
- LOGOUT without waiting for the BYE (the draft is stored by then).
"""

from __future__ import annotations

import base64
from typing import Optional, Sequence

import imapclient
from imapclient import exceptions as imap_exceptions
from imapclient import response_parser

from ..draft_data import DraftData
from . import commands
from .commands import LOGOUT
from .faults import reply_text
from .protocol import unsynchronised_allowed

CRLF = b"\r\n"


class Pending:
    """Commands sent; their replies, (OK/NO/BAD, data) each, read when
    first asked for (a failed SELECT does not select)."""

    def __init__(self, imap, tags: list[bytes]) -> None:
        self._imap, self._tags = imap, tags
        self._replies: Optional[list[tuple[str, list]]] = None

    def replies(self) -> list[tuple[str, list]]:
        if self._replies is None:
            self._replies = _replies(self._imap, self._tags)
        return self._replies

    def literal(self, data: DraftData,
                then: Sequence[bytes] = ()) -> tuple[str, list, "Pending"]:
        """For the one command sent, ending in a synchronising literal: wait
        for the server's ``+``, send ``data`` (and the commands ``then``);
        the command's reply, and theirs pending.  Refused before the ``+``
        (a missing folder), nothing is sent."""
        imap, (tag,) = self._imap, self._tags
        behind = Pending(imap, [])
        while imap.tagged_commands[tag] is None:
            if imap._get_response() is None:  # "+": go ahead
                imap.send_draft(data)
                imap.send(CRLF)
                behind = send_pipelined_on(imap, then)
                break
        return _replies(imap, [tag])[0] + (behind,)


def plain_login_one_turn(client: imapclient.IMAPClient, username: str,
                         password: str) -> None:
    """AUTHENTICATE PLAIN <initial response>: one command, one reply."""
    plain_login_reply(client, send_plain_login(client, username, password))


def send_plain_login(client: imapclient.IMAPClient, username: str,
                     password: str) -> bytes:
    """Send AUTHENTICATE PLAIN with its initial response; its tag.  Nothing
    goes behind it before its reply: a server that may install a SASL
    security layer drops what arrives while it authenticates (Cyrus IMAP
    answers nothing to it, then BAD to the next login it reads into it)."""
    imap = client._imap
    response = base64.b64encode(("\0%s\0%s" % (username, password)).encode("utf-8"))
    tag = imap._new_tag()
    imap.send(tag + b" AUTHENTICATE PLAIN " + response + CRLF)
    return tag


def plain_login_reply(client: imapclient.IMAPClient, tag: bytes) -> None:
    """The reply to ``send_plain_login``: LoginError if refused."""
    imap = client._imap
    try:
        kind, data = imap._command_complete("AUTHENTICATE", tag)
    except imap.error as e:  # BAD
        raise imap_exceptions.LoginError(str(e))
    if kind != "OK":
        raise imap_exceptions.LoginError(reply_text(data))
    imap.state = "AUTH"


def pipelined(client: imapclient.IMAPClient,
              lines: Sequence[bytes]) -> list[tuple[str, list]]:
    """Send the command ``lines`` at once and read their replies in order:
    one turn.  Callers say why none can be misread if one before it fails."""
    return send_pipelined(client, lines).replies()


def send_pipelined(client: imapclient.IMAPClient, lines: Sequence[bytes]) -> Pending:
    """Send the command ``lines`` at once; a ``LOGOUT`` among them ends the
    session (nothing is sent after it, and its BYE is not waited for)."""
    return send_pipelined_on(client._imap, lines)


def send_pipelined_on(imap, lines: Sequence[bytes]) -> Pending:
    tags = []
    for command in lines:
        tag = imap._new_tag()
        imap.send(tag + b" " + command + CRLF)
        if command == LOGOUT:
            imap.logout_sent = True
            break
        tags.append(tag)
    return Pending(imap, tags)


def _replies(imap, tags: list[bytes]) -> list[tuple[str, list]]:
    """(OK/NO/BAD, data) for each tag."""
    replies = []
    for tag in tags:
        try:
            replies.append(imap._command_complete("pipelined", tag))
        except imap.abort:  # a lost connection is not a reply
            raise
        except imap.error as e:  # BAD
            replies.append(("BAD", [str(e).encode()]))
    return replies


def unselected(client: imapclient.IMAPClient) -> None:
    """After a pipelined ``commands.unselect``: no folder is selected."""
    client._imap.state = "AUTH"


def leave_folder(client: imapclient.IMAPClient, folder: str) -> None:
    """Leave ``folder``, if it is selected, expunging nothing, in a turn of
    its own: UNSELECT where offered; else CLOSE, after EXAMINE where it was
    opened read-write (selecting it again read-only closes it without
    expunging, and CLOSE removes nothing from a folder opened so)."""
    imap = client._imap
    if imap.state != "SELECTED":
        return
    leave = commands.unselect(client.has_capability("UNSELECT"))
    if leave == b"CLOSE" and not imap.is_readonly:
        pipelined(client, [commands.select(folder, readonly=True), leave])
    else:
        pipelined(client, [leave])
    # The EXAMINE's, of no use (imaplib would take its READ-ONLY for a
    # change of state under the next command).
    imap.untagged_responses.clear()
    unselected(client)


def searched(client: imapclient.IMAPClient) -> list[bytes]:
    """The untagged SEARCH lines that pipelined SEARCHes left, in order."""
    return client._imap.untagged_responses.pop("SEARCH", [])


def selected(client: imapclient.IMAPClient, reply: tuple[str, list]) -> Optional[int]:
    """After a pipelined SELECT: its UIDVALIDITY if it succeeded (and the
    connection is then in the selected state), else None."""
    imap = client._imap
    validity = imap.untagged_responses.pop("UIDVALIDITY", [None])[-1]
    # EXAMINE's: imaplib takes it, unasked for, for a change of state.
    imap.is_readonly = bool(imap.untagged_responses.pop("READ-ONLY", None))
    if reply[0] != "OK":
        return None
    imap.state = "SELECTED"
    return int(validity) if validity is not None else None


def copied(client: imapclient.IMAPClient, reply: tuple[str, list]) -> bool:
    """After a pipelined COPY or MOVE: whether the server said where the
    messages went (COPYUID, RFC 4315), untagged or in its tagged OK."""
    untagged = client._imap.untagged_responses.pop("COPYUID", None)
    return bool(untagged) or any(
        isinstance(line, bytes) and b"[COPYUID " in line.upper() for line in reply[1])


def fetched(client: imapclient.IMAPClient) -> dict:
    """The FETCH data a pipelined FETCH left, by UID."""
    raw = client._imap.untagged_responses.pop("FETCH", [])
    return response_parser.parse_fetch_response(raw, True, True) if raw else {}


def listed(client: imapclient.IMAPClient, reply: tuple[str, list]) -> Optional[list]:
    """The folders a pipelined ``LIST "" "*"`` listed (as imapclient's
    ``list_folders`` gives them), or None if the server refused it."""
    _kind, data = client._imap._untagged_response(reply[0], reply[1], "LIST")
    if reply[0] != "OK":
        return None
    return client._proc_folder_list(data)


def abort(client: imapclient.IMAPClient) -> None:
    """Reset the link: what the kernel still holds never arrives."""
    client._imap.abort_connection()


def append(
    client: imapclient.IMAPClient, folder: str, data: DraftData, flags: tuple,
    then: Sequence[bytes] = (),
) -> tuple[tuple[str, list], Pending]:
    """APPEND, without waiting for ``+`` where the server allows it; the
    draft sent from the one copy given, in slices (imaplib's own APPEND
    copies it to normalise line ends it already has).  The commands
    ``then`` go right behind the draft, in its turn: the APPEND's reply
    (OK/NO/BAD, data) and theirs, pending.  (A refused APPEND leaves theirs
    unread: callers send only what changes nothing.)"""
    imap = client._imap
    if not unsynchronised_allowed(client, len(data)):
        line = commands.append(folder, flags, len(data), synchronising=True)
        kind, response, behind = send_pipelined(client, [line]).literal(data, then)
    else:
        tag = imap._new_tag()
        line = commands.append(folder, flags, len(data), synchronising=False)
        imap.send(b"%s %s%s" % (tag, line, CRLF))
        imap.send_draft(data)
        imap.send(CRLF)
        behind = send_pipelined(client, then)
        kind, response = imap._command_complete("APPEND", tag)
    return (kind, response), behind


def logout_without_waiting(client: imapclient.IMAPClient) -> None:
    """Say LOGOUT and close: the server's BYE tells us nothing we need."""
    imap = client._imap
    try:
        if not getattr(imap, "logout_sent", False):
            imap.send(imap._new_tag() + b" " + LOGOUT + CRLF)
    finally:
        imap.shutdown()
