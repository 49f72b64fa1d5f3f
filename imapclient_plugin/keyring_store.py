"""``password_encoding = keyring`` for Breezy's authentication.conf.

With it, any Breezy transport (https, sftp, ...) reads the password of an
authentication.conf section from the system keyring: service = the
section's host, user = its user.  Nothing is found: Breezy asks, as usual.
"""

from __future__ import annotations

from typing import Optional

from breezy.config import CredentialStore

from . import system_keyring


class KeyringCredentialStore(CredentialStore):
    __doc__ = """The system keyring (service: the host, user: the user)."""

    def decode_password(self, credentials: dict) -> Optional[str]:
        host, user = credentials.get("host"), credentials.get("user")
        if not host or not user:
            return None
        return system_keyring.look_up(host, user)[0]  # none: Breezy asks
