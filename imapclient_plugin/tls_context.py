"""The TLS context: how the server's certificate is checked."""

from __future__ import annotations

import ssl

from . import errors
from .settings import IMAPSettings


def tls_context(settings: IMAPSettings) -> ssl.SSLContext:
    """Certificate and host name checked: system CAs plus imap_ca_certs."""
    context = ssl.create_default_context()
    if settings.ca_certs:
        try:
            context.load_verify_locations(cafile=settings.ca_certs)
        except (OSError, ssl.SSLError) as e:
            raise errors.InvalidSetting(
                "imap_ca_certs", settings.ca_certs,
                "not a PEM file of certificates (%s)" % (e.strerror or e.reason),
                "/etc/ssl/certs/my-ca.pem",
            )
    return context
