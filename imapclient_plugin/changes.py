"""What changed between the version of a merge request that was sent and
the one being stored: the revisions added since, and those gone (rebased
or uncommitted), one line each as ``brz log --line`` prints them.  What a
reviewer of v2 wants first, and what b4's range-diff gives a kernel
reviewer.
"""

from __future__ import annotations

import io
import re
from typing import Optional

from breezy import errors as bzr_errors
from breezy import trace

from .errors import printable
from .merge_requests import MAX_REVISIONS, SentRecord

REVISION_ID = re.compile(rb"^# revision_id: (\S+)$", re.MULTILINE)
LINE_MAX = 300
BASE_REVISION_ID = re.compile(rb"^# base_revision_id: (\S+)$", re.MULTILINE)


def revisions_of(branch, directive: bytes) -> list:
    """[[revision id, log line], ...] of the directive's mainline revisions,
    newest first: from its revision_id down to (not including) its base.
    Empty where the branch cannot tell (the directive is remembered, and
    a later version's changes are then not listed)."""
    head = directive[:8192]
    tip, base = REVISION_ID.search(head), BASE_REVISION_ID.search(head)
    if branch is None or tip is None:
        return []
    try:
        with branch.lock_read():
            return _lines(branch, tip.group(1), base.group(1) if base else None)
    except (bzr_errors.BzrError, KeyError, ValueError) as e:
        trace.mutter("imapclient: cannot list the revisions sent: %s", e)
        return []


def _lines(branch, tip: bytes, base: Optional[bytes]) -> list:
    from breezy.log import LineLogFormatter
    from breezy.revision import NULL_REVISION

    graph = branch.repository.get_graph()
    stop = {NULL_REVISION} | ({base} if base else set())
    ids = []
    for revision_id in graph.iter_lefthand_ancestry(tip, stop):
        if revision_id in stop or len(ids) == MAX_REVISIONS:
            break
        ids.append(revision_id)
    formatter = LineLogFormatter(to_file=io.StringIO())
    lines = []
    for revision in branch.repository.get_revisions(ids):
        try:
            revno = ".".join(map(str, branch.revision_id_to_dotted_revno(
                revision.revision_id)))
        except bzr_errors.NoSuchRevision:
            revno = None
        lines.append([printable(revision.revision_id.decode("utf-8", "replace")),
                      printable(formatter.log_string(revno, revision, LINE_MAX))])
    return lines


def since_sent(sent: SentRecord, revisions: list) -> str:
    """The paragraph for the body of the version that follows ``sent``;
    empty where nothing is known of either."""
    if not sent.revisions or not revisions:
        return ""
    before = {revision_id for revision_id, _line in sent.revisions}
    now = {revision_id for revision_id, _line in revisions}
    added = [line for revision_id, line in revisions if revision_id not in before]
    gone = [line for revision_id, line in sent.revisions if revision_id not in now]
    text = "\n\nChanges since v%d (sent %s):\n" % (sent.version, sent.day or "earlier")
    if not added and not gone:
        return text + "  no revision added or removed\n"
    return text + "".join(
        ["  added:\n"] * bool(added) + ["    %s\n" % line for line in added]
        + ["  gone (no longer in the branch):\n"] * bool(gone)
        + ["    %s\n" % line for line in gone])
