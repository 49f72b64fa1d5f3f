"""Small JSON files in ``<Breezy cache dir>/imapclient/``: what the plugin
remembers between runs (never credentials).  Read leniently (a missing or
damaged file is empty) and written atomically (a temporary file renamed)."""

from __future__ import annotations

import json
import os

from breezy import bedding


def path(name: str) -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", name)


def load(name: str) -> dict:
    try:
        with open(path(name), encoding="utf-8") as f:
            records = json.load(f)
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def save(name: str, records: dict) -> None:
    """OSError if it cannot be written; the old file is then unchanged."""
    import tempfile  # only here: most runs write nothing

    directory = os.path.dirname(path(name))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    _remove_stale_temporaries(directory)
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, sort_keys=True)
        os.replace(temporary, path(name))
    except OSError:
        os.unlink(temporary)
        raise


TEMPORARY_SUFFIX = ".tmp"
STALE_AFTER = 600.0  # seconds: no save takes that long


def _remove_stale_temporaries(directory: str) -> None:
    """A process killed while it saved (the keyring child, killed when the
    command ends before it) leaves its temporary file: the next save
    removes it."""
    import time

    now = time.time()
    for entry in os.scandir(directory):
        if not entry.name.endswith(TEMPORARY_SUFFIX):
            continue
        try:
            if now - entry.stat().st_mtime > STALE_AFTER:
                os.unlink(entry.path)
        except OSError:  # gone already, or not ours to remove
            pass
