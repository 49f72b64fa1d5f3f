"""Logging in: the method a server offers, and what each can carry."""

from __future__ import annotations

import base64

import imapclient
from imapclient import exceptions as imap_exceptions

from .. import errors
from ..credentials import Password
from ..errors import printable
from ..settings import IMAPSettings
from . import faults, pipelining, protocol


def login(client: imapclient.IMAPClient, settings: IMAPSettings,
          password: Password) -> str:
    """Log in, with AUTHENTICATE PLAIN where offered (quotes any user
    name); the method used (worked out first: logging in changes the
    capabilities)."""
    method = login_method(client, settings)
    _check_sendable(password.value, method, settings)
    with faults.translated(settings, action=method):
        if method in OAUTH2_METHODS:
            _oauth2_login(client, settings, password.value)
        elif method == PLAIN_ONE_TURN:
            pipelining.plain_login_one_turn(client, settings.username, password.value)
        elif method == PLAIN:
            client.plain_login(settings.username, password.value)
        elif settings.username.isascii() and password.value.isascii():
            client.login(_quoted(settings.username), password.value)
        else:  # imaplib sends commands in ASCII; it would crash
            raise errors.CannotSendCredentials(host=settings.host)
        # Cache what the login reply announced now (imaplib's SELECT
        # flushes it): asking would cost a round trip.
        protocol.known_capabilities(client)
    return method


PREAUTH = "PREAUTH (no login needed)"
PLAIN_ONE_TURN = "AUTHENTICATE PLAIN with SASL-IR"
PLAIN = "AUTHENTICATE PLAIN"
LOGIN = "LOGIN"


OAUTH2_METHODS = {"AUTHENTICATE XOAUTH2", "AUTHENTICATE OAUTHBEARER"}


def login_method(client: imapclient.IMAPClient, settings: IMAPSettings) -> str:
    """How ``login`` will authenticate with this server."""
    if settings.auth != "password":
        return "AUTHENTICATE " + settings.auth.upper()
    if protocol.can_login_in_one_turn(client):
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


def sendable(secret: str, method: str) -> bool:
    unsendable = OAUTH2_UNSENDABLE if method in OAUTH2_METHODS else UNSENDABLE[method]
    return not any(c in unsendable for c in secret)


def _check_sendable(secret: str, method: str, settings: IMAPSettings) -> None:
    if not sendable(secret, method):
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
                                  auth=settings.auth, reason=faults.server_text(e) + detail)


def sent_forms(settings: IMAPSettings, secret: str) -> list[str]:
    """The password or token as any login method sends it, each form a
    server could say back in a refusal: to be kept out of errors and logs."""
    plain = "\0%s\0%s" % (settings.username, secret)
    xoauth2 = "user=%s\x01auth=Bearer %s\x01\x01" % (settings.username, secret)
    bearer = "n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01" % (
        settings.username, settings.host, settings.port, secret)
    encoded = [base64.b64encode(form.encode("utf-8")).decode("ascii")
               for form in (plain, xoauth2, bearer, secret)]
    return [secret, _quoted(secret)[1:-1]] + encoded + [e.rstrip("=") for e in encoded]


def _quoted(text: str) -> str:
    # imaplib sends the LOGIN user name as an atom; quote it ourselves.
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


