"""Remembers each account's Drafts folder, so later sends skip the LIST.

Kept in ``<Breezy cache dir>/imapclient/drafts-folders.json``, one entry per
user, server and port; folder names only, never credentials.  A folder the
server no longer has (TRYCREATE) is forgotten and discovered again.
"""

from __future__ import annotations

from typing import Optional

from breezy import trace

from . import cache_files
from .settings import IMAPSettings

CACHE_FILE = "drafts-folders.json"


def remembered(settings: IMAPSettings) -> Optional[str]:
    return _load().get(_key(settings))


def remember(settings: IMAPSettings, folder: str) -> None:
    folders = _load()
    if folders.get(_key(settings)) != folder:
        folders[_key(settings)] = folder
        _save(folders)


def forget(settings: IMAPSettings) -> None:
    folders = _load()
    if folders.pop(_key(settings), None) is not None:
        _save(folders)


def _key(settings: IMAPSettings) -> str:
    return "%s@%s:%d" % (settings.username, settings.host, settings.port)


def _load() -> dict:
    return cache_files.load(CACHE_FILE)


def _save(folders: dict) -> None:
    """A cache that cannot be written only costs a LIST."""
    try:
        cache_files.save(CACHE_FILE, folders)
    except OSError as e:
        trace.mutter("imapclient: cannot save %s: %s", cache_files.path(CACHE_FILE), e)
