"""Builds the draft: an RFC 5322 message with the merge directive attached.

The directive travels as readable 7bit/8bit text when it is clean UTF-8 with
lines an IMAP server accepts, else as base64 so it arrives byte for byte.
It is never quoted-printable (that garbles patches pasted from webmail).

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
import binascii
import email.errors
import email.parser
import email.policy
import email.utils
import re
import secrets
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Iterator, Optional, Sequence

import breezy

from .draft_data import SPLICE_FROM, DraftData, SplicedDraft

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
    sender_address = _sender_address(sender)
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


@dataclass
class _Payload:
    """The attachment's content, kept out of the email package, and the
    placeholder that stands for it in the serialised message."""

    data: bytes
    base64: bool
    placeholder: bytes  # as serialised, CRLF included

    def encoded_size(self) -> int:
        if not self.base64:
            return len(self.data) + self.data.count(b"\n")
        lines, rest = divmod(len(self.data), BASE64_LINE_BYTES)
        return lines * (BASE64_LINE_CHARS + 2) + (
            (rest + 2) // 3 * 4 + 2 if rest else 0)

    def encoded_slices(self) -> Iterator[bytes]:
        """``encoded_size`` bytes in all, as the email package would write
        them: base64 in 76-character lines, or the text; CRLF line ends.
        In pieces under 128 KiB, which malloc keeps and reuses: freeing
        bigger ones raises glibc's mmap threshold, and the heap grew by
        some MB."""
        data = memoryview(self.data)
        step = BASE64_LINE_BYTES * PIECE_LINES if self.base64 else 1 << 16
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            yield base64_lines(piece) if self.base64 else bytes(piece).replace(
                b"\n", b"\r\n")


def base64_lines(data: memoryview) -> bytes:
    """``data`` in base64 lines of 76 characters, each ending in CRLF.

    Encoded in one call, then cut into lines by slices made once and joined
    with CRLF, the loop in C: a call per line, as ``base64.encodebytes``
    makes, with its LF line ends replaced, took nearly twice as long, and
    laying the lines out a column at a time half as long again (100 MB of
    base64: 0.19 s against 0.35 and 0.28 s)."""
    encoded = binascii.b2a_base64(data, newline=False)
    if len(encoded) == PIECE_LINES * BASE64_LINE_CHARS:
        cuts = FULL_PIECE_LINES
    else:
        cuts = _line_slices(len(encoded))
    return b"\r\n".join(map(encoded.__getitem__, cuts))


def _line_slices(length: int) -> list[slice]:
    """Where ``length`` characters of base64 are cut into lines; an empty
    slice last, so that the last line ends in CRLF too."""
    return [slice(start, start + BASE64_LINE_CHARS)
            for start in range(0, length, BASE64_LINE_CHARS)] + [slice(0, 0)]


BASE64_LINE_BYTES = 57  # 76 characters, as email.policy.SMTP writes them
BASE64_LINE_CHARS = 76
PIECE_LINES = 1024  # 58 KiB in, 78 KiB out
FULL_PIECE_LINES = _line_slices(PIECE_LINES * BASE64_LINE_CHARS)


class DraftMessage(EmailMessage):
    """The draft as the email package sees it: the attachment's content is
    a placeholder, the content itself is in ``payload``."""

    payload: Optional[_Payload] = None


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


def _sender_address(sender: Optional[str]) -> Optional[Address]:
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
    as text, ``charset=utf-8`` (mutt reads a text part without one as
    US-ASCII and garbles the patch).  A placeholder goes in its place; the
    content is in ``message.payload`` (see ``draft_bytes``)."""
    marker = "brz-imapclient-%s" % secrets.token_hex(16)  # one base64 line
    if not is_clean_text(attachment):  # base64, byte for byte; UTF-8 is labelled so
        params = {"name": filename}
        if _is_utf8(attachment):
            params["charset"] = "utf-8"
        placeholder = marker.encode("ascii")
        message.add_attachment(placeholder, maintype="text", subtype=mime_subtype,
                               filename=filename, params=params)
        message.payload = _Payload(attachment, True,
                                   base64.b64encode(placeholder) + b"\r\n")
    else:
        message.add_attachment(
            marker + "\n",
            subtype=mime_subtype,
            charset="utf-8",
            cte="7bit" if attachment.isascii() else "8bit",
            filename=filename,
            params={"name": filename},
        )
        message.payload = _Payload(attachment, False, marker.encode("ascii") + b"\r\n")


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# A line too long after a line end: the regex engine finds each "\n" as
# fast as memchr, where "[^\n]{999}" alone is tried at every byte (100 MB:
# 0.1 s against 3 s).  The first line is measured apart.
LONG_LINE_AFTER_LF = re.compile(rb"\n[^\n]{%d}" % (MAX_LINE_OCTETS + 1))


def is_clean_text(data: bytes) -> bool:
    """Whether ``data`` survives a text MIME part unchanged.

    That needs valid UTF-8, LF line ends only (no CR, which MIME text would
    turn into line breaks), a final newline, no NUL, and no line longer than
    an IMAP server accepts.  (Checked without copying ``data``.)
    """
    if b"\r" in data or b"\x00" in data or not data.endswith(b"\n"):
        return False
    first_line_end = data.find(b"\n")  # > -1: data ends with one
    return (first_line_end <= MAX_LINE_OCTETS
            and LONG_LINE_AFTER_LF.search(data) is None and _is_utf8(data))
