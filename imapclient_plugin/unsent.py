"""Keeps a message that could not be stored, so nothing is lost.

Files go to ``<Breezy cache dir>/imapclient/unsent/`` as ``.eml``, readable
only by the user (a patch can be private), never overwriting each other.
A file appears under its name only once it is complete (a full disk leaves
no truncated message for ``brz imap-send`` to store); if it cannot be
written at all, the error says so beside why the send failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import stat
import tempfile
import threading
import time
from typing import Iterator

from breezy import bedding, trace

from . import errors
from .draft_data import DraftData, slices

UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
PARTIAL_SUFFIX = ".partial"


def unsent_dir() -> str:
    return os.path.join(bedding.cache_dir(), "imapclient", "unsent")


def not_stored(reason: errors.IMAPDraftError, data: DraftData, basename: str,
               extension: str = ".eml") -> errors.IMAPDraftError:
    """The error for a message that was not stored: where it is kept, or,
    if it could not be kept, that too."""
    never_fits = isinstance(reason, (errors.DraftTooBig, errors.PublicBranchBehind))
    try:
        return (errors.TooBigKept if never_fits else errors.DraftNotStored)(
            reason, keep_unsent(data, basename, extension))
    except OSError as e:
        return errors.DraftNotKept(reason=str(reason),
                                   keep_error=e.strerror or str(e))


def keep_unsent(data: DraftData, basename: str, extension: str = ".eml") -> str:
    """Write ``data`` to a new file and return its path; OSError if it can
    be written neither to the unsent folder nor to the temporary folder."""
    stem = time.strftime("%Y%m%d-%H%M%S-") + (
        UNSAFE_NAME_CHARS.sub("_", basename).strip("._") or "draft"
    )
    try:
        return _write_new(unsent_dir(), stem, extension, data)
    except OSError as e:
        trace.warning("Cannot write to %s (%s); using %s instead.",
                      unsent_dir(), e.strerror, tempfile.gettempdir())
        return _write_new(tempfile.gettempdir(), stem, extension, data)


def is_kept(path: str) -> bool:
    """``path`` is in the folder where brz send keeps what it could not store."""
    return os.path.dirname(os.path.abspath(path)) == os.path.abspath(unsent_dir())


def file_digest(path: str) -> str:
    """The SHA-256 of a kept file, read a slice at a time: what proves it
    unchanged when a later send supersedes it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def remove_superseded(kept: list) -> None:
    """Remove a kept file (``[path, digest]``) that a later version of its
    merge request replaces, only if it is still the regular file brz wrote
    in the unsent folder, byte for byte; else leave it, and say so."""
    path, digest = kept
    try:
        info = os.lstat(path)
        same = (stat.S_ISREG(info.st_mode)
                and is_kept(path)
                and file_digest(path) == digest)
    except FileNotFoundError:
        return  # stored by brz imap-send, or removed by the user
    except OSError as e:
        trace.warning("Left %s, kept by an earlier brz send: %s.", path, e.strerror or e)
        return
    if not same:
        trace.note("Left %s, kept by an earlier brz send: it changed since.", path)
        return
    os.remove(path)
    trace.note("Removed %s, kept by an earlier brz send: this version replaces it.", path)


def _write_new(directory: str, stem: str, extension: str, data: DraftData) -> str:
    """Write to a hidden temporary file, then link it to a free name."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=directory, prefix="." + stem,
                                   suffix=PARTIAL_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in slices(data):
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        for attempt in range(1000):
            path = os.path.join(directory, "%s%s%s" % (
                stem, "-%d" % attempt if attempt else "", extension))
            try:
                os.link(partial, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(directory)
    finally:
        os.unlink(partial)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived while the draft was being stored."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name = signal.Signals(signum).name
        self.at_the_prompt = False  # for the password: nothing was sent


KEEP_ON_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into ``Terminated`` (as Ctrl-C is turned
    into KeyboardInterrupt), so that the message is kept before brz ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, _frame):
        raise Terminated(signum)

    previous = {s: signal.signal(s, terminated) for s in KEEP_ON_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
