"""Reading what a server answered: FETCH items however a server spells
their names, header fields, and where an APPEND says it stored a message."""

from __future__ import annotations

import email.parser
import email.policy
import re
from typing import NamedTuple, Optional, Sequence

APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([\d:,]+)\]", re.IGNORECASE)
HEADER_FIELDS_REPLY = b"BODY[HEADER.FIELDS "


class Appended(NamedTuple):
    """Where the server says it stored the draft (RFC 4315 APPENDUID)."""

    uidvalidity: Optional[int]
    uid: Optional[int]


def has_message_id(fetched: dict, message_id: str) -> bool:
    """Whether a FETCH of header fields (MESSAGE_ID_FIELD, or others with
    MESSAGE-ID among them) shows exactly ``message_id``."""
    found, = header_values(fetch_item(fetched, HEADER_FIELDS_REPLY), ["Message-ID"])
    return found == message_id.strip()


def fetch_item(fetched: dict, name: bytes) -> bytes:
    """The FETCH item whose name starts with ``name``, however the server
    spells the rest: in any case, its field names quoted or not (Courier
    answers BODY[HEADER.FIELDS ("MESSAGE-ID")]); b"" if there is none."""
    for key, value in fetched.items():
        if (isinstance(key, bytes) and isinstance(value, bytes)
                and key.upper().replace(b'"', b"").startswith(name)):
            return value
    return b""


def header_values(header_block: bytes, names: Sequence[str]) -> list[str]:
    """The value of each header field ``names`` in ``header_block`` (as a
    FETCH of HEADER.FIELDS gives it), unfolded, "" where missing."""
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
        header_block or b"")
    return [" ".join(str(parsed[name] or "").split()) for name in names]


def appended(response: object) -> Appended:
    """Where the APPEND's OK says the draft went (nothing, without UIDPLUS)."""
    match = APPENDUID.search(response if isinstance(response, bytes) else b"")
    if match is None or not match.group(2).isdigit():
        return Appended(None, None)
    return Appended(int(match.group(1)), int(match.group(2)))


def uid_set(text: bytes) -> list[int]:
    uids = []
    for part in text.split(b","):
        first, _, last = part.partition(b":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids
