"""Finds the Drafts folder and appends the draft to it.

Discovery order: the folder flagged \\Drafts (RFC 6154); a folder with a
common drafts name, also under the personal namespace; else ``Drafts`` is
created.  imapclient encodes folder names in modified UTF-7 on the wire.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.parser
import email.policy
import re
import urllib.parse
from typing import Iterator, NamedTuple, Optional, Sequence

import imapclient
from imapclient.imapclient import DRAFT, DRAFTS, SEEN

from . import errors, fast_commands
from .draft_data import DraftData, SplicedDraft, whole
from .session import server_text

COMMON_DRAFTS_NAMES = (
    "Drafts",
    "INBOX.Drafts",
    "INBOX/Drafts",
    "[Gmail]/Drafts",
    "[Google Mail]/Drafts",
    "Draft",
)
DRAFT_FLAGS = (DRAFT, SEEN)
APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


CONFIGURED = "set by imap_mailbox"
REMEMBERED = "remembered from an earlier send"
FLAGGED = "flagged \\Drafts by the server"
NAMED = "found by its name"
CREATED = "created, as the server had no drafts folder"


@dataclasses.dataclass(frozen=True)
class DraftsFolder:
    name: str
    how_found: str

    @property
    def was_discovered(self) -> bool:
        return self.how_found in (FLAGGED, NAMED, CREATED)


def find_drafts_folder(
    client: imapclient.IMAPClient,
    configured: Optional[str],
    remembered: Optional[str] = None,
    listing: Optional[list] = None,
) -> DraftsFolder:
    """The configured or remembered folder, else discover (in ``listing``,
    if given) or create one."""
    if remembered and not configured:
        return DraftsFolder(remembered, REMEMBERED)
    found, to_create = planned_drafts_folder(client, configured, listing)
    if found is not None:
        return found
    client.create_folder(to_create)
    return DraftsFolder(to_create, CREATED)


def planned_drafts_folder(
    client: imapclient.IMAPClient, configured: Optional[str],
    listing: Optional[list] = None,
) -> tuple[Optional[DraftsFolder], str]:
    """Where drafts go, without creating anything: the configured folder,
    else the one discovered in ``listing`` (LIST if not given); and the name
    to create when there is none."""
    if configured:
        return DraftsFolder(configured, CONFIGURED), configured
    return discover_drafts_folder(
        client, client.list_folders() if listing is None else listing)


# Every folder, asked right after the login where the Drafts folder is not
# known yet: it changes nothing.
LIST_ALL = b'LIST "" "*"'


def listed(client: imapclient.IMAPClient, reply: tuple[str, list]) -> Optional[list]:
    """The folders a LIST_ALL sent with the login listed (as imapclient's
    ``list_folders`` gives them), or None if the server refused it."""
    _kind, data = client._imap._untagged_response(reply[0], reply[1], "LIST")
    if reply[0] != "OK":
        return None
    return client._proc_folder_list(data)


def discover_drafts_folder(
    client: imapclient.IMAPClient, listing: list
) -> tuple[Optional[DraftsFolder], str]:
    """The folder in ``listing`` flagged \\Drafts or with a drafts name, if
    any, and the name to create when there is none."""
    for flags, _delimiter, name in listing:
        if any(flag.lower() == DRAFTS.lower() for flag in flags):
            return DraftsFolder(name, FLAGGED), name
    existing = {name.lower(): name for _flags, _delimiter, name in listing}
    personal = _personal_prefix(client) + "Drafts"
    for candidate in (personal,) + COMMON_DRAFTS_NAMES:
        if candidate.lower() in existing:
            return DraftsFolder(existing[candidate.lower()], NAMED), personal
    return None, personal


def check_append_limit(
    client: imapclient.IMAPClient, size: int, host: str
) -> None:
    """Refuse before uploading what the server announced it would refuse.

    RFC 7889: ``APPENDLIMIT=n`` in the capabilities applies to every folder
    (imapclient's ``has_capability`` does not match the ``=n`` form).
    """
    for capability in client.capabilities():
        name, _, value = capability.upper().partition(b"=")
        if name == b"APPENDLIMIT" and value.isdigit() and size > int(value):
            raise errors.DraftTooBig(host=host, size=size, limit=int(value),
                                     why="APPENDLIMIT")
    if size > GMAIL_SEND_LIMIT and client.has_capability(GMAIL_EXTENSION):
        raise errors.DraftTooBig(host=host, size=size, limit=GMAIL_SEND_LIMIT,
                                 why="GMail sends no bigger message")


# GMail stores bigger drafts (APPENDLIMIT=35651584) but sends at most 25 MB.
GMAIL_SEND_LIMIT = 25 * 1000 * 1000


class Appended(NamedTuple):
    """Where the server says it stored the draft (RFC 4315 APPENDUID)."""

    uidvalidity: Optional[int]
    uid: Optional[int]


def append_draft(
    client: imapclient.IMAPClient, folder: str, data: DraftData, host: str,
    then: Sequence[bytes] = (),
) -> tuple[Appended, fast_commands.Pending]:
    """APPEND with \\Draft and \\Seen; where it went, when the server says,
    and the replies of ``then`` (sent behind it: ``fast_commands.append``)."""
    with _refusals(folder, host):
        response, behind = fast_commands.append(client, folder, data, DRAFT_FLAGS, then)
    return appended_from(response), behind


def appended_from(response: Optional[bytes]) -> Appended:
    """Where the APPEND's OK says the draft went (nothing, without UIDPLUS)."""
    match = APPENDUID.search(response or b"")
    if match is None:
        return Appended(None, None)
    return Appended(int(match.group(1)), int(match.group(2)))


def check_appended(reply: tuple[str, list], folder: str, host: str) -> Appended:
    """The outcome of an APPEND sent pipelined: where it went, or the error
    that says why not (as ``append_draft`` raises it)."""
    kind, data = reply
    text = data[-1] if data else b""
    with _refusals(folder, host):
        if kind != "OK":
            raise imapclient.exceptions.IMAPClientError("append failed: %s" % (
                text.decode("utf-8", "replace") if isinstance(text, bytes) else text))
    return appended_from(text if isinstance(text, bytes) else None)


MULTI_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([\d:,]+)\]", re.IGNORECASE)


def append_many(client: imapclient.IMAPClient, folder: str, messages: list[DraftData],
                host: str) -> list[Optional[int]]:
    """APPEND each message; with MULTIAPPEND (RFC 3502) in one command, all
    or none (imapclient's, which holds the whole command: where a draft is
    too big to hold whole, one APPEND each).  Returns their UIDs where the
    server says them."""
    if (len(messages) < 2 or not client.has_capability("MULTIAPPEND")
            or any(isinstance(data, SplicedDraft) for data in messages)):
        return [append_draft(client, folder, data, host)[0].uid for data in messages]
    with _refusals(folder, host):
        kind, data = client.multiappend(folder, [
            {"msg": whole(message), "flags": DRAFT_FLAGS} for message in messages])
        if kind != "OK":
            raise imapclient.exceptions.IMAPClientError(
                "append failed: %s" % (data[-1].decode("utf-8", "replace")
                                       if data else kind))
    match = MULTI_APPENDUID.search(data[-1] if data else b"")
    uids = _uid_set(match.group(2)) if match else []
    return uids if len(uids) == len(messages) else [None] * len(messages)


def _uid_set(text: bytes) -> list[int]:
    uids = []
    for part in text.split(b","):
        first, _, last = part.partition(b":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


@contextlib.contextmanager
def _refusals(folder: str, host: str) -> Iterator[None]:
    """A refused APPEND as the error that says what to change."""
    try:
        yield
    except imapclient.exceptions.IMAPClientAbortError:
        raise
    except imapclient.exceptions.IMAPClientError as e:
        text = server_text(e)
        if "[TRYCREATE]" in text.upper() or "[NONEXISTENT]" in text.upper():
            raise errors.MailboxRefused(host=host, mailbox=folder, reason=text)
        raise errors.ServerRefused(
            host=host, action='storing the draft in "%s"' % folder, reason=text)


def find_by_message_id(
    client: imapclient.IMAPClient, folder: str, message_id: str
) -> list[int]:
    """UIDs of the messages in ``folder`` whose Message-ID is exactly
    ``message_id``, lowest first.

    SEARCH HEADER matches substrings, so each hit's Message-ID is fetched
    and compared.  The folder is SELECTed, not EXAMINEd: Courier refuses an
    APPEND to the mailbox a session has open read-only, and one may follow.
    """
    if select(client, folder) is None:
        return []
    return with_message_id(client, client.search(["HEADER", "Message-ID", message_id]),
                           message_id)


def search_commands(folder: str, message_ids: list[str]) -> list[bytes]:
    """SELECT ``folder`` and a SEARCH for each Message-ID, to send right
    after the login (``find_each``'s ``replies``): a refused SELECT (no
    such folder) has the SEARCHes refused, which reads as nothing found;
    nothing is changed by them."""
    return [fast_commands.select_command(folder)] + [
        _search_command(message_id) for message_id in message_ids]


def _search_command(message_id: str) -> bytes:
    return b"UID SEARCH HEADER Message-ID " + _quoted(message_id)


def find_each(client: imapclient.IMAPClient, folder: str, message_ids: list[str],
              replies: Optional[list] = None) -> dict[str, list[int]]:
    """For each Message-ID, the UIDs in ``folder`` with exactly it: one
    SELECT, all the SEARCHes in one turn (each answers with one untagged
    SEARCH, in order; should any fail, they are asked one at a time), one
    FETCH to confirm the hits.  ``replies``: to ``search_commands``, where
    they went with the login."""
    if not message_ids:
        return {}
    if replies is not None:
        if fast_commands.selected(client, replies[0]) is None:
            return {}
        replies = replies[1:]
    elif select(client, folder) is None:
        return {}
    else:
        replies = fast_commands.pipelined(client, [
            _search_command(message_id) for message_id in message_ids])
    found = fast_commands.searched(client)
    if len(found) != len(message_ids) or any(kind != "OK" for kind, _ in replies):
        found = [" ".join(map(str, client.search(["HEADER", "Message-ID", m]))).encode()
                 for m in message_ids]
    hits = {m: [int(uid) for uid in (line or b"").split()]
            for m, line in zip(message_ids, found)}
    all_uids = sorted({uid for uids in hits.values() for uid in uids})
    fetched = client.fetch(all_uids, [MESSAGE_ID_FIELD]) if all_uids else {}
    return {m: sorted(uid for uid in uids if has_message_id(fetched.get(uid, {}), m))
            for m, uids in hits.items()}


def _quoted(message_id: str) -> bytes:
    """An IMAP quoted string (Message-IDs here are printable ASCII)."""
    return b'"%s"' % message_id.encode("ascii").replace(
        b"\\", b"\\\\").replace(b'"', b'\\"')


def select(client: imapclient.IMAPClient, folder: str,
           readonly: bool = False) -> Optional[dict]:
    """SELECT (or EXAMINE) ``folder``: its status, or None if the server
    refuses (no such folder): cheaper than asking first with LIST."""
    return refused_as_none(lambda: client.select_folder(folder, readonly=readonly))


def refused_as_none(command):
    """``command()``, or None where the server refuses it (NO or BAD); a
    lost connection is raised."""
    try:
        return command()
    except imapclient.exceptions.IMAPClientAbortError:
        raise
    except imapclient.exceptions.IMAPClientError:
        return None


def with_message_id(client: imapclient.IMAPClient, uids: list,
                    message_id: str) -> list[int]:
    """Those of ``uids`` (in the selected folder) whose Message-ID is exactly
    ``message_id``, lowest first."""
    if not uids:
        return []
    fetched = client.fetch(uids, [MESSAGE_ID_FIELD])
    return sorted(uid for uid, data in fetched.items()
                  if has_message_id(data, message_id))


def has_message_id(fetched: dict, message_id: str) -> bool:
    """Whether a FETCH of header fields (MESSAGE_ID_FIELD, or others with
    MESSAGE-ID among them) shows exactly ``message_id``."""
    found, = header_values(fetch_item(fetched, HEADER_FIELDS_REPLY), ["Message-ID"])
    return found == message_id.strip()


def fetch_item(fetched: dict, name: bytes) -> bytes:
    """The FETCH item whose name starts with ``name``, however the server
    spells the rest: in any case, its field names quoted or not (Courier
    answers BODY[HEADER.FIELDS ("MESSAGE-ID")]); b"" if there is none."""
    for key, value in fetched.items():
        if (isinstance(key, bytes) and isinstance(value, bytes)
                and key.upper().replace(b'"', b"").startswith(name)):
            return value
    return b""


MESSAGE_ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
HEADER_FIELDS_REPLY = b"BODY[HEADER.FIELDS "


def header_values(header_block: bytes, names: Sequence[str]) -> list[str]:
    """The value of each header field ``names`` in ``header_block`` (as a
    FETCH of HEADER.FIELDS gives it), unfolded, "" where missing."""
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
        header_block or b"")
    return [" ".join(str(parsed[name] or "").split()) for name in names]


def remove_copies(client: imapclient.IMAPClient, uids: list[int]) -> list[int]:
    """Remove all but the first of ``uids``, copies of one draft in the
    selected folder, with UID EXPUNGE (which touches no other message);
    without UIDPLUS nothing is removed.  Returns the UIDs removed."""
    extra = uids[1:]
    if not extra or not client.has_capability("UIDPLUS"):
        return []
    client.delete_messages(extra, silent=True)
    client.uid_expunge(extra)
    return extra


GMAIL_EXTENSION = "X-GM-EXT-1"
# A search for the draft's Message-ID: "rfc822msgid:" is in GMail's own list
# of search operators ("Search operators you can use with Gmail", Gmail
# Help), so the link needs nothing from the server.  (The "#all/<hex
# X-GM-MSGID>" form is undocumented, and cost a SELECT and a FETCH.)
GMAIL_LINK = "https://mail.google.com/mail/?authuser=%s#search/rfc822msgid%%3A%s"


def gmail_link(client: imapclient.IMAPClient, message_id: str,
               username: str) -> Optional[str]:
    """The GMail web address of the draft, on a server that is GMail; the
    capabilities are known already, so this costs no round trip."""
    if GMAIL_EXTENSION.encode() not in fast_commands.known_capabilities(client):
        return None
    return GMAIL_LINK % (urllib.parse.quote(username, safe="@"),
                         urllib.parse.quote(message_id.strip().strip("<>"), safe="@"))


def _personal_prefix(client: imapclient.IMAPClient) -> str:
    if not client.has_capability("NAMESPACE"):
        return ""
    personal = client.namespace().personal
    return personal[0][0] if personal else ""
