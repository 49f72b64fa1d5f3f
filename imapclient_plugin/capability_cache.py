"""Remembers what each server announces before login, so that a server
whose greeting does not say it (GMail) costs no CAPABILITY round trip;
and what it announced at login, for deciding what to send with the next
login (``after_login``: whether an extra copy could be removed by UID).

Kept in ``<Breezy cache dir>/imapclient/capabilities.json``, one entry per
server, port and security; never credentials.  A login refused while the
remembered list was used is checked against a fresh one: if they differ,
the list is replaced and the login tried again (``session.logged_in``).
Also noted: whether the greeting lists them; where it does not, the login
need not wait for it (``session.TalkFirst``).
Not over a tunnel (which may be preauthenticated) or after STARTTLS (RFC
2595: asked again over TLS).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from breezy import trace

from . import cache_files
from .settings import IMAPSettings

CACHE_FILE = "capabilities.json"
# What the server's greeting was found to be: what it says before login.
LISTED = "listed"  # the capabilities: wait for them
SILENT = "silent"  # nothing we need: the login may go before it (GMail)
AWAITED = "awaited"  # silent, but the login sent before it went unanswered


class Known(NamedTuple):
    capabilities: tuple[bytes, ...]
    greeting: str
    after_login: tuple[bytes, ...] = ()  # as the last login's reply said them

    @property
    def greeting_is_silent(self) -> bool:
        return self.greeting == SILENT


def remembered(settings: IMAPSettings) -> Optional[Known]:
    if not _applies(settings):
        return None
    record = cache_files.load(CACHE_FILE).get(_key(settings))
    if isinstance(record, list):  # written before the greeting was noted
        record = {"capabilities": record, "greeting": LISTED}
    if not isinstance(record, dict):
        return None
    listed, greeting = record.get("capabilities"), record.get("greeting")
    after_login = record.get("after_login", [])
    if (not _names(listed) or not _names(after_login)
            or greeting not in (LISTED, SILENT, AWAITED)):
        return None
    return Known(_encoded(listed), greeting, _encoded(after_login))


def _names(listed: object) -> bool:
    return isinstance(listed, list) and all(isinstance(c, str) for c in listed)


def _encoded(listed: list) -> tuple[bytes, ...]:
    return tuple(c.encode("ascii", "replace") for c in listed)


def remember(settings: IMAPSettings, capabilities: tuple, greeting_listed: bool,
             before: Optional[Known]) -> None:
    """Note what the server announced before login, and whether its
    greeting listed it (a server once found to need its greeting awaited
    stays so while its greeting says nothing).  ``before``: what
    ``remembered`` gave for this connection; nothing is written if that
    holds still."""
    if not _applies(settings):
        return
    if greeting_listed:
        greeting = LISTED
    else:
        greeting = AWAITED if before and before.greeting == AWAITED else SILENT
    record = _record(capabilities, greeting, before.after_login if before else ())
    if before is None or _record(*before) != record:
        _save(settings, record)


def remember_after_login(settings: IMAPSettings, capabilities: tuple) -> None:
    """Note what the server announced in its reply to the login (once
    what it says before login is noted: ``remember``)."""
    before = remembered(settings)
    if before is not None:
        _save(settings, _record(before.capabilities, before.greeting, capabilities))


def await_greeting(settings: IMAPSettings) -> None:
    """The login sent before the greeting went unanswered: from now on, wait."""
    before = remembered(settings)
    if before is not None:
        _save(settings, _record(before.capabilities, AWAITED, before.after_login))


def _record(capabilities: tuple, greeting: str, after_login: tuple = ()) -> dict:
    return {"capabilities": _decoded(capabilities), "greeting": greeting,
            "after_login": _decoded(after_login)}


def _decoded(capabilities: tuple) -> list[str]:
    return sorted({c.decode("ascii", "replace") if isinstance(c, bytes) else str(c)
                   for c in capabilities})


def _save(settings: IMAPSettings, record: dict) -> None:
    records = cache_files.load(CACHE_FILE)
    if records.get(_key(settings)) == record:
        return
    records[_key(settings)] = record
    try:
        cache_files.save(CACHE_FILE, records)
    except OSError as e:  # costs a round trip next time, nothing more
        trace.mutter("imapclient: cannot save %s: %s", cache_files.path(CACHE_FILE), e)


def _applies(settings: IMAPSettings) -> bool:
    return not settings.tunnel and settings.security in ("imaps", "none")


def _key(settings: IMAPSettings) -> str:
    return "%s:%d %s" % (settings.host, settings.port, settings.security)
