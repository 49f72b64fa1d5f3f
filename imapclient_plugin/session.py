"""Connects to the IMAP server, secures the link and logs in.

Every network or protocol fault becomes one of the plugin's errors (see
``translated_errors``), so ``brz`` prints a sentence, not a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
from typing import Callable, Iterator, NamedTuple, Optional, Sequence, Union

import imapclient
from imapclient import exceptions as imap_exceptions

from breezy import trace

from . import (capability_cache, credentials, early_connection, errors, fast_commands,
               keyring_lookup, protocol_trace)
from .credentials import Password
from .errors import printable
from .settings import IMAPSettings
from .tls_context import tls_context

# imapclient logs every line sent, LOGIN included, at DEBUG level.
logging.getLogger("imapclient.imaplib").setLevel(logging.WARNING)


def connect(settings: IMAPSettings, remember: bool = True,
            before_greeting: Optional[Callable[[imapclient.IMAPClient], None]] = None,
            talk_first: Optional["TalkFirst"] = None) -> imapclient.IMAPClient:
    """Open the connection; with ``starttls`` upgrade it before anything else.
    A greeting without capabilities is taken to mean those remembered from
    the last connection (``capability_cache``), unless ``remember`` is off.
    ``before_greeting`` runs once connected (past the TLS handshake for
    imaps), while the greeting is on its way; then ``talk_first``, where
    the server's greeting was found to say nothing we need."""
    if settings.tunnel:
        return _open_tunnel(settings)
    warn_if_plaintext(settings)
    trace.mutter("imapclient: connecting to %s port %d (%s)",
                 settings.host, settings.port, settings.security)
    stored = capability_cache.remembered(settings)
    known = stored if remember else None
    if talk_first is not None and (known is None or not known.greeting_is_silent):
        talk_first = None

    def greeting_due(client: imapclient.IMAPClient) -> None:
        fast_commands.no_delay(client)
        _trace_conversation(client)
        if before_greeting is not None:
            before_greeting(client)
        if talk_first is not None:
            talk_first(client)

    opened = early_connection.take(settings)
    try:
        with translated_errors(settings, connecting=True):
            client = fast_commands.Client(
                settings.host,
                port=settings.port,
                ssl=settings.security == "imaps",
                ssl_context=_tls_context_of(settings, opened),
                timeout=settings.timeout,
                remembered_capabilities=known.capabilities if known else None,
                before_greeting=greeting_due,
                opened=opened,
            )
    finally:
        if opened is not None:  # closed if the client did not take it
            opened.abandon()
    with translated_errors(settings, connecting=True):
        source = client._imap.capabilities_source
        if source == "remembered":
            trace.mutter("imapclient: capabilities remembered: %s",
                         printable(" ".join(client._imap.capabilities)))
        if client._imap.state == "NONAUTH":
            capability_cache.remember(settings, client.capabilities(),
                                      greeting_listed=source == "greeting", before=stored)
        if settings.security == "starttls":
            _start_tls(client, settings)
    return client


def _tls_context_of(settings: IMAPSettings,
                    opened: Optional[early_connection.Opening]) -> Optional[ssl.SSLContext]:
    """For imaps, the TLS context: the early connection's, if it made one."""
    if settings.security != "imaps":
        return None
    if opened is not None and opened.context is not None:
        return opened.context
    return tls_context(settings)


def _open_tunnel(settings: IMAPSettings) -> imapclient.IMAPClient:
    """IMAP over the imap_tunnel command's standard input and output."""
    trace.mutter("imapclient: tunnel %s", settings.tunnel)
    try:
        with translated_errors(settings, connecting=True):
            return fast_commands.Client(settings.tunnel, ssl=False, stream=True,
                                        timeout=settings.timeout,
                                        before_greeting=_trace_conversation)
    except errors.IMAPDraftError as e:
        raise errors.TunnelFailed(command=settings.tunnel,
                                  reason=getattr(e, "reason", str(e)))


def _trace_conversation(client: imapclient.IMAPClient) -> None:
    """With -Dimap, log the conversation from the greeting on."""
    if protocol_trace.enabled():
        protocol_trace.ConversationTrace(client._imap)


def warn_if_plaintext(settings: IMAPSettings) -> None:
    """Plaintext is the user's explicit choice; still say so off loopback."""
    if settings.security == "none" and not settings.is_loopback:
        trace.warning(
            "imap_security=none: the password and draft go to %s unencrypted.",
            settings.host,
        )


class Login(NamedTuple):
    client: imapclient.IMAPClient
    password: Optional[Password]  # None when PREAUTH
    method: str
    pending: fast_commands.Pending  # the commands sent with the login (``then``)


# Commands to send with the login, or what gives them once connected.
Then = Union[Sequence[bytes], Callable[[imapclient.IMAPClient], Sequence[bytes]]]


@contextlib.contextmanager
def logged_in(
    settings: IMAPSettings,
    on_connected: Optional[Callable[[imapclient.IMAPClient], None]] = None,
    password: Optional[Password] = None,
    then: Then = (),
) -> Iterator[Login]:
    """A logged-in connection, the password and the login method used;
    closed afterwards.  ``on_connected`` sees the client before login.

    Given ``password``, logs in with it: no lookup, no offer to store it.
    Otherwise the stored password (keyring, a password or token command,
    authentication.conf) is read once connected, and over TLS once the
    certificate is checked: nothing is looked up, or unlocked, for a server
    that is down or not the right one.  Without STARTTLS that is while the
    greeting is on its way, so the lookup adds no time of its own.  Only a
    missing password is asked for, once the server has greeted.  (A tunnel
    may be preauthenticated: it is looked up only if needed.)
    The commands ``then`` (or ``then(client)``, once connected) are sent
    as soon as the login's OK is read; the Login has their replies.  Where
    the greeting says nothing needed, the login need not wait for it
    (``TalkFirst``).
    """
    lookup = (_StoredPassword(settings) if password is None and not settings.tunnel
              else None)
    talk_first = (TalkFirst(settings, password, lookup, then)
                  if on_connected is None and settings.auth == "password" else None)
    try:
        try:
            login = _log_in(settings, on_connected, password, lookup, then, talk_first)
        except UNANSWERED as e:
            if talk_first is None or talk_first.sent is None or talk_first.answered:
                raise
            trace.mutter("imapclient: the login sent before the greeting went"
                         " unanswered (%s); waiting for the greeting from now on", e)
            capability_cache.await_greeting(settings)
            login = _log_in(settings, on_connected, password, lookup, then, None)
    finally:
        keyring_lookup.finish()  # looked up, or never to be
    try:
        yield login
    finally:
        close(login.client)


def _log_in(settings: IMAPSettings,
            on_connected: Optional[Callable[[imapclient.IMAPClient], None]],
            given: Optional[Password], lookup: Optional["_StoredPassword"],
            then: Then, talk_first: Optional["TalkFirst"]) -> Login:
    """Connect and log in (see ``logged_in``); closed again on failure."""
    password, keyring_state = given, "unused"

    def connected(client: imapclient.IMAPClient) -> Sequence[bytes]:
        """Show ``client`` to ``on_connected``; the commands for its login."""
        if on_connected is not None:
            on_connected(client)
        return then(client) if callable(then) else then

    # With STARTTLS the greeting comes before the certificate is checked.
    early = lookup if settings.security != "starttls" else None
    client = connect(settings, before_greeting=early, talk_first=talk_first)
    talked = talk_first if talk_first is not None and talk_first.sent else None
    try:
        if lookup is not None:
            password, keyring_state = lookup.result()
        commands = () if talked else connected(client)
        if is_preauthenticated(client):
            with translated_errors(settings):
                pending = fast_commands.send_pipelined(
                    client, talked.sent.then if talked else commands)
            return Login(client, None, PREAUTH, pending)
        if password is None and settings.tunnel:
            password, keyring_state = credentials.stored_password(settings)
        if password is None:
            password = credentials.prompted_password(settings, keyring_state)
        try:
            method, pending = login(client, settings, password, commands, talked)
        except errors.LoginRefused:
            if client._imap.capabilities_source != "remembered" and not talked:
                raise
            # Were they out of date?  Asked on a new connection (what was
            # sent behind the refused login leaves this one unclear).
            remembered = set(talked.presumed if talked else client._imap.capabilities)
            close(client)
            client = connect(settings, remember=False)
            if set(client._imap.capabilities) == remembered:
                raise
            trace.mutter("imapclient: the remembered capabilities were stale")
            method, pending = login(client, settings, password, connected(client))
        if given is None:
            credentials.offer_to_store(settings, password)
        return Login(client, password, method, pending)
    except BaseException:
        close(client)
        raise


# How a server that will not hear a client before its greeting may answer
# one that talks first (``TalkFirst``).
UNANSWERED = (errors.ConnectionLost, errors.ConnectionFailed,
              errors.ConnectionTimedOut, errors.ServerRefused)


class TalkFirst:
    """The login (AUTHENTICATE PLAIN with SASL-IR) and the commands behind
    it, sent before the greeting is read: in the TLS handshake's last turn
    over imaps.  Where the greeting lists no capabilities (GMail), waiting
    for it tells nothing the remembered ones do not, and costs a round trip.

    Only with the password at hand, SASL-IR and AUTH=PLAIN remembered, and
    commands that cannot be misread however the login ends: a refused
    login has them refused as not authenticated, and no draft goes with
    its command while the capabilities are remembered ones
    (``fast_commands.append_command``): it waits for the server, logged in,
    to ask for it.  Over TLS this is once the certificate is checked, as
    for any login.  Should the login go unanswered (a greeting that is not
    OK, a closed connection: a server that will not hear a client before
    greeting it), ``logged_in`` connects again, waits for the greeting, and
    remembers to wait for this server's (``capability_cache``).
    """

    def __init__(self, settings: IMAPSettings, given: Optional[Password],
                 lookup: Optional["_StoredPassword"], then: Then) -> None:
        self._settings, self._given, self._lookup = settings, given, lookup
        self._then = then
        self.sent: Optional[fast_commands.SentLogin] = None
        self.presumed: tuple = ()
        self.answered = False

    def __call__(self, client: imapclient.IMAPClient) -> None:
        password = self._given or (self._lookup.found() if self._lookup else None)
        if (password is None or not _sendable(password.value, PLAIN_ONE_TURN)
                or not client._imap.presume_remembered()
                or not fast_commands.can_login_in_one_turn(client)):
            return
        self.presumed = client._imap.capabilities
        commands = self._then(client) if callable(self._then) else self._then
        trace.mutter("imapclient: the greeting lists no capabilities: logging in"
                     " before it")
        self.sent = fast_commands.send_plain_login(
            client, self._settings.username, password.value, commands)

    def reply(self, client: imapclient.IMAPClient) -> fast_commands.Pending:
        """The login's reply (LoginError if refused): the commands behind it."""
        try:
            pending = fast_commands.plain_login_reply(client, self.sent)
        except imap_exceptions.LoginError:
            self.answered = True
            raise
        self.answered = True
        return pending


class _StoredPassword:
    """``credentials.stored_password``, called by ``connect`` while the
    greeting is on its way; its error, if any, is raised by ``result``
    (never inside the connection's own error handling).  keyring is
    prepared meanwhile, from when this is made if not already
    (``keyring_lookup``): nothing is looked up until the connection is made
    (and its certificate checked)."""

    def __init__(self, settings: IMAPSettings) -> None:
        self._settings = settings
        self._found: Optional[tuple[Optional[Password], str]] = None
        self._error: Optional[Exception] = None
        if not (settings.token_command or settings.password_command):
            keyring_lookup.prefetch()  # if the command has not already

    def __call__(self, client: Optional[imapclient.IMAPClient] = None) -> None:
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


def is_preauthenticated(client: imapclient.IMAPClient) -> bool:
    """The greeting was PREAUTH (a tunnel into the user's own server)."""
    return client._imap.state == "AUTH"


def _start_tls(client: imapclient.IMAPClient, settings: IMAPSettings) -> None:
    if not client.has_capability("STARTTLS"):
        client.shutdown()
        raise errors.StartTLSNotOffered(host=settings.host)
    client.starttls(tls_context(settings))


def login(
    client: imapclient.IMAPClient, settings: IMAPSettings, password: Password,
    then: Sequence[bytes] = (), talked: Optional[TalkFirst] = None,
) -> tuple[str, fast_commands.Pending]:
    """Log in, with AUTHENTICATE PLAIN where offered (quotes any user name),
    then send ``then``; return the method used (worked out first: logging in
    changes the capabilities) and the commands ``then``, replies pending.
    With ``talked``, the login and its commands went before the greeting:
    its reply is read."""
    method = PLAIN_ONE_TURN if talked else login_method(client, settings)
    _check_sendable(password.value, method, settings)
    pending = None
    with translated_errors(settings):
        if talked:
            pending = talked.reply(client)
        elif method in OAUTH2_METHODS:
            _oauth2_login(client, settings, password.value)
        elif method == PLAIN_ONE_TURN:
            pending = fast_commands.plain_login_one_turn(
                client, settings.username, password.value, then)
        elif method == PLAIN:
            client.plain_login(settings.username, password.value)
        elif settings.username.isascii() and password.value.isascii():
            client.login(_quoted(settings.username), password.value)
        else:  # imaplib sends commands in ASCII; it would crash
            raise errors.CannotSendCredentials(host=settings.host)
        # Cache what the login reply announced now: imaplib's SELECT
        # flushes it.  Nothing is asked: a round trip, and commands may be
        # in flight behind the login (a literal awaited, a LOGOUT).
        fast_commands.known_capabilities(client)
        if pending is None:
            pending = fast_commands.send_pipelined(client, then)
    if client._cached_capabilities:  # once ``then`` is on its way
        capability_cache.remember_after_login(settings, client._cached_capabilities)
    return method, pending


PREAUTH = "PREAUTH (no login needed)"
PLAIN_ONE_TURN = "AUTHENTICATE PLAIN with SASL-IR"
PLAIN = "AUTHENTICATE PLAIN"
LOGIN = "LOGIN"


OAUTH2_METHODS = {"AUTHENTICATE XOAUTH2", "AUTHENTICATE OAUTHBEARER"}


def login_method(client: imapclient.IMAPClient, settings: IMAPSettings) -> str:
    """How ``login`` will authenticate with this server."""
    if settings.auth != "password":
        return "AUTHENTICATE " + settings.auth.upper()
    if fast_commands.can_login_in_one_turn(client):
        return PLAIN_ONE_TURN
    if client.has_capability("AUTH=PLAIN"):
        return PLAIN
    if client.has_capability("LOGINDISABLED"):
        offered = [c.decode("ascii", "replace") for c in client.capabilities()
                   if c.upper().startswith(b"AUTH=")]
        raise errors.NoLoginMethod(host=settings.host, offered=printable(
            " ".join(offered) or "no SASL mechanism at all"))
    return LOGIN


# What each method cannot carry: a line break ends a LOGIN command (and
# would start another), NUL separates PLAIN's fields, ^A XOAUTH2's.
UNSENDABLE = {LOGIN: "\r\n\x00", PLAIN: "\x00", PLAIN_ONE_TURN: "\x00"}
OAUTH2_UNSENDABLE = "\x01\r\n\x00"


def _sendable(secret: str, method: str) -> bool:
    unsendable = OAUTH2_UNSENDABLE if method in OAUTH2_METHODS else UNSENDABLE[method]
    return not any(c in unsendable for c in secret)


def _check_sendable(secret: str, method: str, settings: IMAPSettings) -> None:
    if not _sendable(secret, method):
        what = "access token" if method in OAUTH2_METHODS else "password"
        raise errors.UnsendableSecret(what=what, user=settings.username,
                                      host=settings.host, method=method)


def _oauth2_login(client: imapclient.IMAPClient, settings: IMAPSettings,
                  token: str) -> None:
    """SASL XOAUTH2 or OAUTHBEARER (RFC 7628), answering an error challenge
    as the mechanism requires so that the server ends with its NO."""
    mechanism = settings.auth.upper()
    if not client.has_capability("AUTH=" + mechanism):
        raise errors.TokenRefused(host=settings.host, user=settings.username,
                                  auth=settings.auth, reason="it does not offer"
                                  " AUTH=%s" % mechanism)
    if mechanism == "XOAUTH2":
        initial = "user=%s\x01auth=Bearer %s\x01\x01" % (settings.username, token)
        answer_to_error = b""
    else:
        initial = "n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01" % (
            settings.username, settings.host, settings.port, token)
        answer_to_error = b"\x01"
    error_challenges: list[bytes] = []

    def respond(challenge: bytes) -> bytes:
        if challenge:
            error_challenges.append(challenge)
            return answer_to_error
        return initial.encode("utf-8")

    try:
        client.sasl_login(mechanism, respond)
    except imap_exceptions.LoginError as e:
        detail = " (%s)" % printable(error_challenges[-1].decode("utf-8", "replace")) \
            if error_challenges else ""
        raise errors.TokenRefused(host=settings.host, user=settings.username,
                                  auth=settings.auth, reason=server_text(e) + detail)


def close(client: imapclient.IMAPClient) -> None:
    """Log out; the draft is already stored, so failures here do not matter."""
    try:
        fast_commands.logout_without_waiting(client)
    except Exception as e:
        trace.mutter("imapclient: logout failed: %s", e)


def _quoted(text: str) -> str:
    # imaplib sends the LOGIN user name as an atom; quote it ourselves.
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


@contextlib.contextmanager
def translated_errors(
    settings: IMAPSettings, connecting: bool = False, action: str = "the request",
    client: Optional[imapclient.IMAPClient] = None,
) -> Iterator[None]:
    """Turn socket, TLS and IMAP exceptions into the plugin's errors.

    With ``client``, a lost connection reports the server's BYE, if any.
    """
    host, port = settings.host, settings.port
    try:
        yield
    except errors.IMAPDraftError:
        raise
    except socket.gaierror as e:
        raise errors.ServerNotFound(host=host, reason=e.strerror or str(e))
    except UnicodeError as e:
        if connecting:  # the host name has no IDNA form
            raise errors.ServerNotFound(host=host, reason=str(e))
        raise errors.ServerGarbled(host=host, action=action, reason=str(e))
    except socket.timeout:  # TimeoutError from Python 3.10 on
        raise errors.ConnectionTimedOut(host=host, port=port, timeout=settings.timeout)
    except ssl.SSLError as e:
        raise _tls_failed(e, settings)
    except imap_exceptions.LoginError as e:
        raise errors.LoginRefused(
            host=host, user=settings.username, reason=server_text(e))
    except imap_exceptions.IMAPClientAbortError as e:
        if "timed out" in str(e):
            raise errors.ConnectionTimedOut(host=host, port=port, timeout=settings.timeout)
        raise errors.ConnectionLost(host=host, reason=_bye(client) or server_text(e))
    except imap_exceptions.ProtocolError as e:
        raise errors.ServerGarbled(host=host, action=action, reason=server_text(e))
    except imap_exceptions.IMAPClientError as e:
        raise errors.ServerRefused(host=host, action=action, reason=server_text(e))
    except (ValueError, IndexError, TypeError, KeyError, RecursionError) as e:
        # a reply imapclient misread, or one nested past all reason
        raise errors.ServerGarbled(host=host, action=action,
                                   reason=printable(str(e)) or type(e).__name__)
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
        if connecting:
            raise errors.ConnectionFailed(host=host, port=port, reason=reason)
        raise errors.ConnectionLost(host=host, reason=reason)


BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""")


def _bye(client: Optional[imapclient.IMAPClient]) -> Optional[str]:
    """The server's BYE text: imaplib keeps it but reports only the EOF."""
    if client is None:
        return None
    said = client._imap.untagged_responses.get("BYE")
    if not said:
        return None
    return "the server said BYE: %s" % printable(said[-1].decode("utf-8", "replace"))


def server_text(e: Exception) -> str:
    """The server's words from an imaplib/imapclient exception."""
    text = str(e)
    for prefix in ("append failed: ", "create failed: ", "select failed: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    quoted_bytes = BYTES_REPR.match(text)  # str() of a bytes response
    if quoted_bytes:
        text = quoted_bytes.group(2)
    return printable(text.strip().rstrip(".")) or type(e).__name__


PROTOCOL_HINT = (
    "Check that imap_security (%s) and the port in imap_server match what the"
    " server offers (imaps: TLS on 993; starttls: 143)."
)
WRONG_NAME_HINT = "Set imap_server to a host name the certificate is issued for."
UNTRUSTED_HINT = (
    "If the server uses a private or self-signed CA, set imap_ca_certs to a"
    " PEM file with that CA's certificate."
)
# Advice by OpenSSL's X509_V_ERR_* code.
CERTIFICATE_HINTS = {
    10: "The server's certificate must be renewed by its administrator.",
    18: UNTRUSTED_HINT,
    19: UNTRUSTED_HINT,
    20: UNTRUSTED_HINT,
    21: UNTRUSTED_HINT,
    62: WRONG_NAME_HINT,
    64: WRONG_NAME_HINT,
}
OTHER_CERTIFICATE_HINT = "Check the server's certificate, or imap_ca_certs."


def _tls_failed(e: ssl.SSLError, settings: IMAPSettings) -> errors.TLSFailed:
    """The error for a failed handshake, with the advice that fits it."""
    if isinstance(e, ssl.SSLCertVerificationError):
        reason = "its certificate was refused (%s)" % e.verify_message
        hint = CERTIFICATE_HINTS.get(e.verify_code, OTHER_CERTIFICATE_HINT)
    else:
        reason, hint = e.reason or str(e), PROTOCOL_HINT % settings.security
    return errors.TLSFailed(host=settings.host, port=settings.port,
                            reason=reason, hint=hint)
