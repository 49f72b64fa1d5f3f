"""Stores a message in the Drafts folder: exactly once, or an error.

Used by the ``imapclient`` mail client (``brz send``) and ``brz imap-send``.
"""

from __future__ import annotations

import dataclasses
import imaplib
from typing import Callable, Optional, Sequence

from breezy import trace

from . import (bounded_io, capability_cache, credentials, drafts, errors, fast_commands,
               folder_cache, session)
from .draft_data import DraftData, ReadAhead, SplicedDraft
from .errors import printable
from .settings import IMAPSettings


@dataclasses.dataclass(frozen=True)
class StoredDraft:
    folder: drafts.DraftsFolder
    uid: Optional[int]
    web_link: Optional[str] = None


def report_stored(settings: IMAPSettings, stored: StoredDraft) -> None:
    """Say where the draft is; open it in the browser if asked to."""
    trace.note(
        'Draft saved to "%s" on %s%s.',
        printable(stored.folder.name),
        settings.host,
        " (UID %d)" % stored.uid if stored.uid is not None else "",
    )
    if stored.web_link is None:
        return
    trace.note("Open it: %s", printable(stored.web_link))
    if settings.open_draft:
        import webbrowser

        webbrowser.open(stored.web_link)


@dataclasses.dataclass
class Draft:
    """A message to store, and what to do on the connection that stored it
    (where the server said: folder name and APPENDUID) once it is there:
    the connection's last use, which may end with LOGOUT.
    ``after_append_is_local`` where that sends the server nothing.
    ``sent_behind_append(client, folder)``: commands that change no mail,
    to send right behind the APPEND, in its turn; ``after_append`` gets
    their replies (else None: it sends them itself)."""

    data: DraftData
    message_id: str
    after_append: Optional[Callable[[object, str, drafts.Appended, Optional[list]],
                                    None]] = None
    after_append_is_local: bool = False
    sent_behind_append: Optional[Callable[[object, str], list]] = None


def store_draft(settings: IMAPSettings, draft: Draft,
                prepare: Optional[Callable[[object, str], Draft]] = None,
                ) -> StoredDraft:
    """Connect, log in, find the Drafts folder and append the draft to it.

    Stores exactly one copy: if the connection is lost while the outcome of
    the APPEND is unknown, it reconnects once and appends again only if no
    message with its Message-ID arrived.  ``prepare``, given the client
    and the folder, returns the Draft to store instead (brz send's next
    revision of a merge request depends on what the folder holds).  Without
    it, and
    with the folder known, the APPEND may go with the login
    (``_AppendWithLogin``).
    """
    remembered = folder_cache.remembered(settings)
    with_login = None
    then, listed_with_login = (), False
    if prepare is None and (settings.mailbox or remembered):
        with_login = _AppendWithLogin(settings, draft, drafts.find_drafts_folder(
            None, settings.mailbox, remembered))
    elif prepare is None:  # the folder is to be found: LIST with the login
        then, listed_with_login = [drafts.LIST_ALL], True
    try:
        with session.logged_in(settings, then=with_login or then) as login:
            if with_login is not None and with_login.sent:
                return with_login.outcome(login)
            listing = _listed_with_login(login, settings) if listed_with_login else None
            return _store_on(login, settings, remembered, listing, draft, prepare)
    except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
        if with_login is None or not with_login.sent or with_login.answered:
            raise
        return with_login.after_lost_connection(lost)
    except errors.MailboxRefused:
        if (with_login is None or not with_login.sent
                or with_login.folder.how_found != drafts.REMEMBERED):
            raise
        folder_cache.forget(settings)  # and find it again, on a new connection
        return store_draft(settings, draft)


def _store_on(login: session.Login, settings: IMAPSettings, remembered: Optional[str],
              listing: Optional[list], draft: Draft,
              prepare: Optional[Callable[[object, str], Draft]],
              ) -> StoredDraft:
    client, password = login.client, login.password
    folder = _drafts_folder(client, settings, remembered, listing)
    with session.translated_errors(settings, action="the Drafts folder"):
        if prepare is not None:
            draft = prepare(client, folder.name)
        drafts.check_append_limit(client, len(draft.data), settings.host)

    def attempt(folder_name: str):
        try:
            return _append_once(client, settings, folder_name, draft,
                                check_first=False), True
        except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
            return _append_after_lost_connection(
                settings, password, folder_name, draft, lost), False

    folder, (uid, on_this_connection) = _rediscovering(client, settings, folder, attempt)
    link = _web_link(client, settings, draft.message_id) if on_this_connection else None
    return StoredDraft(folder, uid, link)


def _listed_with_login(login: session.Login, settings: IMAPSettings) -> Optional[list]:
    """What the ``drafts.LIST_ALL`` sent with the login listed (None if the
    server refused it)."""
    with session.translated_errors(settings, action="the Drafts folder",
                                   client=login.client):
        return drafts.listed(login.client, login.pending.replies()[0])


READ_AHEAD = 4 << 20  # of a big draft, made while the login's reply is awaited


class _AppendWithLogin:
    """The APPEND sent as soon as the login's OK is read (never behind the
    login before it: Cyrus drops that), and LOGOUT behind it when nothing
    follows: on a server that offers SASL-IR and LITERAL+, the whole
    connection is the greeting, the login's turn, and one turn out and one
    back.  ``fast_commands.append_command`` says when the draft can go
    along; where it cannot (LITERAL- and over 4 KiB: GMail), the command
    goes with a synchronising literal, and the draft once the server says
    ``+`` (``fast_commands.append_line``).

    If the login is refused, nothing follows it and the login's error is
    reported; the caller keeps the draft.  If the APPEND is refused, its
    error is reported, as without
    pipelining; a remembered folder the server no longer has is found
    again on a new connection (LOGOUT went already).  If the connection is
    lost before its reply, the outcome is unknown and handled as for any
    APPEND: reconnect, look, store if missing (``store_draft``).
    """

    def __init__(self, settings: IMAPSettings, draft: Draft,
                 folder: drafts.DraftsFolder) -> None:
        self.settings, self.draft, self.folder = settings, draft, folder
        self.sent = self.answered = False
        self.literal_to_follow = False
        self.upload: DraftData = draft.data
        self.logout = ([fast_commands.LOGOUT] if draft.after_append is None
                       or draft.after_append_is_local else [])

    def __call__(self, client) -> list[bytes]:
        """The commands to send with the login (asked again if the login is
        tried again on a new connection)."""
        data, folder, flags = self.draft.data, self.folder.name, drafts.DRAFT_FLAGS
        drafts.check_append_limit(client, len(data), self.settings.host)
        self.sent = True
        append = fast_commands.append_command(client, folder, data, flags)
        self.literal_to_follow = append is None
        if append is not None:
            return [append] + self.logout
        self.upload = data
        if isinstance(data, SplicedDraft):  # its start made while the login is awaited
            self.upload = ReadAhead(data, READ_AHEAD)
            client._imap.meanwhile(self.upload.make_ahead)
        return [fast_commands.append_line(client, folder, flags, len(data))]

    def outcome(self, login: session.Login) -> StoredDraft:
        client, settings, folder = login.client, self.settings, self.folder.name
        with session.translated_errors(settings, action="storing the draft",
                                       client=client):
            if self.literal_to_follow:
                reply = _guarded(client, settings, folder, lambda: login.pending.literal(
                    self.upload, then=self.logout)[:2])
            else:
                reply, = _guarded(client, settings, folder, login.pending.replies)
            self.answered = True
            appended = drafts.check_appended(reply, folder, settings.host)
        _after_append(client, settings, folder, self.draft, appended)
        return StoredDraft(self.folder, appended.uid,
                           _web_link(client, settings, self.draft.message_id))

    def after_lost_connection(self, lost: errors.IMAPDraftError) -> StoredDraft:
        return StoredDraft(self.folder, _append_after_lost_connection(
            self.settings, None, self.folder.name, self.draft, lost))


def store_drafts(settings: IMAPSettings, messages: Sequence[Draft]) -> list[StoredDraft]:
    """Store each message exactly once over one connection (brz imap-send
    of a series), in turns that do not grow with the series: what is there
    already is found in one turn and skipped, the rest goes up in one
    MULTIAPPEND where offered; one message may go up in the same turn
    (``_AppendBehindSearch``).  A lost connection is handled as for one
    draft: reconnect, look, store what is missing, look again."""
    remembered = folder_cache.remembered(settings)
    known = settings.mailbox or remembered
    ids = [m.message_id for m in messages]
    ahead = (_AppendBehindSearch(settings, known, messages[0])
             if known and len(messages) == 1 else None)
    then = ahead or (drafts.search_commands(known, ids) if known else [drafts.LIST_ALL])
    try:
        with session.logged_in(settings, then=then) as login:
            client = login.client
            searched = {}  # what is there, from the searches sent with the login
            if known:
                with session.translated_errors(settings, action="the Drafts folder",
                                               client=client):
                    searched[known] = (
                        ahead.replies(client, login.pending) if ahead and ahead.sent
                        else login.pending.replies())
            listing = None if known else _listed_with_login(login, settings)
            folder = _drafts_folder(client, settings, remembered, listing)

            def attempt(folder_name: str) -> list:
                if (ahead is not None and ahead.sent and folder_name == known
                        and known in searched):  # its replies not yet used
                    return [ahead.outcome(client, searched.pop(known))]
                try:
                    return _append_missing(client, settings, folder_name, messages,
                                           searched.pop(folder_name, None))
                except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
                    trace.note("%s Reconnecting to check which drafts arrived.", lost)
                    with session.logged_in(settings, password=login.password) as again:
                        return _append_missing(again.client, settings, folder_name,
                                               messages, look_again=True)

            folder, uids = _rediscovering(client, settings, folder, attempt)
    except (errors.ConnectionLost, errors.ConnectionTimedOut) as lost:
        if ahead is None or not ahead.sent:
            raise
        return [StoredDraft(drafts.find_drafts_folder(None, settings.mailbox, remembered),
                            _append_after_lost_connection(settings, None, known,
                                                          ahead.draft, lost))]
    return [StoredDraft(folder, uid, _web_link(client, settings, m.message_id))
            for m, uid in zip(messages, uids)]


class _AppendBehindSearch:
    """``brz imap-send`` of one message: its APPEND sent once logged in,
    behind the SELECT and the search for its Message-ID, in their turn.
    The search
    runs first (RFC 9051 5.5: a command whose result another one changes
    is run in the order sent); if it finds the message there already, the
    copy just stored is removed by its UID, which touches nothing else.

    So only where that removal is sure to be possible: the server's last
    login announced UIDPLUS (``capability_cache``), and it is not GMail,
    where a removed draft can end up in All Mail or the Trash.  And only
    where the draft can go with the login at all
    (``fast_commands.append_command``: what a refused login does to it).
    If the login is refused, so are the commands behind it.  If the folder
    is missing, the SELECT, the search and the APPEND (TRYCREATE) are
    refused, and a remembered folder is found again (``_rediscovering``).
    If the connection is lost once the APPEND is sent, its outcome is
    unknown: reconnect, look, store it if missing, remove any extra copy
    (``_append_after_lost_connection``).
    """

    def __init__(self, settings: IMAPSettings, folder: str, draft: Draft) -> None:
        self.settings, self.folder, self.draft = settings, folder, draft
        self.sent = False

    def __call__(self, client) -> list[bytes]:
        """The commands to send with the login (asked again if the login is
        tried again on a new connection)."""
        search = drafts.search_commands(self.folder, [self.draft.message_id])
        append = None
        if self._copy_removable():
            drafts.check_append_limit(client, len(self.draft.data), self.settings.host)
            append = fast_commands.append_command(client, self.folder, self.draft.data,
                                                  drafts.DRAFT_FLAGS)
        self.sent = append is not None
        return search + [append] if append is not None else search

    def _copy_removable(self) -> bool:
        known = capability_cache.remembered(self.settings)
        return (known is not None and b"UIDPLUS" in known.after_login
                and drafts.GMAIL_EXTENSION.encode() not in known.after_login)

    def replies(self, client, pending: fast_commands.Pending) -> list:
        """The replies to what went with the login; an unknown outcome of
        the APPEND is made final as for any (``_guarded``)."""
        return _guarded(client, self.settings, self.folder, pending.replies)

    def outcome(self, client, replies: list) -> Optional[int]:
        """The draft's UID: the one just stored, unless it was there already."""
        settings, folder, message_id = self.settings, self.folder, self.draft.message_id
        *searched, append_reply = replies
        with session.translated_errors(settings, action="storing the draft",
                                       client=client):
            there = drafts.find_each(client, folder, [message_id],
                                     searched).get(message_id, [])
            try:
                appended = drafts.check_appended(append_reply, folder, settings.host)
            except errors.ServerRefused:
                if not there:
                    raise
                appended = drafts.Appended(None, None)  # nothing new to remove
            there = [uid for uid in there if uid != appended.uid]
            if not there:
                _after_append(client, settings, folder, self.draft, appended)
                return appended.uid
            trace.note("The draft was already there.")
            if appended.uid is not None:
                _keep_one(client, folder, [there[0], appended.uid], say_removed=False)
            elif append_reply[0] == "OK":  # stored, where is not said: look
                copies = drafts.find_by_message_id(client, folder, message_id)
                _keep_one(client, folder, copies)
        return there[0]


def _rediscovering(client, settings: IMAPSettings, folder: drafts.DraftsFolder,
                   attempt: Callable[[str], object]) -> tuple:
    """(folder, ``attempt(folder name)``); a remembered folder the server no
    longer has (TRYCREATE) is forgotten, found again and tried once more."""
    try:
        return folder, attempt(folder.name)
    except errors.MailboxRefused:
        if folder.how_found != drafts.REMEMBERED:
            raise
        folder_cache.forget(settings)
        folder = _drafts_folder(client, settings, None)
        return folder, attempt(folder.name)


def _append_missing(client, settings: IMAPSettings, folder: str,
                    messages: Sequence[Draft], searched: Optional[list] = None,
                    look_again: bool = False) -> list:
    """The UID of each message (where the server says it), storing those
    that are not there yet.  ``searched``: the replies to
    ``drafts.search_commands`` for ``folder``, where they were sent."""
    with session.translated_errors(settings, action="storing the drafts",
                                   client=client):
        there = drafts.find_each(client, folder, [m.message_id for m in messages],
                                 searched)
        drafts.check_append_limit(client, max(len(m.data) for m in messages),
                                  settings.host)
        for _ in [m for m in messages if there.get(m.message_id)]:
            trace.note("The draft was already there.")
        # Once per Message-ID, also where the input repeats one.
        missing = list({m.message_id: m for m in reversed(messages)
                        if not there.get(m.message_id)}.values())[::-1]
        if missing:  # GNU Mailutils loses an APPEND to the folder selected
            fast_commands.leave_folder(client, folder)
        new_uids = _guarded(client, settings, folder, lambda: drafts.append_many(
            client, folder, [m.data for m in missing], settings.host))
        uids = dict(zip([m.message_id for m in missing], new_uids))
        if look_again and missing:
            again = drafts.find_each(client, folder, [m.message_id for m in missing])
            for m in missing:
                copies = again.get(m.message_id, [])
                _keep_one(client, folder, copies)
                uids[m.message_id] = copies[0] if copies else uids[m.message_id]
    return [there[m.message_id][0] if there.get(m.message_id) else uids[m.message_id]
            for m in messages]


def _web_link(client, settings: IMAPSettings, message_id: str) -> Optional[str]:
    """A link to the stored draft, if the server has one."""
    return drafts.gmail_link(client, message_id, settings.username)


def _drafts_folder(client, settings: IMAPSettings, remembered: Optional[str],
                   listing: Optional[list] = None) -> drafts.DraftsFolder:
    """Find (and remember) the folder; a remembered one costs no LIST, nor
    does one found in ``listing`` (a LIST sent with the login)."""
    with session.translated_errors(settings, action="the Drafts folder"):
        folder = drafts.find_drafts_folder(client, settings.mailbox, remembered,
                                           listing)
    trace.mutter("imapclient: drafts folder %r, %s", folder.name, folder.how_found)
    if folder.how_found == drafts.CREATED:
        trace.note('Created the folder "%s" for drafts.', printable(folder.name))
    if folder.was_discovered:
        folder_cache.remember(settings, folder.name)
    return folder


def _append_once(client, settings: IMAPSettings, folder: str, draft: Draft,
                 check_first: bool, look_again: bool = False) -> Optional[int]:
    """APPEND unless ``check_first`` finds the message already there; with
    ``look_again``, remove any copy that landed beside it meanwhile.
    Returns the UID, when the server says it."""
    with session.translated_errors(settings, action="storing the draft",
                                   client=client):
        if check_first:
            found = drafts.find_by_message_id(client, folder, draft.message_id)
            if found:
                trace.note("The draft was already there.")
                _keep_one(client, folder, found)
                return found[0]
            fast_commands.leave_folder(client, folder)  # see _append_missing
        behind = (draft.sent_behind_append(client, folder)
                  if draft.sent_behind_append and not look_again else [])
        appended, pending = _append(client, settings, folder, draft.data, behind)
        uid = appended.uid
        if look_again:
            copies = drafts.find_by_message_id(client, folder, draft.message_id)
            _keep_one(client, folder, copies)
            uid = copies[0] if copies else uid
    _after_append(client, settings, folder, draft, appended._replace(uid=uid),
                  pending if behind else None)
    return uid


def _after_append(client, settings: IMAPSettings, folder: str, draft: Draft,
                  appended: drafts.Appended,
                  behind: Optional[fast_commands.Pending] = None) -> None:
    """The draft is stored: what follows must not make it look as if not."""
    if draft.after_append is None:
        return
    try:
        with session.translated_errors(settings, action="tidying up", client=client):
            draft.after_append(client, folder, appended,
                               behind.replies() if behind is not None else None)
    except errors.IMAPDraftError as e:
        trace.warning("The draft is stored, but: %s", e)


def _append(client, settings: IMAPSettings, folder: str, data: DraftData,
            then: Sequence[bytes] = ()) -> tuple[drafts.Appended, fast_commands.Pending]:
    return _guarded(client, settings, folder, lambda: drafts.append_draft(
        client, folder, data, settings.host, then))


def _guarded(client, settings: IMAPSettings, folder: str, append: Callable):
    """``append()``; if its outcome is unknown, make sure this connection
    can no longer complete it, or say that it may still (and retry nothing)."""
    try:
        return append()
    except bounded_io.ReplyTimeout as e:
        if e.delivered:  # the server has it all and may still store it
            raise errors.AppendUnconfirmed(host=settings.host, folder=printable(folder),
                                           timeout=settings.timeout)
        client._imap.abort_connection()
        raise
    except (OSError, imaplib.IMAP4.abort):
        client._imap.abort_connection()  # what the kernel holds never arrives
        raise


def _append_after_lost_connection(
    settings: IMAPSettings, password: Optional[credentials.Password], folder: str,
    draft: Draft, lost: errors.IMAPDraftError,
) -> Optional[int]:
    """The APPEND may or may not have landed: look (keeping one copy of
    what is there), append if not, then look again, since the first upload
    may have landed meanwhile.  A server that took the whole draft and did
    not confirm it may still store it: then nothing goes again."""
    cause = lost.__context__
    if isinstance(cause, bounded_io.ReplyTimeout) and cause.delivered:
        raise errors.AppendUnconfirmed(host=settings.host, folder=printable(folder),
                                       timeout=settings.timeout)
    trace.note("%s Reconnecting to check whether the draft arrived.", lost)
    with session.logged_in(settings, password=password) as again:
        return _append_once(again.client, settings, folder, draft,
                            check_first=True, look_again=True)


def _keep_one(client, folder: str, copies: list[int],
              say_removed: bool = True) -> None:
    """Remove all but the first of ``copies`` (UIDs of one draft), and say
    what is left.  The draft is stored whatever happens here: a removal the
    server refuses, or a connection lost meanwhile, is a warning, not an
    error (which would have the user store it again)."""
    try:
        removed = drafts.remove_copies(client, copies)
    except (OSError, imaplib.IMAP4.error) as e:
        trace.warning(
            'There are %d copies of the draft in "%s" (UIDs %s): removing the'
            " extra one failed (%s). Delete it in your mail program.",
            len(copies), printable(folder), ", ".join(map(str, copies)),
            printable(str(e)))
        return
    if removed and say_removed:
        trace.note("The first upload arrived too; removed the extra copy"
                   " (UID %s), so there is one draft.",
                   ", ".join(map(str, removed)))
    elif len(copies) > 1 and not removed:
        trace.warning(
            'There are %d copies of the draft in "%s" (UIDs %s): the server'
            " cannot remove one without UIDPLUS. Delete the extra ones in your"
            " mail program.", len(copies), printable(folder),
            ", ".join(map(str, copies)))
