"""The system keyring: the one module that imports ``keyring``.

It chooses the backend once and remembers the choice: keyring's own
choice imports every installed backend and asks each whether it can run
here (the macOS one loads libraries through ctypes, the Secret Service one
opens D-Bus), on every ``brz send``.  The backend chosen is kept in
``<Breezy cache dir>/imapclient/keyring-backend.json`` with what that
choice depends on: the Python and keyring in use, the installed packages
(each ``sys.path`` directory's mtime changes when one is added or
removed), the D-Bus session and the desktop.  When any of them changes, or
the remembered backend can no longer run, keyring chooses again.  A
backend the user chose (``PYTHON_KEYRING_BACKEND``, keyringrc.cfg) is
left to keyring.

Passwords pass through here and go nowhere else: not into a log, nor into
an error (a backend that quotes one has it replaced).
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Optional

from breezy import trace

from . import cache_files, errors
from .errors import printable

CACHE_FILE = "keyring-backend.json"
# What makes keyring choose another backend, besides the installed ones.
ENVIRONMENT = ("DBUS_SESSION_BUS_ADDRESS", "XDG_CURRENT_DESKTOP", "DISPLAY")
KEYRING_MISSING = (
    "no keyring backend is available (run a Secret Service such as"
    " gnome-keyring, or pip install keyrings.alt)"
)
NO_PASSWORD = "none in the keyring"
# Backends that ask for a master password of their own on every use.
PROMPTING = ("keyrings.alt.file.EncryptedKeyring",)
PROMPTING_NOTE = (
    "The keyring (%s) asks for its own master password on every send; a"
    " Secret Service, or imap_password_command, does not (brz imap-check)."
)


def look_up(host: str, user: str) -> tuple[Optional[str], str]:
    """(password or None, what the keyring said, for the error message).

    A broken backend is a warning, not an error: the other sources follow."""
    try:
        import keyring
        from keyring.errors import KeyringLocked, NoKeyringError

        choose_backend()
        if backend_name() in PROMPTING:
            trace.note(PROMPTING_NOTE, backend_name())
        return keyring.get_password(host, user), NO_PASSWORD
    except NoKeyringError:
        return None, KEYRING_MISSING
    except KeyringLocked:
        return None, "the keyring is locked (unlock it, then send again)"
    except Exception as e:  # not installed, or broken: must not stop the send
        state = "the keyring failed (%s: %s)" % (type(e).__name__, printable(str(e)))
        trace.warning("%s; trying the other password sources.",
                      state[0].upper() + state[1:])
        return None, state


def usable_backend() -> Optional[str]:
    """The name of the backend that would keep a password; None where
    there is none (keyring's ``fail.Keyring``, or keyring missing)."""
    try:
        from keyring.backends import fail

        choose_backend()
        name = backend_name()
    except Exception:
        return None
    return None if name == "%s.Keyring" % fail.__name__ else name


def backend_name() -> str:
    """module.Class of the backend in use (chosen already)."""
    import keyring

    backend = keyring.get_keyring()
    return "%s.%s" % (type(backend).__module__, type(backend).__qualname__)


def store(host: str, user: str, password: str) -> None:
    """Keep ``password``; NoUsableKeyring, with the backend's reason, if not."""
    import keyring

    try:
        choose_backend()
        keyring.set_password(host, user, password)
    except Exception as e:
        raise errors.NoUsableKeyring(reason=_reason(e, password))


def delete(host: str, user: str) -> bool:
    """Delete the password; False if there was none."""
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        choose_backend()
        keyring.delete_password(host, user)
    except PasswordDeleteError:
        return False
    except Exception as e:
        raise errors.NoUsableKeyring(reason=_reason(e))
    return True


def _reason(e: Exception, password: str = "") -> str:
    """The backend's own words, never the password, were it to quote it."""
    text = str(e).replace(password, "<password>") if password else str(e)
    return "%s: %s" % (type(e).__name__, printable(text) or "no reason given")


def choose_backend() -> None:
    """Set this process's keyring backend, before the first keyring call."""
    import keyring.core

    # keyring keeps its backend here once set; there is no public way to
    # ask without choosing one.
    if getattr(keyring.core, "_keyring_backend", None) is not None:
        return
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return  # keyring loads that one alone
    configured = keyring.core.load_config()
    if configured is not None:
        keyring.set_keyring(configured)
        return
    fingerprint = _fingerprint(keyring.core.__file__)
    record = cache_files.load(CACHE_FILE)
    if record.get("fingerprint") == fingerprint and _use(record.get("backend")):
        return
    _remember(keyring.get_keyring(), fingerprint)


def _use(name: object) -> bool:
    """Set the backend called ``name`` if it can still run here."""
    import keyring.core

    if not isinstance(name, str):
        return False
    try:
        backend = keyring.core.load_keyring(name)
        if backend.priority <= 0:
            return False
    except Exception as e:  # gone, or cannot run here: keyring chooses
        trace.mutter("imapclient: remembered keyring backend %s: %s",
                     name, type(e).__name__)
        return False
    keyring.set_keyring(backend)
    return True


def _remember(backend, fingerprint: str) -> None:
    """Remember one backend that keyring chose (not a chain of several, or
    the one that stores nothing: they are cheap to find again)."""
    from keyring.backends import chainer, fail

    if isinstance(backend, (chainer.ChainerBackend, fail.Keyring)):
        return
    name = "%s.%s" % (type(backend).__module__, type(backend).__qualname__)
    try:
        cache_files.save(CACHE_FILE, {"fingerprint": fingerprint, "backend": name})
    except OSError as e:  # costs keyring's choice next time, nothing more
        trace.mutter("imapclient: cannot save %s: %s", cache_files.path(CACHE_FILE), e)


def _fingerprint(keyring_file: str) -> str:
    parts = [sys.executable, sys.version, keyring_file]
    for directory in sys.path:
        if not directory:  # the working directory: changes all the time
            continue
        try:
            parts.append("%s %d" % (directory, os.stat(directory).st_mtime_ns))
        except OSError:
            continue
    parts += ["%s=%s" % (name, os.environ.get(name, "")) for name in ENVIRONMENT]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()
