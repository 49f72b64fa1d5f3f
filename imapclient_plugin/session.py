"""Connects to the IMAP server, secures the link and logs in.

Every network or protocol fault becomes one of the plugin's errors (see
``translated_errors``), so ``brz`` prints a sentence, not a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from typing import Iterator

import imapclient
from imapclient import exceptions as imap_exceptions

from breezy import trace

from . import errors
from .credentials import Password
from .settings import IMAPSettings

# imapclient logs every line sent, LOGIN included, at DEBUG level.
logging.getLogger("imapclient.imaplib").setLevel(logging.WARNING)


def connect(settings: IMAPSettings) -> imapclient.IMAPClient:
    """Open the connection; with ``starttls`` upgrade it before anything else."""
    warn_if_plaintext(settings)
    trace.mutter("imapclient: connecting to %s port %d (%s)",
                 settings.host, settings.port, settings.security)
    with translated_errors(settings, connecting=True):
        client = imapclient.IMAPClient(
            settings.host,
            port=settings.port,
            ssl=settings.security == "imaps",
            ssl_context=tls_context(),
            timeout=settings.timeout,
        )
        if settings.security == "starttls":
            _start_tls(client, settings)
    return client


def warn_if_plaintext(settings: IMAPSettings) -> None:
    """Plaintext is the user's explicit choice; still say so off loopback."""
    if settings.security == "none" and not settings.is_loopback:
        trace.warning(
            "imap_security=none: the password and draft go to %s unencrypted.",
            settings.host,
        )


def tls_context() -> ssl.SSLContext:
    """Certificate and host name checked against the system CAs."""
    return ssl.create_default_context()


def _start_tls(client: imapclient.IMAPClient, settings: IMAPSettings) -> None:
    if not client.has_capability("STARTTLS"):
        client.shutdown()
        raise errors.StartTLSNotOffered(settings.host)
    client.starttls(tls_context())


def login(
    client: imapclient.IMAPClient, settings: IMAPSettings, password: Password
) -> None:
    """Log in, with AUTHENTICATE PLAIN where offered (quotes any user name)."""
    with translated_errors(settings):
        if client.has_capability("AUTH=PLAIN"):
            client.plain_login(settings.username, password.value)
        else:
            client.login(_quoted(settings.username), password.value)


def close(client: imapclient.IMAPClient) -> None:
    """Log out; the draft is already stored, so failures here do not matter."""
    try:
        client.logout()
    except Exception as e:
        trace.mutter("imapclient: logout failed: %s", e)
        with contextlib.suppress(Exception):
            client.shutdown()


def _quoted(text: str) -> str:
    # imaplib sends the LOGIN user name as an atom; quote it ourselves.
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


@contextlib.contextmanager
def translated_errors(
    settings: IMAPSettings, connecting: bool = False, action: str = "the request"
) -> Iterator[None]:
    """Turn socket, TLS and IMAP exceptions into the plugin's errors."""
    host, port = settings.host, settings.port
    try:
        yield
    except errors.IMAPDraftError:
        raise
    except socket.gaierror as e:
        raise errors.ServerNotFound(host, e.strerror or str(e))
    except TimeoutError:
        raise errors.ConnectionTimedOut(host, port, settings.timeout)
    except ssl.SSLError as e:
        raise errors.TLSFailed(host, port, settings.security, _ssl_reason(e))
    except imap_exceptions.LoginError as e:
        raise errors.LoginRefused(host, settings.username, server_text(e))
    except imap_exceptions.IMAPClientAbortError as e:
        if "timed out" in str(e):
            raise errors.ConnectionTimedOut(host, port, settings.timeout)
        raise errors.ConnectionLost(host, server_text(e))
    except imap_exceptions.IMAPClientError as e:
        raise errors.ServerRefused(host, action, server_text(e))
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
        if connecting:
            raise errors.ConnectionFailed(host, port, reason)
        raise errors.ConnectionLost(host, reason)


def server_text(e: Exception) -> str:
    """The server's words from an imaplib/imapclient exception."""
    text = str(e)
    for prefix in ("append failed: ", "create failed: ", "select failed: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.strip().rstrip(".") or type(e).__name__


def _ssl_reason(e: ssl.SSLError) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return "the certificate was not accepted (%s)" % e.verify_message
    return e.reason or str(e)
