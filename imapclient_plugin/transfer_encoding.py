"""How the directive's bytes travel in the draft: the transfer encoding
chosen for them, and their encoded text, made a slice at a time.

As they are (7bit or 8bit) where they are clean text (``is_clean_text``).
Quoted-printable where they are UTF-8 text without a CR that 7bit cannot
carry as it is: a directive's bundle is base64 on one line far longer than
a mail line may be, so base64 of it again would cost a third more, where
quoted-printable only breaks the line (soft line breaks) and escapes ``=``.
Base64 where neither carries the bytes exactly (binary, CR: a mail program
turns a CRLF line end in a text part into its own) or where it is smaller.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass, field
from typing import Iterator, Optional

# RFC 5322 2.1.1: at most 998 octets on a line, not counting the CRLF.
MAX_LINE_OCTETS = 998
TEXT = "text"
QUOTED_PRINTABLE = "quoted-printable"
BASE64 = "base64"


@dataclass
class Payload:
    """The attachment's content, kept out of the email package, and the
    placeholder that stands for it in the serialised message."""

    data: bytes
    encoding: str  # TEXT, QUOTED_PRINTABLE or BASE64
    placeholder: bytes  # as serialised, CRLF included
    _size: Optional[int] = field(default=None, repr=False)

    def encoded_size(self) -> int:
        if self._size is None:
            self._size = encoded_size(self.data, self.encoding)
        return self._size

    def encoded_slices(self) -> Iterator[bytes]:
        """``encoded_size`` bytes in all, CRLF line ends. In pieces under
        128 KiB, which malloc keeps and reuses: freeing bigger ones raises
        glibc's mmap threshold, and the heap grew by some MB."""
        return encoded_slices(self.data, self.encoding)


def choose(data: bytes) -> tuple[str, Optional[int]]:
    """The encoding for ``data``, and its encoded size where finding the
    choice measured it already."""
    if is_clean_text(data):
        return TEXT, None
    if b"\r" in data or not is_utf8(data):
        return BASE64, None
    size = encoded_size(data, QUOTED_PRINTABLE)
    if size <= base64_size(len(data)):
        return QUOTED_PRINTABLE, size
    return BASE64, None


def encoded_size(data: bytes, encoding: str) -> int:
    if encoding == TEXT:
        return len(data) + data.count(b"\n")
    if encoding == BASE64:
        return base64_size(len(data))
    return sum(_quoted_printable_size(piece, last)
               for piece, last in _quoted_printable_pieces(data))


def encoded_slices(data: bytes, encoding: str) -> Iterator[bytes]:
    if encoding == BASE64:
        return _base64_slices(data)
    if encoding == QUOTED_PRINTABLE:
        return (_quoted_printable(piece, last)
                for piece, last in _quoted_printable_pieces(data))
    return _text_slices(data)


def _text_slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), PIECE):
        yield bytes(view[start:start + PIECE]).replace(b"\n", b"\r\n")


def _quoted_printable_pieces(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """``data`` in pieces, each encoded on its own, and whether it is the
    last: a piece that ends inside a line ends in a soft line break, so the
    decoded pieces join up byte for byte."""
    view = memoryview(data)
    for start in range(0, len(data), QP_PIECE):
        yield bytes(view[start:start + QP_PIECE]), start + QP_PIECE >= len(data)


def _quoted_printable(piece: bytes, last: bool) -> bytes:
    """A bundle's base64 is cut into lines of 75 characters and a soft line
    break, as slices joined in C; other text goes through
    ``binascii.b2a_qp`` (much slower), which knows every rule.
    Neither is given a CR: b2a_qp would take a CRLF for a line end."""
    if _is_base64_run(piece):
        encoded = SOFT_BREAK.join(map(piece.__getitem__, _soft_lines(len(piece))))
    else:
        encoded = binascii.b2a_qp(piece, quotetabs=False, istext=True).replace(
            b"\n", b"\r\n")
    if not last and not piece.endswith(b"\n"):
        encoded += SOFT_BREAK
    return encoded


def _quoted_printable_size(piece: bytes, last: bool) -> int:
    """``len(_quoted_printable(piece, last))``, without encoding a run of
    base64."""
    if not _is_base64_run(piece):
        return len(_quoted_printable(piece, last))
    breaks = (len(piece) + QP_LINE_CHARS - 1) // QP_LINE_CHARS - 1 + (not last)
    return len(piece) + breaks * len(SOFT_BREAK)


def _is_base64_run(piece: bytes) -> bool:
    """Only base64's letters: no "=", no line end, nothing to escape."""
    return bool(piece) and not piece.translate(None, BASE64_LETTERS)


@functools.lru_cache(maxsize=4)  # a whole piece's, again and again
def _soft_lines(length: int) -> tuple[slice, ...]:
    return tuple(slice(start, start + QP_LINE_CHARS)
                 for start in range(0, length, QP_LINE_CHARS))


BASE64_LETTERS = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  b"0123456789+/")
SOFT_BREAK = b"=\r\n"
QP_LINE_CHARS = 75  # and "=": 76, as b2a_qp writes them
QP_PIECE = QP_LINE_CHARS * 874  # 64 KiB
PIECE = 1 << 16


def base64_size(length: int) -> int:
    lines, rest = divmod(length, BASE64_LINE_BYTES)
    return lines * (BASE64_LINE_CHARS + 2) + ((rest + 2) // 3 * 4 + 2 if rest else 0)


def _base64_slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    step = BASE64_LINE_BYTES * PIECE_LINES
    for start in range(0, len(data), step):
        yield base64_lines(view[start:start + step])


def base64_lines(data: memoryview) -> bytes:
    """``data`` in base64 lines of 76 characters, each ending in CRLF.

    Encoded in one call, then cut into lines by slices made once and joined
    with CRLF, the loop in C: a call per line, as ``base64.encodebytes``
    makes, with its LF line ends replaced, took nearly twice as long, and
    laying the lines out a column at a time half as long again."""
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


def is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# A line too long after a line end: the regex engine finds each "\n" as
# fast as memchr, where "[^\n]{999}" alone is tried at every byte.  The
# first line is measured apart.
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
            and LONG_LINE_AFTER_LF.search(data) is None and is_utf8(data))
