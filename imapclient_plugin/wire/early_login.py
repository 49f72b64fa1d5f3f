"""The login sent before the greeting is read, where the greeting is
known to say nothing needed (GMail's lists no capabilities): over imaps it
goes in the TLS handshake's last turn, once the certificate is checked,
and saves the round trip the greeting would cost.

Only with the password at hand, SASL-IR and AUTH=PLAIN remembered
(``capability_cache``), and nothing behind the login before its reply.
Should it go unanswered (a greeting that is not OK, a closed connection:
a server that will not hear a client before greeting it), the caller
connects again, waits for the greeting, and remembers to wait for this
server's (``capability_cache.await_greeting``).
"""

from __future__ import annotations

from typing import Callable, Optional

import imapclient

from breezy import trace

from .. import capability_cache, errors
from ..credentials import Password
from ..settings import IMAPSettings
from . import login, pipelining, protocol

# How a server that will not hear a client before its greeting may answer
# one that talks first.
UNANSWERED = (errors.ConnectionLost, errors.ConnectionFailed,
              errors.ConnectionTimedOut, errors.ServerRefused)


def wanted(settings: IMAPSettings) -> bool:
    """Whether this server's greeting is known to say nothing needed."""
    known = capability_cache.remembered(settings)
    return (settings.auth == "password" and known is not None
            and known.greeting_is_silent)


class EarlyLogin:
    """Called once connected, before the greeting is read, with the client
    and the password (``password()``: None where there is none at hand)."""

    def __init__(self, settings: IMAPSettings,
                 password: Callable[[], Optional[Password]]) -> None:
        self._settings, self._password = settings, password
        self.tag: Optional[bytes] = None
        self.answered = False

    def __call__(self, client: imapclient.IMAPClient) -> None:
        password = self._password()
        if (password is None or not login.sendable(password.value, login.PLAIN_ONE_TURN)
                or not protocol.link(client).presume_remembered()
                or not protocol.can_login_in_one_turn(client)):
            return
        trace.mutter("imapclient: the greeting lists no capabilities: logging in"
                     " before it")
        self.tag = pipelining.send_plain_login(client, self._settings.username,
                                               password.value)

    def reply(self, client: imapclient.IMAPClient) -> None:
        """The login's reply: LoginError if refused."""
        try:
            pipelining.plain_login_reply(client, self.tag)
        finally:
            self.answered = True
