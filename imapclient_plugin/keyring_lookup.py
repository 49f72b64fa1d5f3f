"""Looks the password up in the keyring, prepared ahead on the other core.

Importing keyring and choosing its backend takes some 50 ms of CPU (more on
a slow machine): in a thread it competes with the command's own imports for
the interpreter, and the login waits for it.  So, where it is safe,
``prefetch`` forks a child that imports keyring and chooses the backend
while the command goes on; the lookup itself is made only when asked for
(``look_up``, once the connection is made and its certificate checked: a
server that is down unlocks nothing).  The child answers through a pipe,
once, and exits; the password is never written anywhere else.

Forking is safe only in a process with one thread (a lock another thread
held would stay held in the child) and where the system allows a child to
use what the parent set up (Linux; macOS's frameworks do not): elsewhere the
import runs in a thread, as it did before.  A child that dies or cannot
answer leaves the lookup to this process.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import threading
from typing import Optional

from breezy import trace

KEYRING_MISSING = (
    "no keyring backend is available (run a Secret Service such as"
    " gnome-keyring, or pip install keyrings.alt)"
)
NO_PASSWORD = "none in the keyring"
MAX_REPLY = 1 << 20

_prefetched: Optional["_Prefetch"] = None


def prefetch(in_child: bool = False) -> None:
    """Start importing keyring and choosing its backend, unless started;
    ``in_child`` where the process is small (a child's resident size counts
    against the command's peak: ``brz send`` holding its bundle forks none)."""
    global _prefetched
    if _prefetched is None:
        _prefetched = _Child.start() if in_child and can_fork() else _Thread()


def can_fork() -> bool:
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.active_count() == 1 and _system_threads() == 1)


def _system_threads() -> int:
    """Threads as Linux counts them: those a library started too."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0  # unknown: not one


def look_up(host: str, user: str) -> tuple[Optional[str], str]:
    """(password or None, what the keyring said, for the error message).

    A broken backend is a warning, not an error: the other sources follow."""
    global _prefetched
    prefetched, _prefetched = _prefetched, None
    answer = prefetched.look_up(host, user) if prefetched is not None else None
    if answer is None:
        answer = looked_up(host, user)
    value, state, warning = answer
    if warning:
        trace.warning("%s; trying the other password sources.", warning)
    return value, state


def finish() -> None:
    """End a prefetch that was not used (the command is over)."""
    global _prefetched
    prefetched, _prefetched = _prefetched, None
    if prefetched is not None:
        prefetched.close()


def looked_up(host: str, user: str) -> tuple[Optional[str], str, Optional[str]]:
    """The lookup in this process: (password, state, warning)."""
    try:
        import keyring
        from keyring.errors import KeyringLocked, NoKeyringError

        from . import keyring_backend
    except Exception as e:  # keyring not installed, or broken
        return _failed(e)
    try:
        keyring_backend.prepare()
        value = keyring.get_password(host, user)
    except NoKeyringError:
        return None, KEYRING_MISSING, None
    except KeyringLocked:
        return None, "the keyring is locked (unlock it, then send again)", None
    except Exception as e:  # a broken backend must not stop the send
        return _failed(e)
    return value, NO_PASSWORD, None


def _failed(e: Exception) -> tuple[None, str, str]:
    state = "the keyring failed (%s: %s)" % (type(e).__name__, e)
    return None, state, state[0].upper() + state[1:]


def _prepare() -> None:
    """Import keyring and choose its backend; what fails is told by the lookup."""
    try:
        import keyring.core  # noqa: F401
        import keyring.errors  # noqa: F401

        from . import keyring_backend

        keyring_backend.prepare()
    except Exception:
        pass


class _Prefetch:
    def look_up(self, host: str, user: str):
        """(password, state, warning); None to look it up here instead."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Thread(_Prefetch):
    """The import in a thread of this process; the lookup after it."""

    def __init__(self) -> None:
        self._thread = threading.Thread(target=_prepare, name="import keyring",
                                        daemon=True)
        self._thread.start()

    def look_up(self, host: str, user: str):
        self._thread.join()
        return None

    def close(self) -> None:
        self._thread.join()


class _Child(_Prefetch):
    """A forked child: prepares, waits for one request (host and user, as
    JSON, up to EOF), answers it (JSON) and exits.  A closed request pipe
    without a request ends it."""

    def __init__(self, pid: int, requests: int, replies: int) -> None:
        self._pid, self._requests, self._replies = pid, requests, replies

    @classmethod
    def start(cls) -> _Prefetch:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        # What the garbage collector would visit in the child, it would copy
        # (a page written to is copied): frozen, the child leaves it alone.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            for fd in (request_read, request_write, reply_read, reply_write):
                os.close(fd)
            return _Thread()
        if pid == 0:  # pragma: no cover (the child; its answer is tested)
            try:
                os.close(request_write)
                os.close(reply_read)
                _serve(request_read, reply_write)
            finally:
                os._exit(0)
        gc.unfreeze()
        os.close(request_read)
        os.close(reply_write)
        trace.mutter("imapclient: keyring prepared in child process %d", pid)
        return cls(pid, request_write, reply_read)

    def look_up(self, host: str, user: str):
        try:
            _write_all(self._requests, json.dumps({"host": host, "user": user}))
            os.close(self._requests)
            self._requests = -1
            reply = json.loads(_read_all(self._replies))
            answer = (reply["value"], reply["state"], reply["warning"])
            if not (isinstance(answer[0], (str, type(None)))
                    and isinstance(answer[1], str)
                    and isinstance(answer[2], (str, type(None)))):
                raise ValueError("not a keyring answer")
        except (OSError, ValueError, KeyError, TypeError) as e:
            trace.mutter("imapclient: the keyring helper did not answer (%s);"
                         " looking up here", type(e).__name__)
            answer = None
        finally:
            self.close()
        return answer

    def close(self) -> None:
        for fd in (self._requests, self._replies):
            if fd >= 0:
                os.close(fd)
        self._requests = self._replies = -1
        if self._pid:
            _end(self._pid)
            self._pid = 0


def _end(pid: int) -> None:
    """Reap the child; one still at work (an unused one still importing,
    or one stuck in a backend while this process is interrupted) is
    killed first: it holds nothing that needs saving."""
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _serve(requests: int, replies: int) -> None:  # pragma: no cover (child)
    """The child's work: Ctrl-C and the parent's signals end it at once."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    _prepare()
    request = _read_all(requests)
    if not request:
        return  # the command needed no lookup
    asked = json.loads(request)
    value, state, warning = looked_up(asked["host"], asked["user"])
    _write_all(replies, json.dumps({"value": value, "state": state,
                                    "warning": warning}))


def _write_all(fd: int, text: str) -> None:
    data = memoryview(text.encode("utf-8"))
    while data:
        data = data[os.write(fd, data):]


def _read_all(fd: int) -> str:
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks).decode("utf-8")
        size += len(chunk)
        if size > MAX_REPLY:
            raise ValueError("the keyring helper said too much")
        chunks.append(chunk)
