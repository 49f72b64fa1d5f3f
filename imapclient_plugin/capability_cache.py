"""Remembers what each server announces before login, so that a server
whose greeting does not say it (GMail) costs no CAPABILITY round trip;
and whether its greeting says anything needed: where not, the login need
not wait for it (``wire.early_login``).

Kept in ``<Breezy cache dir>/imapclient/capabilities.json``, one entry per
server, port and security; never credentials.  A login refused while the
remembered list was used is checked against a fresh one: if they differ,
the list is replaced and the login tried again (``wire.connection``).
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
SILENT = "silent"  # nothing needed: the login may go before it (GMail)
AWAITED = "awaited"  # silent, but a login sent before it went unanswered


class Known(NamedTuple):
    capabilities: tuple[bytes, ...]
    greeting: str

    @property
    def greeting_is_silent(self) -> bool:
        return self.greeting == SILENT


def remembered(settings: IMAPSettings) -> Optional[Known]:
    if not _applies(settings):
        return None
    record = cache_files.load(CACHE_FILE).get(_key(settings))
    if isinstance(record, list):  # only the list, as some versions wrote it
        record = {"capabilities": record, "greeting": LISTED}
    if not isinstance(record, dict):
        return None
    listed, greeting = record.get("capabilities"), record.get("greeting")
    if (not isinstance(listed, list) or not listed
            or not all(isinstance(c, str) for c in listed)
            or greeting not in (LISTED, SILENT, AWAITED)):
        return None
    return Known(tuple(c.encode("ascii", "replace") for c in listed), greeting)


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
    known = Known(tuple(sorted({c if isinstance(c, bytes) else str(c).encode("ascii")
                               for c in capabilities})), greeting)
    if before is None or (sorted(before.capabilities), before.greeting) != (
            list(known.capabilities), known.greeting):
        _save(settings, known)


def await_greeting(settings: IMAPSettings) -> None:
    """A login sent before the greeting went unanswered: from now on, wait."""
    before = remembered(settings)
    if before is not None:
        _save(settings, before._replace(greeting=AWAITED))


def _save(settings: IMAPSettings, known: Known) -> None:
    records = cache_files.load(CACHE_FILE)
    records[_key(settings)] = {
        "capabilities": [c.decode("ascii", "replace") for c in known.capabilities],
        "greeting": known.greeting}
    try:
        cache_files.save(CACHE_FILE, records)
    except OSError as e:  # costs a round trip next time, nothing more
        trace.mutter("imapclient: cannot save %s: %s", cache_files.path(CACHE_FILE), e)


def _applies(settings: IMAPSettings) -> bool:
    return not settings.tunnel and settings.security in ("imaps", "none")


def _key(settings: IMAPSettings) -> str:
    return "%s:%d %s" % (settings.host, settings.port, settings.security)
