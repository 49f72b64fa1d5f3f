"""What ``brz imap-send`` is given, turned into messages to store.

- an mbox (``git format-patch --stdout``, a mail program's export): one
  message per ``From `` separator line, mboxrd ``>From`` quoting undone;
- one complete message (a ``.eml``, such as those ``brz send`` keeps);
- anything else is a patch (``brz send -o -`` output, ``diff -u``): it
  becomes a draft with the patch attached, as ``brz send`` would make.

Everything is read before anything is stored, so bad input stores nothing.
A message without a Message-ID gets one derived from its content: storing
the same input twice finds the first copy instead of making a second.
"""

from __future__ import annotations

import email.errors
import email.parser
import email.policy
import hashlib
import os
import re
from typing import NamedTuple, Optional

from . import errors
from .draft_data import DraftData
from .message import FALLBACK_DOMAIN, build_draft, draft_bytes

# A separator is a "From " line at the start or after a blank line, with an
# asctime date as mbox writers put there (git: "From <sha1> Mon Sep 17
# 00:00:00 2001"); a body line such as "From the start" is not one.
MBOX_SEPARATOR = re.compile(
    rb"(?:\A|(?<=\n\n))From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} "
    rb"\d{1,2}:\d{2}(?::\d{2})? (?:\S+ )?\d{4}[^\n]*\n")
MBOXRD_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
MERGE_DIRECTIVE = b"# Bazaar merge directive"
# A Message-ID as it can go into an IMAP SEARCH: printable ASCII, no space.
USABLE_MESSAGE_ID = re.compile(r"^<?[\x21-\x3b\x3d\x3f-\x7e]+>?$")
# CPython before 3.11.4 (gh-106186) flags any multipart message parsed
# headers-only; it says nothing about whether the input is a message.
HARMLESS_DEFECTS = (email.errors.MultipartInvariantViolationDefect,)


class Message(NamedTuple):
    data: DraftData  # ready for APPEND: CRLF line ends, a Message-ID
    message_id: str


def messages_from(data: bytes, name: str, sender: Optional[str]) -> list[Message]:
    """Each message in ``data`` (read from ``name``), ready to store."""
    unix = data.replace(b"\r\n", b"\n")
    if MBOX_SEPARATOR.match(unix):
        chunks = [chunk for chunk in MBOX_SEPARATOR.split(unix) if chunk.strip()]
        return [_mbox_message(chunk, name, n, len(chunks))
                for n, chunk in enumerate(chunks, 1)]
    try:
        return [load_message(data, name)]
    except NotAMessage:
        return [_patch_draft(data, name, sender)]


class NotAMessage(ValueError):
    """The data has no e-mail headers at the top."""


def load_message(data: bytes, name: str) -> Message:
    """A complete message read from ``name``, ready for APPEND: CRLF line
    ends and a Message-ID (derived from the content if missing).

    NotAMessage if ``data`` has no e-mail headers; InvalidInput if its
    Message-ID cannot be searched for.
    """
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
    defects = [d for d in headers.defects if not isinstance(d, HARMLESS_DEFECTS)]
    if not lines or defects or not (headers["From"] or headers["Subject"]):
        raise NotAMessage("no e-mail headers (From:, Subject:) at the top")
    message_id = str(headers["Message-ID"] or "").strip()
    if not message_id:
        message_id = content_message_id(b"\n".join(lines))
        lines.insert(0, b"Message-ID: " + message_id.encode("ascii"))
    elif not USABLE_MESSAGE_ID.match(message_id):
        raise errors.InvalidInput(
            name=name, reason="its Message-ID (%s) is not printable ASCII without"
            " spaces; remove that header and a Message-ID is made from the"
            " content" % message_id.encode("ascii", "backslashreplace").decode())
    return Message(b"\r\n".join(lines) + b"\r\n", message_id)


def content_message_id(content: bytes) -> str:
    """The same content always gets the same Message-ID."""
    return "<%s@%s>" % (hashlib.sha256(content).hexdigest()[:40], FALLBACK_DOMAIN)


def _mbox_message(chunk: bytes, name: str, n: int, count: int) -> Message:
    try:
        return load_message(MBOXRD_QUOTED_FROM.sub(rb"\1", chunk), name)
    except NotAMessage:
        raise errors.InvalidInput(
            name=name, reason="message %d of the %d in this mbox has no e-mail"
            " headers (From:, Subject:) after its From line" % (n, count))


def _patch_draft(data: bytes, name: str, sender: Optional[str]) -> Message:
    stem = os.path.splitext(os.path.basename(name))[0] or "patch"
    kind = "[MERGE]" if data.startswith(MERGE_DIRECTIVE) else "[PATCH]"
    message = build_draft(sender=sender, to=None, subject="%s %s" % (kind, stem),
                          body=None, attachment=data, filename=stem + ".patch",
                          message_id=content_message_id(data))
    return Message(draft_bytes(message), message["Message-ID"])
