"""Opening the door: connect (TCP, TLS, STARTTLS or a tunnel), log in, and
hand over a ``mailbox.Connection`` that holds its settings.

The password is looked up once connected, and over TLS once the
certificate is checked: nothing is looked up, or unlocked, for a server
that is down or not the right one.  Without STARTTLS that is while the
greeting is on its way, so the lookup adds no time of its own.  Only a
missing password is asked for, once the server has greeted.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterator, Optional

import imapclient

from breezy import trace

from .. import capability_cache, credentials, errors
from ..credentials import Password
from ..errors import printable
from ..settings import IMAPSettings
from . import conversation_trace, early_login, faults, login, pipelining, protocol, transport
from .mailbox import Connection

# imapclient logs every line sent, LOGIN included, at DEBUG level.
logging.getLogger("imapclient.imaplib").setLevel(logging.WARNING)

OnConnected = Callable[[transport.LinkFacts], None]


@contextlib.contextmanager
def logged_in(settings: IMAPSettings, on_connected: Optional[OnConnected] = None,
              password: Optional[Password] = None) -> Iterator[Connection]:
    """A logged-in connection, closed afterwards.  ``on_connected`` is
    told of the link before login.  Given ``password``, logs in with it:
    no lookup, no offer to store it."""
    connection = _log_in(settings, on_connected, password)
    try:
        yield connection
    finally:
        connection.close()


def _log_in(settings: IMAPSettings, on_connected: Optional[OnConnected],
            given: Optional[Password]) -> Connection:
    lookup = _StoredPassword(settings) if given is None and not settings.tunnel else None
    early = (early_login.EarlyLogin(settings, lambda: given or (lookup and lookup.found()))
             if on_connected is None and early_login.wanted(settings) else None)
    try:
        return _connected_and_logged_in(settings, on_connected, given, lookup, early)
    except early_login.UNANSWERED as e:
        if early is None or early.tag is None or early.answered:
            raise
        trace.mutter("imapclient: the login sent before the greeting went"
                     " unanswered (%s); waiting for the greeting from now on", e)
        capability_cache.await_greeting(settings)
        return _connected_and_logged_in(settings, on_connected, given, lookup, None)


def _connected_and_logged_in(settings: IMAPSettings, on_connected: Optional[OnConnected],
                             given: Optional[Password], lookup: Optional["_StoredPassword"],
                             early: Optional[early_login.EarlyLogin]) -> Connection:
    def greeting_due(client: imapclient.IMAPClient) -> None:
        # With STARTTLS the greeting comes before the certificate is checked.
        if lookup is not None and settings.security != "starttls":
            lookup()
        if early is not None:
            early(client)

    client = connect(settings, before_greeting=greeting_due)
    try:
        if on_connected is not None:
            with faults.translated(settings, connecting=True):
                on_connected(transport.link_facts(protocol.link(client)))
        password, keyring_state = lookup.result() if lookup else (given, "unused")
        if protocol.link(client).state == "AUTH":  # PREAUTH: a tunnel into the user's server
            _say_step(settings, client, "(%s)" % login.PREAUTH)
            return Connection(client, settings, None, login.PREAUTH)
        if password is None and settings.tunnel:
            password, keyring_state = credentials.stored_password(settings)
        if password is None:
            password = credentials.prompted_password(settings, keyring_state)
        sent = login.sent_forms(settings, password.value)
        try:
            client, method = _logged_in_client(client, settings, password, early, sent)
        except errors.IMAPDraftError as e:  # a refusal may say the secret back
            faults.hide_secrets(e, sent)
            raise
        if given is None:
            credentials.offer_to_store(settings, password)
        _say_step(settings, client, "as %s with %s" % (settings.username, method))
        return Connection(client, settings, password, method)
    except BaseException:
        _close_client(client)
        raise


def _logged_in_client(client: imapclient.IMAPClient, settings: IMAPSettings,
                      password: Password, early: Optional[early_login.EarlyLogin],
                      sent: list[str]) -> tuple[imapclient.IMAPClient, str]:
    """Log in (or read the reply to the login sent early); where the
    capabilities were remembered ones and the login is refused, ask for
    them on a new connection: if they changed, try again.  ``sent``: what
    of the password the log must not show, should the server say it."""
    conversation_trace.hide(protocol.link(client), sent)
    try:
        if early is not None and early.tag is not None:
            with faults.translated(settings, action=login.PLAIN_ONE_TURN):
                early.reply(client)
                protocol.known_capabilities(client)
            return client, login.PLAIN_ONE_TURN
        return client, login.login(client, settings, password)
    except errors.LoginRefused:
        if protocol.link(client).capabilities_source != "remembered":
            raise
        remembered = set(protocol.link(client).capabilities)
        _close_client(client)
        client = connect(settings, remember=False)
        conversation_trace.hide(protocol.link(client), sent)
        if set(protocol.link(client).capabilities) == remembered:
            _close_client(client)
            raise
        trace.mutter("imapclient: the remembered capabilities were stale")
        return client, login.login(client, settings, password)


def _say_step(settings: IMAPSettings, client: imapclient.IMAPClient, how: str) -> None:
    """With -v: where brz is logged in, over what, and how (no protocol
    dump: that is -Dimap's)."""
    if not trace.is_verbose():
        return
    link = transport.link_facts(protocol.link(client))
    if link.peer is None:
        where = "through imap_tunnel"
    else:
        where = "to %s port %d, %s" % (settings.host, settings.port,
                                        link.tls_version or "no TLS")
    trace.note("Logged in %s %s.", where, printable(how))


def connect(settings: IMAPSettings, remember: bool = True,
            before_greeting: Optional[Callable[[imapclient.IMAPClient], None]] = None,
            ) -> imapclient.IMAPClient:
    """Open the connection; with ``starttls`` upgrade it before anything else.
    A greeting without capabilities is taken to mean those remembered from
    the last connection (``capability_cache``), unless ``remember`` is off.
    ``before_greeting`` runs once connected (past the TLS handshake for
    imaps), while the greeting is on its way."""
    if settings.tunnel:
        return _open_tunnel(settings)
    warn_if_plaintext(settings)
    trace.mutter("imapclient: connecting to %s port %d (%s)",
                 settings.host, settings.port, settings.security)
    stored = capability_cache.remembered(settings)

    def greeting_due(client: imapclient.IMAPClient) -> None:
        transport.no_delay(protocol.link(client).sock)
        _trace_conversation(client)
        if before_greeting is not None:
            before_greeting(client)

    with faults.translated(settings, connecting=True):
        client = protocol.Client(
            settings.host, port=settings.port, ssl=settings.security == "imaps",
            ssl_context=(transport.tls_context(settings)
                         if settings.security == "imaps" else None),
            timeout=settings.timeout,
            remembered_capabilities=stored.capabilities if stored and remember else None,
            before_greeting=greeting_due)
        source = protocol.link(client).capabilities_source
        if source == "remembered":
            trace.mutter("imapclient: capabilities remembered: %s",
                         printable(" ".join(protocol.link(client).capabilities)))
        if protocol.link(client).state == "NONAUTH":
            capability_cache.remember(settings, client.capabilities(),
                                      greeting_listed=source == "greeting", before=stored)
        if settings.security == "starttls":
            _start_tls(client, settings)
    return client


def _open_tunnel(settings: IMAPSettings) -> imapclient.IMAPClient:
    """IMAP over the imap_tunnel command's standard input and output."""
    trace.mutter("imapclient: tunnel %s", settings.tunnel)
    try:
        with faults.translated(settings, connecting=True):
            return protocol.Client(settings.tunnel, ssl=False, stream=True,
                                   timeout=settings.timeout,
                                   before_greeting=_trace_conversation)
    except errors.IMAPDraftError as e:
        raise errors.TunnelFailed(command=settings.tunnel,
                                  reason=getattr(e, "reason", str(e)))


def _trace_conversation(client: imapclient.IMAPClient) -> None:
    """With -Dimap, log the conversation from the greeting on."""
    if conversation_trace.enabled():
        conversation_trace.ConversationTrace(protocol.link(client))


def addresses(settings: IMAPSettings) -> list[str]:
    """The server's addresses (``brz imap-check``); ServerNotFound if none."""
    with faults.translated(settings, connecting=True):
        return transport.addresses(settings)


def warn_if_plaintext(settings: IMAPSettings) -> None:
    """Plaintext is the user's explicit choice; still say so off loopback."""
    if settings.security == "none" and not settings.is_loopback:
        trace.warning(
            "imap_security=none: the password and draft go to %s unencrypted.",
            settings.host,
        )


def _start_tls(client: imapclient.IMAPClient, settings: IMAPSettings) -> None:
    if not client.has_capability("STARTTLS"):
        client.shutdown()
        raise errors.StartTLSNotOffered(host=settings.host)
    client.starttls(transport.tls_context(settings))


class _StoredPassword:
    """``credentials.stored_password``, called by ``connect`` while the
    greeting is on its way; its error, if any, is raised by ``result``
    (never inside the connection's own error handling)."""

    def __init__(self, settings: IMAPSettings) -> None:
        self._settings = settings
        self._found: Optional[tuple[Optional[Password], str]] = None
        self._error: Optional[Exception] = None

    def __call__(self) -> None:
        if self._found is None and self._error is None:
            try:
                self._found = credentials.stored_password(self._settings)
            except Exception as e:
                self._error = e

    def found(self) -> Optional[Password]:
        """The password if one was found (its error, if any, kept for ``result``)."""
        self()
        return self._found[0] if self._found else None

    def result(self) -> tuple[Optional[Password], str]:
        self()
        if self._error is not None:
            raise self._error
        return self._found


def _close_client(client: imapclient.IMAPClient) -> None:
    try:
        pipelining.logout_without_waiting(client)
    except Exception as e:
        trace.mutter("imapclient: logout failed: %s", e)
