"""Every socket, TLS, imaplib and imapclient exception becomes one of the
plugin's errors here, and only here: ``brz`` prints a sentence a user can
act on, never a traceback, and nothing above the door sees these
libraries' exceptions.

A refusal is shown as the server's own words, decoded and escaped, with
the command refused and the folder it was about.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from typing import Iterator, Optional

from imapclient import exceptions as imap_exceptions

from .. import errors
from ..errors import printable
from ..settings import IMAPSettings

# A connection lost or cut: the outcome of what was in flight is unknown.
LOST = (errors.ConnectionLost, errors.ConnectionTimedOut)


def doing(command: str, folder: Optional[str] = None) -> str:
    """What was refused, as the error names it: 'APPEND (folder "Drafts")'."""
    return command if folder is None else '%s (folder "%s")' % (command, printable(folder))


@contextlib.contextmanager
def translated(
    settings: IMAPSettings, connecting: bool = False, action: str = "the request",
    imap: Optional[imaplib.IMAP4] = None,
) -> Iterator[None]:
    """Turn socket, TLS and IMAP exceptions into the plugin's errors;
    ``action``: what was being done (``doing``).  With ``imap``, a lost
    connection reports the server's BYE, if any."""
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
        raise errors.ConnectionLost(host=host, reason=_bye(imap) or server_text(e))
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


def hide_secrets(error: errors.IMAPDraftError, forms: list[str]) -> None:
    """Take ``forms`` (what of a password or token was sent, as a server
    may say it back) out of every text ``error`` shows, and out of the
    exceptions it was raised from (``brz -Derror`` logs those)."""
    forms = sorted({shown for form in forms if form for shown in (form, printable(form))},
                   key=len, reverse=True)

    def hidden(value):
        if isinstance(value, (str, bytes)):
            for form in forms:
                secret = form if isinstance(value, str) else form.encode("utf-8")
                value = value.replace(secret, REDACTED if isinstance(value, str)
                                      else REDACTED.encode("ascii"))
        return value

    for name, value in list(vars(error).items()):
        setattr(error, name, hidden(value))
    cause = error.__cause__ or error.__context__
    while cause is not None:
        cause.args = tuple(hidden(arg) for arg in cause.args)
        cause = cause.__cause__ or cause.__context__


REDACTED = "<credentials redacted>"


def _bye(imap: Optional[imaplib.IMAP4]) -> Optional[str]:
    """The server's BYE text: imaplib keeps it but reports only the EOF."""
    if imap is None:
        return None
    said = imap.untagged_responses.get("BYE")
    if not said:
        return None
    return "the server said BYE: %s" % printable(said[-1].decode("utf-8", "replace"))


# How imaplib and imapclient wrap the server's words: "select failed:
# ...", "SEARCH command error: BAD [b'...']", and imapclient's advice after
# a blank line.
LIBRARY_PREFIX = re.compile(r"^(?:[\w ]+ failed: |[\w ]+ command error: (?:BAD|NO) )")
LIBRARY_LIST = re.compile(r"^\[(.*)\]$")


def server_text(e: Exception) -> str:
    """The server's words from an imaplib/imapclient exception."""
    text = str(e).split("\n\n")[0].strip()
    text = LIBRARY_PREFIX.sub("", text)
    listed = LIBRARY_LIST.match(text)
    if listed:
        text = listed.group(1)
    quoted_bytes = BYTES_REPR.match(text)  # str() of a bytes response
    if quoted_bytes:
        text = quoted_bytes.group(2)
    return printable(text.strip().rstrip(".")) or type(e).__name__


def refused(settings: IMAPSettings, action: str, text: str) -> errors.IMAPDraftError:
    """A command the server refused with ``text`` (its NO or BAD)."""
    return errors.ServerRefused(host=settings.host, action=action,
                                reason=printable(text.strip().rstrip(".")) or "no reason given")


def append_refused(settings: IMAPSettings, folder: str,
                   text: str) -> errors.IMAPDraftError:
    """A refused APPEND as the error that says what to change: a folder the
    server does not have (TRYCREATE, NONEXISTENT) is the setting's fault."""
    if "[TRYCREATE]" in text.upper() or "[NONEXISTENT]" in text.upper():
        return errors.MailboxRefused(host=settings.host, mailbox=printable(folder),
                                     reason=printable(text.strip().rstrip(".")))
    return refused(settings, doing("APPEND", folder), text)


def reply_text(data: list) -> str:
    """The text of a tagged reply, as imaplib gives its data."""
    last = data[-1] if data else b""
    return last.decode("utf-8", "replace") if isinstance(last, bytes) else str(last)


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
