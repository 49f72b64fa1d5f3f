"""A commit's author, date and message in the mail headers and text that
``git am`` turns back into the same author, date and message.

``git am`` reads the author from From (RFC 2047 decoded, then trimmed as
git trims names), the date from Date, and makes the message of the
Subject (any leading "Re:", ":" and "[...]" taken away, white space
folded) and of the text up to the first line that starts a patch
("---", "diff -", "Index: "), tidied as ``git commit`` tidies white
space.  Headers are encoded here so that nothing in them is decoded into
something else (a name or subject that holds ``=?utf-8?b?...?=``
literally stays so); what cannot come back unchanged is named by
``unsendable`` before anything is stored.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import re
from typing import Optional

# What git trims from either end of a name ("crud"); inside one it drops
# "<" and ">" and takes "\"", "\\", "(", ")" and "@" for quoting or an
# address (a CR or LF is a space by then).
NAME_CRUD = set(b",:;<>\"\\'") | set(range(33))
NAME_SPECIAL = set("<>\"\\()@")
PLAIN_NAME = re.compile(r"[A-Za-z0-9 ]+\Z")
PLAIN_SUBJECT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")
LONGEST_PLAIN_HEADER = 900
ENCODED_WORD_TEXT = 45  # bytes of text in one =?UTF-8?b?...?= (75 characters)
SUBJECT_PREFIX = re.compile(r"(?:[ \t:]|[Rr][Ee]:|\[[^\]]*\])")
INBODY_HEADER = re.compile(r"(?:From|Subject|Date):", re.IGNORECASE)


def author_name_and_address(author: bytes) -> tuple[str, str]:
    """The name (a CR or LF in it as a space: a header is one line) and
    the address of a git ident ``Name <address>``."""
    text = author.decode("utf-8")
    start, end = text.find("<"), text.rfind(">")
    if start < 0 or end < start:
        return _one_line(text), ""
    name = text[:start]
    return _one_line(name[:-1] if name.endswith(" ") else name), text[start + 1:end]


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def from_header(author: bytes) -> bytes:
    """``From: Name <address>``, the name RFC 2047 encoded unless plain."""
    name, address = author_name_and_address(author)
    shown = name.encode("ascii") if PLAIN_NAME.match(name) else encoded_words(name)
    return b"From: " + shown + b" <" + address.encode("utf-8") + b">\r\n"


def subject_header(subject: str) -> bytes:
    """``Subject: ...``, RFC 2047 encoded unless plain ASCII that no mail
    reader would decode or fold into something else."""
    if (PLAIN_SUBJECT.match(subject) and "=?" not in subject
            and len(subject) <= LONGEST_PLAIN_HEADER):
        return b"Subject: " + subject.encode("ascii") + b"\r\n"
    return b"Subject: " + encoded_words(subject) + b"\r\n"


def encoded_words(text: str) -> bytes:
    """``text`` as RFC 2047 words, each whole characters, folded one a line
    (readers, git too, drop the space between two encoded words)."""
    words, chunk = [], ""
    for character in text:
        if len((chunk + character).encode("utf-8")) > ENCODED_WORD_TEXT:
            words.append(chunk)
            chunk = ""
        chunk += character
    words.append(chunk)
    return b"\r\n ".join(b"=?UTF-8?b?" + base64.b64encode(word.encode("utf-8")) + b"?="
                         for word in words)


def date_header(timestamp: int, offset: int) -> bytes:
    """The author's date in the author's zone (git am makes it the
    author date)."""
    zone = datetime.timezone(datetime.timedelta(seconds=offset))
    when = datetime.datetime.fromtimestamp(timestamp, zone)
    return b"Date: " + email.utils.format_datetime(when).encode("ascii") + b"\r\n"


def unsendable(author: bytes, message: bytes, encoding: Optional[bytes]) -> Optional[str]:
    """Why ``git am`` would not give this author or message back, or None."""
    if encoding not in (None, b"utf-8", b"UTF-8"):
        return "its message is in %s, which git am turns into UTF-8" % encoding.decode(
            "ascii", "replace")
    try:
        text = message.decode("utf-8")
        name, address = author_name_and_address(author)
    except UnicodeDecodeError:
        return "its author or message is not UTF-8"
    return _author_problem(name, address) or message_problem(text)


def _author_problem(name: str, address: str) -> Optional[str]:
    if "@" not in address or any(c in address for c in " \t<>\r\n"):
        return "its author's address <%s> is not one git am reads" % address
    raw = name.encode("utf-8")
    if not raw:
        return "its author has no name (git am would take the address for one)"
    if (raw[0] in NAME_CRUD or raw[-1] in NAME_CRUD
            or any(c in NAME_SPECIAL for c in name)):
        return ('its author\'s name "%s" holds characters git am takes away or reads'
                " as part of an address" % name)
    return None


def message_problem(text: str) -> Optional[str]:
    """Where ``git am`` would make a different message of ``text``."""
    if "\r" in text or "\0" in text:
        return "its message holds a CR or NUL character"
    lines = text.rstrip("\n").split("\n")
    if not lines[0].strip():
        return "its message starts with a blank line"
    subject_lines = 1
    while subject_lines < len(lines) and lines[subject_lines].strip():
        subject_lines += 1
    if subject_lines > 1:
        return ("its first paragraph is %d lines, which git am joins into one subject"
                " line" % subject_lines)
    subject = lines[0]
    prefix = SUBJECT_PREFIX.match(subject)
    if prefix:
        return 'its subject starts with "%s", which git am takes away' % prefix.group(0)
    if subject != subject.strip() or re.search(r"\s\s|[^\S ]", subject):
        return "git am would fold the white space in its subject"
    return _body_problem(lines[subject_lines:])


def _body_problem(body: list) -> Optional[str]:
    """The lines after the subject: what git am cuts or tidies there."""
    if body and body[0] != "":
        return "its subject is not followed by a blank line"
    body = body[1:]
    if body and body[0] == "":
        return "more than one blank line follows its subject"
    if body and INBODY_HEADER.match(body[0]):
        return 'its second paragraph starts with "%s", which git am reads as a header' % (
            body[0].split(":", 1)[0] + ":")
    previous_blank = False
    for number, line in enumerate(body, 3):
        if patch_break(line):
            return ('line %d of its message ("%s") is where git am takes the patch to'
                    " start: what follows would be lost" % (number, line))
        if line != line.rstrip():
            return "line %d of its message ends in white space, which git am takes away" % (
                number)
        if previous_blank and not line:
            return "its message has two blank lines in a row (line %d), which git am" \
                " makes one" % number
        previous_blank = not line
    return None


def patch_break(line: str) -> bool:
    """A line where git's mail reader takes the patch to begin."""
    if line.startswith(("diff -", "Index: ")):
        return True
    if not line.startswith("---") or len(line) < 3:
        return False
    rest = line[3:]
    if rest.startswith(" ") and rest[1:2] and not rest[1:2].isspace():
        return True  # "--- <file name>"
    return not rest.strip()  # "---" and white space only
