"""Keeps a message that could not be stored, so nothing is lost.

Files go to ``<Breezy cache dir>/imapclient/unsent/`` as ``.eml``, readable
only by the user (a patch can be private), never overwriting each other.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

from breezy import bedding, trace

UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def unsent_dir() -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", "unsent")


def keep_unsent(data: bytes, basename: str) -> str:
    """Write ``data`` to a new ``.eml`` file and return its path."""
    stem = time.strftime("%Y%m%d-%H%M%S-") + (
        UNSAFE_NAME_CHARS.sub("_", basename).strip("._") or "draft"
    )
    try:
        return _write_new(unsent_dir(), stem, data)
    except OSError as e:
        trace.warning("Cannot write to %s (%s); using %s instead.",
                      unsent_dir(), e.strerror, tempfile.gettempdir())
        return _write_new(tempfile.gettempdir(), stem, data)


def _write_new(directory: str, stem: str, data: bytes) -> str:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for attempt in range(1000):
        suffix = "-%d" % attempt if attempt else ""
        path = os.path.join(directory, stem + suffix + ".eml")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path
    raise FileExistsError(directory)
