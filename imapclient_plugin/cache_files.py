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

    os.makedirs(os.path.dirname(path(name)), mode=0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path(name)), suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, sort_keys=True)
        os.replace(temporary, path(name))
    except OSError:
        os.unlink(temporary)
        raise
