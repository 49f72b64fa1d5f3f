"""Remembers each account's Drafts folder, so later sends skip the LIST.

Kept in ``<Breezy cache dir>/imapclient/drafts-folders.json``, one entry per
user, server and port; folder names only, never credentials.  A folder the
server no longer has (TRYCREATE) is forgotten and discovered again.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Optional

from breezy import bedding, trace

from .settings import IMAPSettings


def cache_path() -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", "drafts-folders.json")


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
    try:
        with open(cache_path(), encoding="utf-8") as f:
            folders = json.load(f)
    except (OSError, ValueError):
        return {}
    return folders if isinstance(folders, dict) else {}


def _save(folders: dict) -> None:
    """Atomically; a cache that cannot be written only costs a LIST."""
    directory = os.path.dirname(cache_path())
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(folders, f, indent=1, sort_keys=True)
        os.replace(temporary, cache_path())
    except OSError as e:
        trace.mutter("imapclient: cannot save %s: %s", cache_path(), e)
