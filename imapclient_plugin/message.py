"""Builds the draft: an RFC 5322 message with the merge directive attached.

The directive travels as readable 7bit/8bit text when it is clean UTF-8 with
lines an IMAP server accepts, else as quoted-printable or base64 so that it
arrives byte for byte (``transfer_encoding``).

The email package holds a payload several times over while it builds and
serialises a message (the encoded text, a list of its lines, the output
buffer); a directive can be 100 MB.  So the message is built with a small
placeholder where the directive goes, and ``draft_bytes`` puts the encoded
directive in its place: into the bytes of a small draft, or, for a big one,
a slice at a time as the draft is read (``SplicedDraft``), so that nothing
the size of the message is ever held.
"""

from __future__ import annotations

import base64
import email.errors
import email.parser
import email.policy
import email.utils
import re
import secrets
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Optional, Sequence

import breezy

from . import transfer_encoding
from .draft_data import SPLICE_FROM, DraftData, SplicedDraft
from .transfer_encoding import Payload

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
    message_id: Optional[str] = None,
    in_reply_to: Optional[str] = None,
    references: Sequence[str] = (),
    changes: str = "",
) -> DraftMessage:
    """Return the draft message; ``to`` and ``sender`` may be empty.

    InvalidAddress if ``to`` is not a list of e-mail addresses.  Every text
    that reaches a header is made safe by ``header_text``.
    """
    message = DraftMessage(policy=POLICY)
    recipients = addresses(to) if to and to.strip() else []
    sender_address = parsed_sender(sender)
    # From, Date, Subject first, as git format-patch writes them: git
    # imap-send finds messages only with the headers in that order.
    if sender_address is not None:
        message["From"] = sender_address
    message["Date"] = email.utils.format_datetime(email.utils.localtime())
    message["Subject"] = header_text(subject)
    if recipients:
        message["To"] = recipients
    message["Message-ID"] = message_id or email.utils.make_msgid(
        domain=_domain(sender_address)
    )
    if in_reply_to:  # checked: merge_requests.is_message_id
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(references)
    message["User-Agent"] = USER_AGENT
    filename = safe_filename(filename)
    message.set_content(_body_text(body, filename) + changes)
    _attach(message, attachment, filename, mime_subtype)
    return message


class DraftMessage(EmailMessage):
    """The draft as the email package sees it: the attachment's content is
    a placeholder, the content itself is in ``payload``."""

    payload: Optional[Payload] = None


def draft_bytes(message: DraftMessage) -> DraftData:
    """Serialise with CRLF line ends, as IMAP APPEND wants; UnsafeHeader if
    the header block would not be exactly the headers that were set.

    Up to ``SPLICE_FROM``, a bytearray made at its final size and filled in
    place; bigger, a ``SplicedDraft``."""
    skeleton = message.as_bytes(policy=POLICY)
    check_headers(skeleton[:skeleton.index(b"\r\n\r\n") + 4], message.keys())
    payload = message.payload
    if payload is None:
        return bytearray(skeleton)
    at = skeleton.find(payload.placeholder)
    if at < 0 or skeleton.find(payload.placeholder, at + 1) >= 0:
        raise UnsafeHeader("the attachment's place in the message is not unique")
    spliced = SplicedDraft(skeleton[:at], payload, skeleton[at + len(payload.placeholder):])
    if len(spliced) > SPLICE_FROM:
        return spliced
    data, position = bytearray(len(spliced)), 0
    for piece in spliced.slices():
        data[position:position + len(piece)] = piece
        position += len(piece)
    return data


class UnsafeHeader(ValueError):
    """The serialised headers are not the ones set: text added a header."""


class InvalidAddress(ValueError):
    """Not a list of e-mail addresses."""

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(reason)
        self.value, self.reason = value, reason


def check_headers(data: bytes, expected_names: list) -> None:
    """The last line of defence against header injection: read the header
    block back as a mail program would and compare it with what was set."""
    parsed = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data)
    if [name.lower() for name in parsed.keys()] != [n.lower() for n in expected_names]:
        raise UnsafeHeader("headers %s, expected %s" % (parsed.keys(), expected_names))
    for name, value in parsed.items():
        if any(_is_control(c) for c in str(value)):
            raise UnsafeHeader("a control character in %s" % name)


# A header's text is decoded again by the email package on output (RFC 2047
# words become text, CR/LF included, on some Pythons), so it is decoded here
# first, until decoding changes nothing, and cleaned after each round.
MAX_DECODING_ROUNDS = 8


def header_text(text: str) -> str:
    """Text that stays one header: one line, no control characters, and
    nothing that the email package would still decode into more."""
    text = _one_line(text)
    for _ in range(MAX_DECODING_ROUNDS):
        try:
            decoded = _one_line(str(POLICY.header_factory("Subject", text)))
        except Exception:  # what email cannot read, it does not decode
            decoded = text
        if decoded == text:
            return text
        text = decoded
    return text.replace("=?", "= ?")  # a nest of encodings: break them up


def addresses(text: str) -> list[Address]:
    """The addresses of a To-like field; InvalidAddress if any is not an
    address (a display name may be RFC 2047-encoded; it is decoded and
    cleaned like any header text).

    The accepted form is a list of ``user@domain`` or ``Name <user@domain>``
    (a Name with specials quoted), parsed here rather than by the email
    package, whose parsers differ from one Python release to the next.
    """
    text = _one_line(text)
    # An encoded word may hide commas, colons and quotes: it becomes a
    # quoted string of its cleaned text before the list is split.
    pairs = _split_addresses(ENCODED_WORD.sub(_quoted_text, text), text)
    if not pairs:
        raise InvalidAddress(text, "no address")
    return [_checked_address(text, name, addr) for name, addr in pairs]


ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# One mailbox: an optional display name (plain words and quoted strings),
# then <addr>; or a bare addr.  What follows it is a comma or the end.
QUOTED_STRING = r'"(?:[^"\\]|\\.)*"'
MAILBOX = re.compile(r"""\s*(?:
      (?P<name>(?:%s|[^"<>,;:@()\[\]\\])*?)\s*<(?P<angled>[^<>]*)>
    | (?P<bare>[^<>,"\s]+)
    )\s*(?:,|$)""" % QUOTED_STRING, re.VERBOSE)
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
QUOTED_PAIR = re.compile(r"\\(.)")
# An addr-spec's local part and domain as they go into a draft: no space,
# no control character, nothing a header or address parser treats specially.
ADDR_SPEC = re.compile(r"^[^\s@<>()\[\],;:\\\"]+@(?:[^\s@<>()\[\],;:\\\".]+\.)*"
                       r"[^\s@<>()\[\],;:\\\".]+$")


def _split_addresses(text: str, shown: str) -> list[tuple[str, str]]:
    pairs, position = [], 0
    while position < len(text):
        if text[position:].strip(" ,") == "":
            break
        match = MAILBOX.match(text, position)
        if match is None:
            raise InvalidAddress(shown, "not a list of user@example.com or"
                                 " Name <user@example.com> addresses")
        if match.group("bare") is not None:
            pairs.append(("", match.group("bare")))
        else:
            name = QUOTED.sub(lambda q: QUOTED_PAIR.sub(r"\1", q.group(1)),
                              match.group("name"))
            pairs.append((name.strip(), match.group("angled").strip()))
        position = match.end()
    return pairs


def _quoted_text(encoded_word: re.Match) -> str:
    text = header_text(encoded_word.group(0))
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _checked_address(text: str, name: str, addr: str) -> Address:
    if not ADDR_SPEC.match(addr):
        raise InvalidAddress(text, '"%s" is not an address like user@example.com'
                             % addr)
    try:
        return Address(display_name=header_text(name), addr_spec=addr)
    except (ValueError, IndexError, email.errors.HeaderParseError) as e:
        raise InvalidAddress(text, str(e))


def parsed_sender(sender: Optional[str]) -> Optional[Address]:
    """The From address; an identity that is not one leaves the draft
    without From (the user sees that in the draft)."""
    if not sender:
        return None
    try:
        (address,) = addresses(sender)
    except (InvalidAddress, ValueError):
        return None
    return address


def safe_filename(filename: str) -> str:
    """An attachment name without path separators or header tricks."""
    name = header_text(filename).replace("/", "_").replace("\\", "_")
    return name.strip(". ") or "attachment"


def _domain(address: Optional[Address]) -> str:
    # make_msgid's default calls socket.getfqdn(), which can stall on DNS.
    if address is not None and address.domain:
        return address.domain
    return FALLBACK_DOMAIN


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


def _one_line(text: str) -> str:
    """Header text: one line, no control characters (NUL, ESC, C1...)."""
    kept = "".join(c for c in text if c.isspace() or not _is_control(c))
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
    message: DraftMessage, attachment: bytes, filename: str, mime_subtype: str
) -> None:
    """Attach with ``name=`` too (aerc and alpine name the file from it) and,
    as UTF-8 text, ``charset=utf-8`` (mutt reads a text part without one as
    US-ASCII and garbles the patch).  A placeholder goes in its place; the
    content is in ``message.payload`` (see ``draft_bytes``), encoded as
    ``transfer_encoding.choose`` says."""
    marker = "brz-imapclient-%s" % secrets.token_hex(16)  # one base64 line
    encoding, size = transfer_encoding.choose(attachment)
    params = {"name": filename}
    if transfer_encoding.is_utf8(attachment):
        params["charset"] = "utf-8"
    if encoding == transfer_encoding.BASE64:  # byte for byte
        placeholder = marker.encode("ascii")
        message.add_attachment(placeholder, maintype="text", subtype=mime_subtype,
                               filename=filename, params=params)
        serialised = base64.b64encode(placeholder) + b"\r\n"
    else:
        if encoding == transfer_encoding.TEXT:
            cte = "7bit" if attachment.isascii() else "8bit"
        else:
            cte = transfer_encoding.QUOTED_PRINTABLE
        message.add_attachment(marker + "\n", subtype=mime_subtype, cte=cte,
                               filename=filename, params=params)
        serialised = marker.encode("ascii") + b"\r\n"
    message.payload = Payload(attachment, encoding, serialised, size)
