"""A logged-in connection, as code above the door uses it: folders, exact
Message-ID searches, appends, removals.  Every method speaks through
``protocol`` and reports faults as the plugin's errors (``faults``), with
the command and folder a refusal was about.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, NamedTuple, Optional, Sequence

import imapclient
from imapclient.imapclient import DRAFT, SEEN

from breezy import trace

from .. import errors
from ..draft_data import DraftData, SplicedDraft, whole
from ..settings import IMAPSettings
from . import commands, faults, pipelining, protocol, replies, transport
from .replies import Appended
from .faults import doing

DRAFT_FLAGS = (DRAFT, SEEN)
MESSAGE_ID_FIELD = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
MESSAGE_ID_ITEMS = ("(%s)" % MESSAGE_ID_FIELD).encode("ascii")
GMAIL_EXTENSION = b"X-GM-EXT-1"
# GMail stores bigger drafts (APPENDLIMIT=35651584) but sends at most 25 MB.
GMAIL_SEND_LIMIT = 25 * 1000 * 1000


class FolderLook(NamedTuple):
    """What ``Connection.look`` found: the folder's UIDVALIDITY (None where
    it could not be opened), the FETCH data by UID, and the folders listed
    (where asked)."""

    uidvalidity: Optional[int]
    fetched: dict
    listing: Optional[list]


class Connection:
    """A logged-in connection and the settings it was made with."""

    def __init__(self, client: imapclient.IMAPClient, settings: IMAPSettings,
                 password, method: str) -> None:
        self._client, self.settings = client, settings
        self.password, self.method = password, method

    @contextlib.contextmanager
    def _doing(self, action: str) -> Iterator[None]:
        with faults.translated(self.settings, action=action,
                               imap=protocol.link(self._client)):
            yield

    # What the server offers

    def capabilities(self) -> tuple:
        """As the server last announced them: no round trip."""
        return protocol.known_capabilities(self._client)

    def has(self, capability: str) -> bool:
        return capability.upper().encode("ascii") in self.capabilities()

    @property
    def is_gmail(self) -> bool:
        return GMAIL_EXTENSION in self.capabilities()

    def transport(self) -> transport.LinkFacts:
        return transport.link_facts(protocol.link(self._client))

    def check_append_limit(self, size: int) -> None:
        """Refuse before uploading what the server announced it would
        refuse: ``APPENDLIMIT=n`` (RFC 7889), GMail's sending limit."""
        for capability in self.capabilities():
            name, _, value = capability.upper().partition(b"=")
            if name == b"APPENDLIMIT" and value.isdigit() and size > int(value):
                raise errors.DraftTooBig(host=self.settings.host, size=size,
                                         limit=int(value), why="APPENDLIMIT")
        if size > GMAIL_SEND_LIMIT and self.is_gmail:
            raise errors.DraftTooBig(host=self.settings.host, size=size,
                                     limit=GMAIL_SEND_LIMIT,
                                     why="GMail sends no bigger message")

    # Folders

    def list_folders(self) -> list:
        """(flags, delimiter, name) of every folder."""
        with self._doing("LIST"):
            return self._client.list_folders()

    def create_folder(self, folder: str) -> None:
        with self._doing(doing("CREATE", folder)):
            self._client.create_folder(folder)

    def personal_prefix(self) -> str:
        """Where the user's own folders are (RFC 2342), "" if not said."""
        if not self.has("NAMESPACE"):
            return ""
        with self._doing("NAMESPACE"):
            personal = self._client.namespace().personal
        return personal[0][0] if personal else ""

    def select(self, folder: str, readonly: bool = False) -> Optional[int]:
        """SELECT (or EXAMINE) ``folder``: its UIDVALIDITY, or None if the
        server refuses (no such folder): cheaper than asking with LIST."""
        with self._doing(doing("EXAMINE" if readonly else "SELECT", folder)):
            try:
                status = self._client.select_folder(folder, readonly=readonly)
            except imapclient.exceptions.IMAPClientAbortError:
                raise
            except imapclient.exceptions.IMAPClientError:
                return None
        return status.get(b"UIDVALIDITY")

    def leave(self, folder: str) -> None:
        """Leave ``folder`` if selected, expunging nothing: GNU Mailutils
        keeps only the first of several APPENDs into the selected folder."""
        with self._doing(doing("UNSELECT", folder)):
            pipelining.leave_folder(self._client, folder)

    # Messages in the selected folder

    def search(self, criteria: list, charset: Optional[str] = None,
               folder: str = "") -> list[int]:
        with self._doing(doing("UID SEARCH", folder or None)):
            return self._client.search(criteria, charset=charset)

    def gmail_search(self, query: str, folder: str = "") -> list[int]:
        """GMail's own search (X-GM-RAW)."""
        with self._doing(doing("UID SEARCH X-GM-RAW", folder or None)):
            return self._client.gmail_search(query, charset=None)

    def fetch(self, uids: Sequence[int], items: Sequence[str], folder: str = "") -> dict:
        with self._doing(doing("UID FETCH", folder or None)):
            return self._client.fetch(uids, items) if uids else {}

    def with_message_id(self, uids: Sequence[int], message_id: str,
                        folder: str = "") -> list[int]:
        """Those of ``uids`` whose Message-ID is exactly ``message_id``
        (SEARCH HEADER matches substrings), lowest first."""
        fetched = self.fetch(uids, [MESSAGE_ID_FIELD], folder)
        return sorted(uid for uid, data in fetched.items()
                      if replies.has_message_id(data, message_id))

    def find_each(self, folder: str, message_ids: Sequence[str]) -> dict[str, list[int]]:
        """For each Message-ID, the UIDs in ``folder`` with exactly it, in
        one turn: EXAMINE, the SEARCHes (each answers with one untagged
        SEARCH, in order; should any fail, they are asked one at a time),
        and leave the folder (UNSELECT, or CLOSE, which removes nothing
        from a folder EXAMINEd): an APPEND may follow, which GNU Mailutils
        loses in the selected folder and Courier refuses in one EXAMINEd.
        The hits' Message-IDs are then fetched to confirm them (SEARCH
        HEADER matches substrings)."""
        if not message_ids:
            return {}
        searches = [commands.search_message_id(m) for m in message_ids]
        with self._doing(doing("UID SEARCH", folder)):
            # A refused EXAMINE (no such folder) has the SEARCHes refused
            # too, which finds nothing; nothing is changed by them.
            select, *answers, _left = pipelining.pipelined(
                self._client, [commands.select(folder, readonly=True)] + searches
                + [commands.unselect(self.has("UNSELECT"))])
            opened = pipelining.selected(self._client, select) is not None
            pipelining.unselected(self._client)
            found = pipelining.searched(self._client)
        if not opened:
            return {}
        if len(found) != len(message_ids) or any(kind != "OK" for kind, _ in answers):
            found = self._searched_one_by_one(folder, message_ids)
        hits = {m: [int(uid) for uid in (line or b"").split()]
                for m, line in zip(message_ids, found)}
        all_uids = sorted({uid for uids in hits.values() for uid in uids})
        fetched = self.look(folder, all_uids, MESSAGE_ID_ITEMS, readonly=True).fetched \
            if all_uids else {}
        return {m: sorted(uid for uid in uids if replies.has_message_id(fetched.get(uid, {}), m))
                for m, uids in hits.items()}

    def _searched_one_by_one(self, folder: str, message_ids: Sequence[str]) -> list[bytes]:
        self.select(folder, readonly=True)
        found = [" ".join(map(str, self.search(["HEADER", "Message-ID", m], folder=folder)))
                 .encode() for m in message_ids]
        self.leave(folder)
        return found

    # Storing

    def append(self, folder: str, data: DraftData, then: Sequence[bytes] = (),
               logout: bool = False) -> tuple[Appended, pipelining.Pending]:
        """APPEND with \\Draft and \\Seen; where it went (when the server
        says), and the replies of ``then``, sent right behind it (commands
        that change no mail).  With ``logout``, LOGOUT goes behind too: the
        connection's last use.  If its outcome is unknown (a connection lost
        or silent meanwhile), this connection is cut so that it can no
        longer complete it, or AppendUnconfirmed says that it may still."""
        behind = list(then) + [commands.LOGOUT] * logout
        with self._doing(doing("APPEND", folder)):
            reply, pending = self._guarded(folder, lambda: pipelining.append(
                self._client, folder, data, DRAFT_FLAGS, behind))
        kind, response = reply
        if kind != "OK":
            raise faults.append_refused(self.settings, folder, faults.reply_text(response))
        return replies.appended(response[-1] if response else b""), pending

    def append_behind_search(self, folder: str, message_id: str,
                             data: DraftData) -> Optional[tuple[list[int], Appended]]:
        """One message, stored unless its Message-ID is in ``folder``, in
        one turn: EXAMINE, the search, UNSELECT and the APPEND go together
        (the APPEND once the folder is left, the search run first: RFC 9051
        5.5).  Found there already, the copy just stored is removed by the
        UID its APPEND was answered with (``remove_copies``): brz's own,
        touching nothing else.  So only where that removal is sure: UIDPLUS,
        the draft sent without waiting (a non-synchronising literal), and
        not GMail (an expunged draft lives on in All Mail).  The UIDs that
        held the message before, and where it was just stored; None where
        this cannot be done (the caller searches first)."""
        if (not self.has("UIDPLUS") or self.is_gmail or not self.has("UNSELECT")
                or not protocol.unsynchronised_allowed(self._client, len(data))):
            return None
        with self._doing(doing("UID SEARCH", folder)):
            search = pipelining.send_pipelined(self._client, [
                commands.select(folder, readonly=True),
                commands.search_message_id(message_id), commands.unselect(True)])
            appended, _ = self.append(folder, data)
            select, searched, _left = search.replies()
            opened = pipelining.selected(self._client, select) is not None
            pipelining.unselected(self._client)
            (found,) = pipelining.searched(self._client) or [b""]
        hits = [int(uid) for uid in found.split()] if opened else []
        if searched[0] != "OK" or [uid for uid in hits if uid != appended.uid]:
            hits = self.find_each(folder, [message_id])[message_id]  # exactly it?
        return [uid for uid in hits if uid != appended.uid], appended

    def append_many(self, folder: str, messages: Sequence[DraftData]) -> list[Appended]:
        """APPEND each; with MULTIAPPEND (RFC 3502) in one command, all or
        none (imapclient's, which holds the whole command: drafts too big
        to hold whole go one APPEND each).  Where each went, where said."""
        if (len(messages) < 2 or not self.has("MULTIAPPEND")
                or any(isinstance(data, SplicedDraft) for data in messages)):
            return [self.append(folder, data)[0] for data in messages]
        with self._doing(doing("APPEND", folder)):
            kind, data = self._guarded(folder, lambda: self._client.multiappend(
                folder, [{"msg": whole(m), "flags": DRAFT_FLAGS} for m in messages]))
        if kind != "OK":
            raise faults.append_refused(self.settings, folder, faults.reply_text(data))
        match = replies.APPENDUID.search(data[-1] if data else b"")
        uids = replies.uid_set(match.group(2)) if match else []
        if len(uids) != len(messages):
            return [Appended(None, None)] * len(messages)
        return [Appended(int(match.group(1)), uid) for uid in uids]

    def _guarded(self, folder: str, append):
        try:
            return append()
        except transport.ReplyTimeout as e:
            if e.delivered:  # the server has it all and may still store it
                raise errors.AppendUnconfirmed(host=self.settings.host, folder=folder,
                                               timeout=self.settings.timeout)
            pipelining.abort(self._client)
            raise
        except (OSError, imapclient.exceptions.IMAPClientAbortError):
            pipelining.abort(self._client)
            raise

    # Removing (see own_drafts for what proves a message is brz's)

    def remove_copies(self, folder: str, uids: list[int]) -> list[int]:
        """Remove all but the first of ``uids``, copies of one draft in the
        selected folder, with UID EXPUNGE (which touches no other message);
        without UIDPLUS nothing is removed.  The UIDs removed."""
        extra = uids[1:]
        if not extra or not self.has("UIDPLUS") or self.select(folder) is None:
            return []
        with self._doing(doing("UID EXPUNGE", folder)):
            self._client.delete_messages(extra, silent=True)
            self._client.uid_expunge(extra)
        self.leave(folder)
        return extra

    def remove(self, folder: str, uids: list[int], trash: Optional[str],
               logout: bool) -> str:
        """Move ``uids`` (in the selected ``folder``) to ``trash``, else
        expunge them (UIDPLUS), else flag them \\Deleted: MOVED, EXPUNGED
        or FLAGGED; NOT_SHOWN where the server said OK to a MOVE without
        the COPYUID that UIDPLUS promises, so that nothing shows it moved
        them.  With ``logout``, LOGOUT goes with it."""
        if trash is not None:
            lines, done, named = [commands.uid_move(uids, trash)], MOVED, "UID MOVE"
        elif self.has("UIDPLUS"):
            lines = [commands.flag_deleted(uids), commands.uid_expunge(uids)]
            done, named = EXPUNGED, "UID STORE and UID EXPUNGE"
        else:
            lines, done, named = [commands.flag_deleted(uids)], FLAGGED, "UID STORE"
        answers = self.pipelined(lines + [commands.LOGOUT] * logout)
        self.check_all(answers, doing(named, folder))
        if done == MOVED and self.has("UIDPLUS") and not pipelining.copied(
                self._client, answers[0]):
            return NOT_SHOWN
        return done

    # Several commands in one turn, for what needs no answer in between

    def look_commands(self, folder: str, uids: Sequence[int], items: bytes,
                      readonly: bool, listing: bool) -> list[bytes]:
        """SELECT (or EXAMINE) ``folder``, FETCH ``items`` of ``uids``;
        read-only, leave the folder too (UNSELECT, or CLOSE, which removes
        nothing from a folder EXAMINEd); with ``listing``, LIST all."""
        lines = [commands.select(folder, readonly)]
        if uids:
            lines.append(commands.uid_fetch(uids, items))
        if readonly:
            lines.append(commands.unselect(self.has("UNSELECT")))
        return lines + [commands.LIST_ALL] * listing

    def looked(self, replies: list, readonly: bool, listing: bool,
               folder: str) -> FolderLook:
        """What ``look_commands`` found, from their replies."""
        with self._doing(doing("SELECT", folder)):
            found = pipelining.listed(self._client, replies[-1]) if listing else None
            uidvalidity = pipelining.selected(self._client, replies[0])
            fetched = pipelining.fetched(self._client)
            if readonly:
                pipelining.unselected(self._client)
        if replies[0][0] != "OK":
            uidvalidity, fetched = None, {}
        return FolderLook(uidvalidity, fetched, found)

    def look(self, folder: str, uids: Sequence[int], items: bytes, readonly: bool,
             listing: bool = False) -> FolderLook:
        """``look_commands`` in one turn, and what they found."""
        lines = self.look_commands(folder, uids, items, readonly, listing)
        return self.looked(self.pipelined(lines), readonly, listing, folder)

    def pipelined(self, lines: Sequence[bytes]) -> list[tuple[str, list]]:
        with self._doing("the commands sent together"):
            return pipelining.pipelined(self._client, lines)

    def replies(self, pending: pipelining.Pending) -> list[tuple[str, list]]:
        """The replies to commands sent behind another (``append``'s ``then``)."""
        with self._doing("the commands sent behind the APPEND"):
            return pending.replies()

    def check_all(self, replies: list[tuple[str, list]], action: str) -> None:
        """ServerRefused, with the server's text, for the first refused reply."""
        for kind, data in replies:
            if kind != "OK":
                raise faults.refused(self.settings, action, faults.reply_text(data))

    def close(self) -> None:
        """Log out without waiting for the BYE: the draft is stored by then,
        so a failure here does not matter."""
        try:
            pipelining.logout_without_waiting(self._client)
        except Exception as e:
            trace.mutter("imapclient: logout failed: %s", e)


MOVED, EXPUNGED, FLAGGED, NOT_SHOWN = "moved", "expunged", "flagged", "not shown"
