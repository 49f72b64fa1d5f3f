"""``brz imap-check``: each step of storing a draft, tried and reported.

One line per step with what it found; at the first failure, the error
(which says what to change) and a stop.  Nothing is stored or created.
"""

from __future__ import annotations

import socket
import ssl
from typing import Callable

from breezy import errors as bzr_errors

from . import drafts, errors, folder_cache, session
from .errors import printable
from .settings import IMAPSettings, identity, identity_address, read_settings

Write = Callable[[str], None]


def run_checks(config, write: Write) -> bool:
    """Report on every step; False at the first that fails."""
    try:
        settings = read_settings(config, identity_address(identity(config)))
        if settings.tunnel:
            write("ok    config: tunnel %s" % settings.tunnel)
        else:
            write("ok    config: %s port %d, %s, user %s" % (
                settings.host, settings.port, settings.security,
                settings.username))
            _check_dns(settings, write)

        def report_connection(client) -> None:
            _report_connection(client, settings, write)

        with session.logged_in(settings, report_connection) as logged_in:
            client = logged_in.client
            source = logged_in.password.source if logged_in.password else "-"
            write("ok    login: %s with %s (password from %s)" % (
                settings.username or "-", logged_in.method, source))
            with session.translated_errors(settings, action="the Drafts folder"):
                _check_drafts_folder(client, settings, write)
                _report_capabilities(client, write)
    except errors.IMAPDraftError as e:
        write("FAIL  %s" % e)
        return False
    except bzr_errors.BzrError as e:  # e.g. a config file Breezy cannot parse
        write("FAIL  config: %s" % e)
        return False
    return True


def _check_dns(settings: IMAPSettings, write: Write) -> None:
    try:
        found = socket.getaddrinfo(settings.host, settings.port,
                                   type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise errors.ServerNotFound(host=settings.host, reason=e.strerror or str(e))
    addresses = sorted({address[4][0] for address in found})
    write("ok    DNS: %s is %s" % (settings.host, ", ".join(addresses)))


def _report_connection(client, settings: IMAPSettings, write: Write) -> None:
    if settings.tunnel:
        write("ok    tunnel: the command answered")
        return
    peer = client._imap.sock.getpeername()
    write("ok    TCP: connected to %s port %d" % (peer[0], peer[1]))
    tls = client._imap.sock
    if isinstance(tls, ssl.SSLSocket):
        certificate = tls.getpeercert()
        subject = ", ".join("%s=%s" % pair for rdn in certificate.get("subject", ())
                            for pair in rdn)
        write("ok    TLS: %s (%s), certificate %s, valid until %s" % (
            tls.version(), settings.security, printable(subject) or "(no subject)",
            printable(certificate.get("notAfter", "?"))))
    else:
        write("--    TLS: none (imap_security=none)")


def _check_drafts_folder(client, settings: IMAPSettings, write: Write) -> None:
    if settings.mailbox:
        if not client.folder_exists(settings.mailbox):
            raise errors.MailboxRefused(host=settings.host, mailbox=settings.mailbox,
                                        reason="no such folder")
        write('ok    drafts: "%s" (set by imap_mailbox)' % printable(settings.mailbox))
        return
    found, to_create = drafts.discover_drafts_folder(client, client.list_folders())
    if found is None:
        write('ok    drafts: none yet; brz send will create "%s"' % printable(to_create))
        return
    remembered = folder_cache.remembered(settings)
    note = "; remembered" if remembered == found.name else ""
    write('ok    drafts: "%s" (%s%s)' % (printable(found.name), found.how_found, note))


def _report_capabilities(client, write: Write) -> None:
    capabilities = [printable(c.decode("ascii", "replace"))
                    for c in client.capabilities()]
    limits = [c.split("=", 1)[1] for c in capabilities
              if c.upper().startswith("APPENDLIMIT=")]
    write("ok    APPENDLIMIT: %s" % (limits[0] + " bytes" if limits
                                      else "none announced"))
    write("ok    capabilities: %s" % " ".join(capabilities))
