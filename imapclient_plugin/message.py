"""Builds the draft: an RFC 5322 message with the merge directive attached.

The directive travels as readable 7bit/8bit text when it is clean UTF-8 with
lines an IMAP server accepts, else as base64 so it arrives byte for byte.
It is never quoted-printable (that garbles patches pasted from webmail).
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Optional

import breezy

# RFC 5322 2.1.1: at most 998 octets on a line, not counting the CRLF.
MAX_LINE_OCTETS = 998
POLICY = email.policy.SMTP
FALLBACK_DOMAIN = "brz-imapclient.invalid"
USER_AGENT = "Breezy/%s (imapclient plugin)" % breezy.__version__


def build_draft(
    *,
    sender: Optional[str],
    to: Optional[str],
    subject: str,
    body: Optional[str],
    attachment: bytes,
    filename: str,
    mime_subtype: str = "x-patch",
) -> EmailMessage:
    """Return the draft message; ``to`` and ``sender`` may be empty."""
    message = EmailMessage(policy=POLICY)
    sender_address = _address(sender)
    # From, Date, Subject first, as git format-patch writes them: git
    # imap-send finds messages only with the headers in that order.
    if sender_address is not None:
        message["From"] = sender_address
    message["Date"] = email.utils.format_datetime(email.utils.localtime())
    message["Subject"] = _one_line(subject)
    if to and to.strip():
        message["To"] = _one_line(to)
    message["Message-ID"] = email.utils.make_msgid(
        domain=_domain(sender_address)
    )
    message["User-Agent"] = USER_AGENT
    message.set_content(_body_text(body, filename))
    _attach(message, attachment, filename, mime_subtype)
    return message


def draft_bytes(message: EmailMessage) -> bytes:
    """Serialise with CRLF line ends, as IMAP APPEND wants."""
    return message.as_bytes(policy=POLICY)


def load_message(data: bytes) -> tuple[bytes, str]:
    """A complete message read from a file, ready for APPEND: CRLF line
    ends and a Message-ID (one is added if missing).  Returns it and the
    Message-ID; ValueError if ``data`` is not an e-mail message.
    """
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    headers = email.parser.BytesHeaderParser(policy=POLICY).parsebytes(data)
    if not lines or headers.defects or not (headers["From"] or headers["Subject"]):
        raise ValueError("no e-mail headers (From:, Subject:) at the top")
    message_id = headers["Message-ID"]
    if not message_id:
        message_id = email.utils.make_msgid(domain=FALLBACK_DOMAIN)
        lines.insert(0, b"Message-ID: " + message_id.encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n", str(message_id).strip()


def _address(sender: Optional[str]) -> Optional[Address]:
    if not sender:
        return None
    name, addr = email.utils.parseaddr(_one_line(sender))
    if "@" not in addr:
        return None
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError):
        return None


def _domain(address: Optional[Address]) -> str:
    # make_msgid's default calls socket.getfqdn(), which can stall on DNS.
    if address is not None and address.domain:
        return address.domain
    return FALLBACK_DOMAIN


def _one_line(text: str) -> str:
    """Header text: one line, no control characters (NUL, ESC, C1...)."""
    kept = "".join(c for c in text
                   if c.isspace() or unicodedata.category(c) != "Cc")
    return " ".join(kept.split())


def _body_text(body: Optional[str], filename: str) -> str:
    if body and body.strip():
        return body.replace("\x00", "")
    return (
        "This merge request was prepared by brz send.\n"
        "The merge directive is attached as %s; to merge it,\n"
        "save the attachment and run:\n\n"
        "    brz merge %s\n" % (filename, filename)
    )


def _attach(
    message: EmailMessage, attachment: bytes, filename: str, mime_subtype: str
) -> None:
    text = clean_text(attachment)
    if text is None:
        message.add_attachment(
            attachment, maintype="text", subtype=mime_subtype, filename=filename
        )
    else:
        message.add_attachment(
            text,
            subtype=mime_subtype,
            cte="7bit" if text.isascii() else "8bit",
            filename=filename,
        )


def clean_text(data: bytes) -> Optional[str]:
    """Return ``data`` as text if it survives a text MIME part unchanged.

    That needs valid UTF-8, LF line ends only (no CR, which MIME text would
    turn into line breaks), a final newline, no NUL, and no line longer than
    an IMAP server accepts.
    """
    if b"\r" in data or b"\x00" in data or not data.endswith(b"\n"):
        return None
    if any(len(line) > MAX_LINE_OCTETS for line in data.split(b"\n")):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
