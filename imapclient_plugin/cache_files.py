"""Small JSON files in ``<Breezy cache dir>/imapclient/``: what the plugin
remembers between runs (never credentials).  Read leniently (a missing
file is empty; a damaged one too, with a warning) and written atomically
(a temporary file renamed).

A file, or the folder holding it, that another user owns or may write is
not trusted (``untrusted``): what it says could make brz remove mail.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from typing import Iterator, Optional

from breezy import bedding


def path(name: str) -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", name)


def load(name: str) -> dict:
    """What the file holds; empty where it is missing, and, with a warning
    naming it, where it is not a regular file (a FIFO would hang brz) or
    not JSON of an object (nested too deep to read included)."""
    try:
        fd = os.open(path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        return {}
    except OSError as e:
        return _ignored(name, e.strerror or str(e))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return _ignored(name, "it is not a regular file")
        try:
            records = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError, RecursionError) as e:
            return _ignored(name, "it is not what brz writes (%s)" % (
                "nested too deep" if isinstance(e, RecursionError) else e))
    if not isinstance(records, dict):
        return _ignored(name, "it is not what brz writes (not an object)")
    return records


_warned: set = set()


def _ignored(name: str, why: str) -> dict:
    """Said once a run for each file and reason: the file is read as empty."""
    if (path(name), why) not in _warned:
        _warned.add((path(name), why))
        from breezy import trace

        from .errors import printable

        trace.warning("Ignoring %s: %s.", path(name), printable(why))
    return {}


def untrusted(name: str) -> Optional[str]:
    """Why the file ``name`` (or its folder) is not to be trusted, if it is
    not: another user owns it or may write it.  None where it is missing."""
    if os.name != "posix":  # no owners and modes to go by
        return None
    for target in (os.path.dirname(path(name)), path(name)):
        try:
            info = os.stat(target)
        except OSError:
            return None
        if info.st_uid != os.getuid():
            return "%s belongs to another user" % target
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return "%s may be written by other users" % target
    return None


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


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold ``name``'s lock (a file beside it) while it is read, changed and
    saved: two brz processes saving at once keep each other's changes.
    OSError where the lock file cannot be made; where the system has no
    such locks (not POSIX), nothing is held."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    os.makedirs(os.path.dirname(path(name)), mode=0o700, exist_ok=True)
    fd = os.open(path(name) + LOCK_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


LOCK_SUFFIX = ".lock"
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
