"""``brz imap-check``: each step of storing a draft, tried and reported.

One line per step with what it found; at the first failure, the error
(which says what to change) and a stop.  Nothing is stored or created.
"""

from __future__ import annotations

from typing import Callable

from breezy import errors as bzr_errors

from . import drafts, errors, folder_cache, system_keyring
from .errors import printable
from .settings import IMAPSettings, identity, identity_address, read_settings
from .wire import connection, transport
from .wire.mailbox import Connection

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
        if not (settings.tunnel or settings.password_command or settings.token_command):
            _report_keyring(write)

        def report_link(link: transport.LinkFacts) -> None:
            _report_link(link, settings, write)

        with connection.logged_in(settings, report_link) as logged_in:
            source = logged_in.password.source if logged_in.password else "-"
            write("ok    login: %s with %s (password from %s)" % (
                settings.username or "-", logged_in.method, source))
            _check_drafts_folder(logged_in, settings, write)
            _report_capabilities(logged_in, write)
    except errors.IMAPDraftError as e:
        write("FAIL  %s" % e)
        return False
    except bzr_errors.BzrError as e:  # e.g. a config file Breezy cannot parse
        write("FAIL  config: %s" % e)
        return False
    return True


def _report_keyring(write: Write) -> None:
    """Where a typed password would be kept; what to do where nowhere."""
    backend = system_keyring.usable_backend()
    if backend is None:
        write("--    keyring: none usable here. %s" % errors.WITHOUT_KEYRING)
    elif backend in system_keyring.PROMPTING:
        write("--    keyring: %s" % system_keyring.PROMPTING_NOTE % backend)
    else:
        write("ok    keyring: %s" % backend)


def _check_dns(settings: IMAPSettings, write: Write) -> None:
    write("ok    DNS: %s is %s" % (settings.host,
                                   ", ".join(connection.addresses(settings))))


def _report_link(link: transport.LinkFacts, settings: IMAPSettings, write: Write) -> None:
    if link.peer is None:
        write("ok    tunnel: the command answered")
        return
    write("ok    TCP: connected to %s port %d" % link.peer)
    if link.tls_version is None:
        write("--    TLS: none (imap_security=none)")
        return
    write("ok    TLS: %s (%s), certificate %s, valid until %s" % (
        link.tls_version, settings.security, printable(link.subject) or "(no subject)",
        printable(link.not_after)))


def _check_drafts_folder(logged_in: Connection, settings: IMAPSettings,
                         write: Write) -> None:
    listing = logged_in.list_folders()
    if settings.mailbox:
        if settings.mailbox not in [name for _flags, _delimiter, name in listing]:
            raise errors.MailboxRefused(host=settings.host, mailbox=settings.mailbox,
                                        reason="no such folder")
        write('ok    drafts: "%s" (set by imap_mailbox)' % printable(settings.mailbox))
        return
    found, to_create = drafts.discover_drafts_folder(logged_in, listing)
    if found is None:
        write('ok    drafts: none yet; brz send will create "%s"' % printable(to_create))
        return
    remembered = folder_cache.remembered(settings)
    note = "; remembered" if remembered == found.name else ""
    write('ok    drafts: "%s" (%s%s)' % (printable(found.name), found.how_found, note))


def _report_capabilities(logged_in: Connection, write: Write) -> None:
    capabilities = [printable(c.decode("ascii", "replace"))
                    for c in logged_in.capabilities()]
    limits = [c.split("=", 1)[1] for c in capabilities
              if c.upper().startswith("APPENDLIMIT=")]
    write("ok    APPENDLIMIT: %s" % (limits[0] + " bytes" if limits
                                      else "none announced"))
    write("ok    capabilities: %s" % " ".join(capabilities))
