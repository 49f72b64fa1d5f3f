"""A commit's changes as ``git format-patch`` writes them, so that ``git
am`` makes the same tree whatever mail path the patch takes.

Read from the git objects themselves (dulwich, through Breezy's object
store), not from Breezy's diff, which writes binary files as 8-bit text,
renames without their headers and file names unquoted.  As git does:
renames found at git's default similarity (``-M``, no copies), mode
changes, symlinks, submodules, empty files, C-quoted file names.  A file
whose bytes a mail path could change (a NUL, a CR, text that is not
UTF-8, a line too long for SMTP) goes as ``GIT binary patch``: zlib and
base85 lines, which any mail path carries unchanged.
"""

from __future__ import annotations

import base64
import difflib
import zlib
from typing import Optional

from dulwich.diff_tree import (CHANGE_ADD, CHANGE_COPY, CHANGE_RENAME, RenameDetector,
                               TreeChange, tree_changes)

RENAME_THRESHOLD = 50  # git's default for -M, in percent
CONTEXT_LINES = 3
LONGEST_TEXT_LINE = 990  # SMTP allows 998 octets; a diff line adds one
SUBMODULE_MODE = 0o160000
NO_OBJECT = b"0" * 40
SHORT_ID = 7  # git's abbreviation in a text patch's index line
BINARY_LINE = 52  # bytes of deflated data on one base85 line


def commit_diff(store, commit) -> bytes:
    """What ``git format-patch`` writes after the "---" of ``commit``:
    one section a changed file, against its first parent."""
    parent_tree = store[commit.parents[0]].tree if commit.parents else None
    detector = RenameDetector(store, rename_threshold=RENAME_THRESHOLD)
    changes = [_without_copy(change) for change in tree_changes(
        store, parent_tree, commit.tree, rename_detector=detector)]
    return b"".join(file_diff(store, change) for change in sorted(changes, key=_in_git_order))


def _in_git_order(change: TreeChange) -> tuple:
    """By path; where a file became a link (or back), the old one's
    deletion first, as git apply needs it."""
    new = _present(change.new)
    return (new or change.old).path, new is not None


def _present(entry):
    """A tree entry, or None for the side an added or deleted file lacks
    (dulwich gives an entry of Nones there, or None)."""
    return entry if entry is not None and entry.path is not None else None


def _without_copy(change: TreeChange) -> TreeChange:
    """git finds copies only when asked (``-C``): a copy is an added file."""
    if change.type == CHANGE_COPY:
        return TreeChange(CHANGE_ADD, None, change.new)
    return change


def file_diff(store, change: TreeChange) -> bytes:
    """One file's section: the ``diff --git`` header, then its hunks or
    its binary patch."""
    old, new = _present(change.old), _present(change.new)
    old_path = (old or new).path
    new_path = (new or old).path
    lines = [b"diff --git %s %s" % (quoted(b"a/" + old_path), quoted(b"b/" + new_path))]
    if old is None:
        lines.append(b"new file mode %o" % new.mode)
    elif new is None:
        lines.append(b"deleted file mode %o" % old.mode)
    else:
        if old.mode != new.mode:
            lines += [b"old mode %o" % old.mode, b"new mode %o" % new.mode]
        if change.type == CHANGE_RENAME:
            lines += [b"similarity index %d%%" % similarity(store, old, new),
                      b"rename from " + quoted(old_path), b"rename to " + quoted(new_path)]
        if old.sha == new.sha:
            return _joined(lines)
    before = _content(store, old)
    after = _content(store, new)
    binary = not (mail_safe_text(before) and mail_safe_text(after))
    same_mode = old is not None and new is not None and old.mode == new.mode
    lines.append(b"index %s..%s%s" % (
        _object_id(old, binary), _object_id(new, binary),
        b" %o" % new.mode if same_mode else b""))
    if binary:
        return _joined(lines) + b"GIT binary patch\n" + literal(after) + b"\n" + \
            literal(before) + b"\n"
    hunks = text_hunks(before, after)
    if not hunks:  # an empty file added or deleted
        return _joined(lines)
    lines.append(b"--- " + (_label(b"a/", old_path) if old is not None else b"/dev/null"))
    lines.append(b"+++ " + (_label(b"b/", new_path) if new is not None else b"/dev/null"))
    return _joined(lines) + hunks


def _joined(lines: list) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _label(prefix: bytes, path: bytes) -> bytes:
    """A ---/+++ line's name; git ends one that holds a space with a tab."""
    return quoted(prefix + path) + (b"\t" if b" " in path else b"")


def _object_id(entry, full: bool) -> bytes:
    """A binary patch needs the whole object name (git apply checks it)."""
    sha = entry.sha if entry is not None else NO_OBJECT
    return sha if full else sha[:SHORT_ID]


def _content(store, entry) -> bytes:
    """A file's bytes; a submodule's as git shows it."""
    if entry is None:
        return b""
    if entry.mode == SUBMODULE_MODE:
        return b"Subproject commit %s\n" % entry.sha
    return store[entry.sha].as_raw_string()


def mail_safe_text(data: bytes) -> bool:
    """Text every mail path carries as it is: UTF-8, no NUL or CR, and no
    line too long for SMTP."""
    if b"\0" in data or b"\r" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(len(line) <= LONGEST_TEXT_LINE for line in data.split(b"\n"))


def similarity(store, old, new) -> int:
    """How much of the larger file the other keeps, in percent: the lines
    they share, by size (git's score counts bytes much the same way)."""
    if old.sha == new.sha:
        return 100
    before, after = _content(store, old), _content(store, new)
    largest = max(len(before), len(after))
    if largest == 0:
        return 100
    matcher = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True),
                                      autojunk=False)
    shared = sum(len(line) for block in matcher.get_matching_blocks()
                 for line in matcher.a[block.a:block.a + block.size])
    return shared * 100 // largest


def text_hunks(before: bytes, after: bytes) -> bytes:
    """Unified hunks with git's three lines of context, and git's mark
    where a file ends without a newline."""
    old_lines = before.splitlines(True)
    new_lines = after.splitlines(True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines)
    out = []
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        first, last = group[0], group[-1]
        out.append(b"@@ -%s +%s @@\n" % (_range(first[1], last[2]), _range(first[3], last[4])))
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                out += [_line(b" ", line) for line in old_lines[old_start:old_end]]
                continue
            out += [_line(b"-", line) for line in old_lines[old_start:old_end]]
            out += [_line(b"+", line) for line in new_lines[new_start:new_end]]
    return b"".join(out)


def _range(start: int, end: int) -> bytes:
    length = end - start
    if length == 1:
        return b"%d" % (start + 1)
    return b"%d,%d" % (start + 1 if length else start, length)


def _line(prefix: bytes, line: bytes) -> bytes:
    if line.endswith(b"\n"):
        return prefix + line
    return prefix + line + b"\n\\ No newline at end of file\n"


def literal(data: bytes) -> bytes:
    """git's ``literal`` binary hunk: the deflated bytes in base85 lines,
    each led by its length (A-Z for 1 to 26, a-z for 27 to 52)."""
    deflated = zlib.compress(data)
    # A line's 52 bytes are 13 groups of 4: the whole encoded at once, cut
    # every 65 characters, is each line encoded alone, at a fraction of
    # the calls.
    encoded = base64.b85encode(deflated, pad=True)
    width = BINARY_LINE // 4 * 5
    lines = [b"literal %d\n" % len(data)]
    for line, start in enumerate(range(0, len(deflated), BINARY_LINE)):
        size = min(BINARY_LINE, len(deflated) - start)
        lead = ord("A") + size - 1 if size <= 26 else ord("a") + size - 27
        lines.append(bytes([lead]) + encoded[line * width:(line + 1) * width] + b"\n")
    return b"".join(lines)


# git's quote_c_style with core.quotePath (its default): these as
# backslash escapes, any other control or non-ASCII byte in octal.
C_ESCAPES = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0a: b"\\n", 0x0b: b"\\v",
             0x0c: b"\\f", 0x0d: b"\\r", 0x22: b'\\"', 0x5c: b"\\\\"}


def quoted(path: bytes) -> bytes:
    """A file name as git writes it in a patch: as it is, or in double
    quotes with C escapes where it holds a byte that needs one."""
    if not any(_needs_quoting(byte) for byte in path):
        return path
    return b'"' + b"".join(_escaped(byte) for byte in path) + b'"'


def _needs_quoting(byte: int) -> bool:
    return byte < 0x20 or byte >= 0x7f or byte in (0x22, 0x5c)


def _escaped(byte: int) -> bytes:
    escape: Optional[bytes] = C_ESCAPES.get(byte)
    if escape is not None:
        return escape
    return b"\\%03o" % byte if _needs_quoting(byte) else bytes([byte])
