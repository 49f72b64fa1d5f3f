"""Remembers what each server announces before login, so that a server
whose greeting does not say it (GMail) costs no CAPABILITY round trip.

Kept in ``<Breezy cache dir>/imapclient/capabilities.json``, one entry per
server, port and security; never credentials.  A login refused while the
remembered list was used is checked against a fresh one: if they differ,
the list is replaced and the login tried again (``wire.connection``).
Not over a tunnel (which may be preauthenticated) or after STARTTLS (RFC
2595: asked again over TLS).
"""

from __future__ import annotations

from typing import Optional

from breezy import trace

from . import cache_files
from .settings import IMAPSettings

CACHE_FILE = "capabilities.json"


def remembered(settings: IMAPSettings) -> Optional[tuple[bytes, ...]]:
    if not _applies(settings):
        return None
    record = cache_files.load(CACHE_FILE).get(_key(settings))
    if isinstance(record, dict):  # as written before 0.1: with more in it
        record = record.get("capabilities")
    if not (isinstance(record, list) and record
            and all(isinstance(c, str) for c in record)):
        return None
    return tuple(c.encode("ascii", "replace") for c in record)


def remember(settings: IMAPSettings, capabilities: tuple,
             before: Optional[tuple[bytes, ...]]) -> None:
    """Note what the server announced before login; ``before``: what
    ``remembered`` gave for this connection (nothing is written if that
    holds still)."""
    if not _applies(settings):
        return
    listed = sorted({c.decode("ascii", "replace") if isinstance(c, bytes) else str(c)
                     for c in capabilities})
    if before is not None and sorted(c.decode("ascii") for c in before) == listed:
        return
    records = cache_files.load(CACHE_FILE)
    records[_key(settings)] = listed
    try:
        cache_files.save(CACHE_FILE, records)
    except OSError as e:  # costs a round trip next time, nothing more
        trace.mutter("imapclient: cannot save %s: %s", cache_files.path(CACHE_FILE), e)


def _applies(settings: IMAPSettings) -> bool:
    return not settings.tunnel and settings.security in ("imaps", "none")


def _key(settings: IMAPSettings) -> str:
    return "%s:%d %s" % (settings.host, settings.port, settings.security)
