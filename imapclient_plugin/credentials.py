"""Finds the IMAP password: keyring, then authentication.conf, then a prompt.

A missing or locked keyring is not an error, only a source with nothing in
it.  The password lives in a ``Password`` whose repr hides it, and is never
logged or written anywhere but the keyring.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from breezy import config as _config
from breezy import trace, ui

from . import errors, system_keyring
from .errors import printable
from .settings import IMAPSettings
from .unsent import Terminated

KEYRING = "keyring"
AUTHENTICATION_CONF = "authentication.conf"
PROMPT = "prompt"
COMMAND = "imap_password_command"
TOKEN_COMMAND = "imap_oauth2_token_command"
AUTH_SCHEME = "imap"


@dataclasses.dataclass(frozen=True)
class Password:
    """A password and where it came from."""

    value: str = dataclasses.field(repr=False)
    source: str


def stored_password(settings: IMAPSettings) -> tuple[Optional[Password], str]:
    """The password from the keyring or authentication.conf, if any, and
    what the keyring said (for the error if no password is found at all).

    Never prompts, so it can run before connecting.  imap_password_command,
    when set, is the only source besides the prompt.
    """
    if settings.token_command:
        value = _from_command("imap_oauth2_token_command", settings.token_command,
                              "access token", settings.timeout)
        return Password(value, TOKEN_COMMAND), "unused"
    if settings.password_command:
        value = _from_command("imap_password_command", settings.password_command,
                              "password", settings.timeout)
        source, keyring_state = COMMAND, "unused"
    else:
        value, keyring_state = system_keyring.look_up(settings.host, settings.username)
        source = KEYRING
    if not value:
        value, source = _from_authentication_conf(settings), AUTHENTICATION_CONF
    if not value:
        return None, keyring_state
    trace.mutter("imapclient: password for %s from %s", settings.username, source)
    return Password(value, source), keyring_state


def prompted_password(settings: IMAPSettings, keyring_state: str) -> Password:
    """Ask for the password; NoPassword if none is given."""
    value = ask_password(settings)
    if not value:
        raise errors.NoPassword(
            host=settings.host, user=settings.username, keyring=keyring_state,
            advice=errors.WITHOUT_KEYRING if system_keyring.usable_backend() is None
            else errors.WITH_KEYRING)
    return Password(value, PROMPT)


def offer_to_store(settings: IMAPSettings, password: Password) -> None:
    """After a login with a typed password, offer to keep it in the keyring."""
    if password.source != PROMPT or system_keyring.usable_backend() is None:
        return
    if not ui.ui_factory.get_boolean(
        "Store the password for %s on %s in the keyring"
        % (settings.username, settings.host)
    ):
        return
    try:
        system_keyring.store(settings.host, settings.username, password.value)
    except errors.NoUsableKeyring as e:  # the draft is stored anyway
        trace.warning("Could not store the password in the keyring (%s).", e.reason)
    else:
        trace.note("Password stored in the keyring.")


def _from_command(option: str, command: str, what: str, timeout: float) -> str:
    """The first line the command prints; its output is never logged."""
    import subprocess

    try:
        done = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise errors.SecretCommandFailed(option=option, command=command, what=what,
                                         reason="no answer in %g seconds" % timeout)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise errors.SecretCommandFailed(
            option=option, command=command, what=what,
            reason="exit status %d%s" % (done.returncode,
                                         ", " + printable(said[0][:200]) if said else ""))
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0]:
        raise errors.SecretCommandFailed(option=option, command=command, what=what,
                                         reason="it printed nothing")
    return lines[0]


def _from_authentication_conf(settings: IMAPSettings):
    credentials = _config.AuthenticationConfig().get_credentials(
        AUTH_SCHEME, settings.host, port=settings.port, user=settings.username
    )
    if credentials is None:
        return None
    return credentials.get("password")


def ask_password(settings: IMAPSettings) -> Optional[str]:
    """Prompt through Breezy's UI; None at end of input."""
    try:
        return ui.ui_factory.get_password(
            "IMAP password for %(user)s on %(host)s",
            user=settings.username,
            host=settings.host,
        )
    except EOFError:  # no terminal and nothing on stdin
        return None
    except Terminated as e:  # SIGTERM, SIGHUP: nothing has been sent yet
        e.at_the_prompt = True
        raise
