"""Finds the Drafts folder, and the web link to a draft stored there.

Discovery order: the folder flagged \\Drafts (RFC 6154); a folder with a
common drafts name, also under the personal namespace; else ``Drafts`` is
created.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Optional

from .wire.mailbox import Connection

COMMON_DRAFTS_NAMES = (
    "Drafts",
    "INBOX.Drafts",
    "INBOX/Drafts",
    "[Gmail]/Drafts",
    "[Google Mail]/Drafts",
    "Draft",
)


CONFIGURED = "set by imap_mailbox"
REMEMBERED = "remembered from an earlier send"
FLAGGED = "flagged \\Drafts by the server"
NAMED = "found by its name"
CREATED = "created, as the server had no drafts folder"


@dataclasses.dataclass(frozen=True)
class DraftsFolder:
    name: str
    how_found: str

    @property
    def was_discovered(self) -> bool:
        return self.how_found in (FLAGGED, NAMED, CREATED)


def find_drafts_folder(connection: Connection, configured: Optional[str],
                       remembered: Optional[str] = None) -> DraftsFolder:
    """The configured or remembered folder, else discover or create one."""
    if remembered and not configured:
        return DraftsFolder(remembered, REMEMBERED)
    found, to_create = planned_drafts_folder(connection, configured)
    if found is not None:
        return found
    connection.create_folder(to_create)
    return DraftsFolder(to_create, CREATED)


def planned_drafts_folder(
    connection: Connection, configured: Optional[str],
    listing: Optional[list] = None,
) -> tuple[Optional[DraftsFolder], str]:
    """Where drafts go, without creating anything: the configured folder,
    else the one discovered in ``listing`` (LIST if not given); and the name
    to create when there is none."""
    if configured:
        return DraftsFolder(configured, CONFIGURED), configured
    return discover_drafts_folder(
        connection, connection.list_folders() if listing is None else listing)


def discover_drafts_folder(
    connection: Connection, listing: list
) -> tuple[Optional[DraftsFolder], str]:
    """The folder in ``listing`` flagged \\Drafts or with a drafts name, if
    any, and the name to create when there is none."""
    for flags, _delimiter, name in listing:
        if any(flag.lower() == b"\\drafts" for flag in flags):
            return DraftsFolder(name, FLAGGED), name
    existing = {name.lower(): name for _flags, _delimiter, name in listing}
    personal = connection.personal_prefix() + "Drafts"
    for candidate in (personal,) + COMMON_DRAFTS_NAMES:
        if candidate.lower() in existing:
            return DraftsFolder(existing[candidate.lower()], NAMED), personal
    return None, personal


# A search for the draft's Message-ID: "rfc822msgid:" is in GMail's own list
# of search operators ("Search operators you can use with Gmail", Gmail
# Help), so the link needs nothing from the server.  (The "#all/<hex
# X-GM-MSGID>" form is undocumented, and cost a SELECT and a FETCH.)
GMAIL_LINK = "https://mail.google.com/mail/?authuser=%s#search/rfc822msgid%%3A%s"


def gmail_link(connection: Connection, message_id: str) -> Optional[str]:
    """The GMail web address of the draft, on a server that is GMail; the
    capabilities are known already, so this costs no round trip."""
    if not connection.is_gmail:
        return None
    username = connection.settings.username
    return GMAIL_LINK % (urllib.parse.quote(username, safe="@"),
                         urllib.parse.quote(message_id.strip().strip("<>"), safe="@"))
