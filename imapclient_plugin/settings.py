"""Validated IMAP connection settings read from a Breezy config stack.

``brz send`` hands the mail client the branch's config stack, so values come
from locations.conf, branch.conf and breezy.conf (or the legacy
~/.bazaar/bazaar.conf) with Breezy's usual precedence.
"""

from __future__ import annotations

import dataclasses
import email.utils
import ipaddress
import os
import unicodedata
from typing import Optional
from urllib.parse import SplitResult, urlsplit

from breezy import errors as bzr_errors
from breezy import trace

from . import errors

SECURITY_MODES = ("imaps", "starttls", "none")
DEFAULT_PORTS = {"imaps": 993, "starttls": 143, "none": 143}
DEFAULT_TIMEOUT = 60.0
URL_SCHEMES = {"imaps": "imaps", "imap": "starttls"}
AUTH_METHODS = ("password", "xoauth2", "oauthbearer")
TUNNEL = "tunnel"
TUNNEL_HOST = "imap_tunnel"


@dataclasses.dataclass(frozen=True)
class IMAPSettings:
    """Where and how to store drafts; never holds a password."""

    host: str
    port: int
    security: str
    username: str
    mailbox: Optional[str]
    timeout: float
    ca_certs: Optional[str] = None
    password_command: Optional[str] = None
    tunnel: Optional[str] = None
    auth: str = "password"
    token_command: Optional[str] = None
    open_draft: bool = False
    revisions: bool = True
    new_thread: bool = False

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def read_settings(config, identity_address: Optional[str]) -> IMAPSettings:
    """Read and check the imap_* options of ``config`` (a config stack).

    ``identity_address`` is the e-mail address of the Breezy identity, the
    default user name.
    """
    server = (config.get("imap_server") or "").strip()
    tunnel = (config.get("imap_tunnel") or "").strip() or None
    if tunnel:
        # The command is the transport; imap_server, if set, names the host.
        host, port, security = (parse_server(server)[1] if server
                                else TUNNEL_HOST), 0, TUNNEL
    elif not server:
        raise errors.MissingServer()
    else:
        scheme, host, port = parse_server(server)
        security = _security(config.get("imap_security"), scheme)
        if port is None:
            port = DEFAULT_PORTS[security]
    auth = _auth(config.get("imap_auth"))
    username = (config.get("imap_username") or identity_address or "").strip()
    _one_wire_line("imap_username", username, "me@example.com")
    if not username and not tunnel:
        raise errors.InvalidSetting(
            "imap_username", "", "no user name and no Breezy identity",
            "me@example.com",
        )
    return IMAPSettings(
        host=host,
        port=port,
        security=security,
        username=username,
        mailbox=_mailbox(config.get("imap_mailbox")),
        timeout=_timeout(config.get("imap_timeout")),
        ca_certs=_ca_certs(config.get("imap_ca_certs")),
        password_command=(config.get("imap_password_command") or "").strip() or None,
        tunnel=tunnel,
        auth=auth,
        token_command=_token_command(auth, config.get("imap_oauth2_token_command")),
        open_draft=bool(config.get("imap_open_draft")),
        revisions=config.get("imap_revisions") is not False,
        new_thread=bool(config.get("imap_new_thread")),
    )


def parse_server(server: str) -> tuple[Optional[str], str, Optional[int]]:
    """Split ``host``, ``host:port`` or ``imap[s]://host[:port]``.

    Returns (URL scheme or None, host, port or None).
    """
    if "://" not in server:
        parts, host, port = _split(server, "//" + server)
        if parts.username is not None or parts.path or parts.query:
            raise _bad_server(server, "expected host or host:port")
        return None, host, port
    parts, host, port = _split(server, server)
    if parts.scheme not in URL_SCHEMES:
        raise _bad_server(server, "the scheme must be imaps:// or imap://")
    if parts.username is not None or parts.password is not None:
        raise _bad_server(
            server, "put the user name in imap_username, not in the URL"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad_server(
            server, "a URL path is not supported; set the folder in imap_mailbox"
        )
    return parts.scheme, host, port


def _split(server: str, url: str) -> tuple[SplitResult, str, Optional[int]]:
    _one_wire_line("imap_server", server, "imap.example.com")
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise _bad_server(server, str(e))
    if not parts.hostname:
        raise _bad_server(server, "no host name")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise _bad_server(server, "the port must be a number from 1 to 65535")
    _check_host_name(server, parts.hostname)
    return parts, parts.hostname, port


MAX_HOST_NAME = 253
MAX_LABEL = 63


def _check_host_name(server: str, host: str) -> None:
    """An IP address, or a DNS name that can be looked up (IDNA included)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > MAX_HOST_NAME or not all(0 < len(label) <= MAX_LABEL
                                            for label in labels):
        raise _bad_server(server, "%s is not a valid host name (an empty or"
                          " too long part between dots)" % host)
    try:
        host.encode("idna")
    except UnicodeError as e:
        raise _bad_server(server, "%s is not a valid host name (%s)" % (host, e))


def _one_wire_line(option: str, value: str, example: str) -> None:
    """Settings sent to the server must not hold a line break (or any other
    control character), which would end one IMAP command and start another."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise errors.InvalidSetting(option, value, "it contains a control"
                                    " character (such as a line break)", example)


def _bad_server(server: str, reason: str) -> errors.InvalidSetting:
    return errors.InvalidSetting(
        "imap_server", server, reason, "imaps://imap.example.com:993"
    )


def _security(value: Optional[str], scheme: Optional[str]) -> str:
    implied = URL_SCHEMES.get(scheme) if scheme else None
    if not value:
        return implied or "imaps"
    security = value.strip().lower()
    if security not in SECURITY_MODES:
        raise errors.InvalidSetting(
            "imap_security", value, "use one of " + ", ".join(SECURITY_MODES),
            "imaps",
        )
    if scheme == "imaps" and security != "imaps" or (
        scheme == "imap" and security == "imaps"
    ):
        raise errors.InvalidSetting(
            "imap_security", value,
            "it contradicts the %s:// scheme of imap_server" % scheme,
            implied,
        )
    return security


def _mailbox(value: Optional[str]) -> Optional[str]:
    if value is None or not value.strip():
        return None
    mailbox = value.strip()
    _one_wire_line("imap_mailbox", mailbox, "Drafts")
    if "*" in mailbox or "%" in mailbox:
        raise errors.InvalidSetting(
            "imap_mailbox", value, "IMAP folder names cannot contain * or %",
            "Drafts",
        )
    return mailbox


def _timeout(value: Optional[str]) -> float:
    if value is None or not value.strip():
        return DEFAULT_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 3600:
        raise errors.InvalidSetting(
            "imap_timeout", value, "it must be a number of seconds from 0 to 3600",
            "60",
        )
    return timeout


def _ca_certs(value: Optional[str]) -> Optional[str]:
    if value is None or not value.strip():
        return None
    path = os.path.expanduser(value.strip())
    if not os.path.isfile(path):
        raise errors.InvalidSetting(
            "imap_ca_certs", value, "no such file",
            "/etc/ssl/certs/my-ca.pem",
        )
    return path


def _auth(value: Optional[str]) -> str:
    auth = (value or "password").strip().lower()
    if auth not in AUTH_METHODS:
        raise errors.InvalidSetting(
            "imap_auth", value, "use one of " + ", ".join(AUTH_METHODS), "xoauth2")
    return auth


def _token_command(auth: str, command: Optional[str]) -> Optional[str]:
    command = (command or "").strip() or None
    if auth != "password" and command is None:
        raise errors.InvalidSetting(
            "imap_oauth2_token_command", "", "imap_auth = %s needs a command"
            " that prints an access token" % auth, "'oauth2l fetch ...'")
    return command


def identity(config) -> Optional[str]:
    """The Breezy identity (brz whoami), or None if there is none."""
    try:
        return config.get("email")
    except bzr_errors.BzrError as e:  # NoWhoami: the draft gets no From
        trace.warning("No Breezy identity (%s); the draft has no From.", e)
        return None


def identity_address(sender: Optional[str]) -> Optional[str]:
    """The address part of an identity: the default imap_username."""
    if not sender:
        return None
    return email.utils.parseaddr(sender)[1] or None
