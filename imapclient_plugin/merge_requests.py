"""What brz remembers of each merge request, between sends: the drafts it
stored, or may have stored, that are not settled yet, and the version
that was last sent.

Kept per merge request (the branch, its target, and the account) in
``<Breezy cache dir>/imapclient/merge-requests.json``.  Not in the
branch's own configuration: ``brz send`` works from read-only and remote
branches, and what is remembered (which account, folder and UID) belongs
to this machine.  Message-IDs, subjects and revision summaries only; never
credentials.

What is read back decides what brz may remove, so it is checked: a file
another user owns or may write is ignored, and so is an entry with a
field of the wrong type, out of range, or not printable, each with a
warning.  Saving reads the file again under a lock and changes only its
own entry: two branches sent at once keep each other's.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Callable, Optional

from breezy import trace

from . import cache_files
from .errors import printable

CACHE_FILE = "merge-requests.json"
# RFC 5322 msg-id as brz and mail programs write it: printable ASCII, no
# space, no angle bracket inside.
MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>\Z")
DAY = re.compile(r"(\d{4}-\d\d-\d\d)?\Z")
FINGERPRINT = re.compile(r"([0-9a-f]{64})?\Z")
MAX_UID = 2 ** 32 - 1
MAX_REVISIONS = 200  # remembered of one version: what "changes since" lists


TARGET_BRANCH = re.compile(rb"^# target_branch: (\S+)$", re.MULTILINE)


def directive_target(directive: bytes) -> Optional[str]:
    """The submit branch a directive names (``# target_branch:``, which
    the git series' text carries too), or None."""
    found = TARGET_BRANCH.search(directive[:4096])
    return found.group(1).decode("utf-8", "replace") if found else None


def request_name(branch_base: str, target: str) -> str:
    """Which merge request this is, on any account: the branch and its
    target (the record's key adds the account, a series' Message-IDs
    carry it as it is)."""
    return "%s -> %s" % (branch_base, target)


def is_message_id(value: object) -> bool:
    return isinstance(value, str) and MESSAGE_ID.match(value) is not None


@dataclasses.dataclass
class DraftRecord:
    """A draft brz stored, or set out to store (``stored`` False until the
    server confirmed the APPEND): what identifies it as brz's, unchanged."""

    message_id: str
    folder: Optional[str]  # None: not known yet (the Drafts folder in use)
    fingerprint: str  # of what was uploaded (own_drafts); "" from before it was kept
    version: int
    references: list = dataclasses.field(default_factory=list)  # its thread
    stored: bool = False
    uidvalidity: Optional[int] = None
    uid: Optional[int] = None
    day: str = ""  # YYYY-MM-DD it was stored
    token: str = ""  # the directive's revision_id and timestamp
    revisions: list = dataclasses.field(default_factory=list)  # [[id, line]]
    kept: list = dataclasses.field(default_factory=list)  # [path, sha256]: brz send kept it


@dataclasses.dataclass
class SentRecord:
    """The version that was sent, as the sent folder holds it (its
    Message-ID may be another than the draft's)."""

    message_id: str
    version: int
    references: list
    subject: str
    day: str
    revisions: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class MergeRequest:
    drafts: list = dataclasses.field(default_factory=list)  # of DraftRecord
    sent: Optional[SentRecord] = None
    # Message-IDs of kept drafts a later version replaced: not to be stored
    superseded: list = dataclasses.field(default_factory=list)


class Damaged(ValueError):
    """An entry brz cannot trust: the field that is wrong."""


def remembered(key: str) -> MergeRequest:
    """The merge request's record; empty where there is none, or where it
    cannot be trusted (said in a warning)."""
    why = cache_files.untrusted(CACHE_FILE)
    if why is not None:
        _warn_untrusted(why)
        return MergeRequest()
    entry = cache_files.load(CACHE_FILE).get(key)
    if entry is None:
        return MergeRequest()
    try:
        return parsed(entry)
    except Damaged as e:
        trace.warning(
            "Ignoring the damaged record of this merge request in %s (%s):"
            " this draft neither replaces nor follows an earlier one.",
            cache_files.path(CACHE_FILE), printable(str(e)))
        return MergeRequest()


def save(key: str, request: MergeRequest) -> None:
    """Save this merge request's entry, keeping every other one as the
    file has it now.  A record that cannot be written only costs the next
    send its replacing or threading: said, not an error."""
    why = cache_files.untrusted(CACHE_FILE)
    if why is not None:
        _warn_untrusted(why)
        return
    try:
        with cache_files.locked(CACHE_FILE):
            records = cache_files.load(CACHE_FILE)
            records[key] = dataclasses.asdict(request)
            cache_files.save(CACHE_FILE, records)
    except OSError as e:
        trace.warning("Cannot save %s (%s): the next brz send of this merge"
                      " request will not replace or thread this draft.",
                      cache_files.path(CACHE_FILE), e.strerror or e)


def owner_of(message_id: str) -> Optional[tuple[str, MergeRequest]]:
    """The merge request (key, record) that set out to store the draft with
    this Message-ID: ``brz imap-send`` of a message ``brz send`` kept."""
    return _first_with(lambda request: any(d.message_id == message_id
                                           for d in request.drafts))


def superseding(message_id: str) -> Optional[tuple[str, MergeRequest]]:
    """The merge request (key, record) where a later version replaced the
    kept draft with this Message-ID."""
    return _first_with(lambda request: message_id in request.superseded)


def _first_with(wanted: Callable[[MergeRequest], bool]) -> Optional[tuple[str, MergeRequest]]:
    if cache_files.untrusted(CACHE_FILE) is not None:
        return None
    for key, entry in cache_files.load(CACHE_FILE).items():
        try:
            request = parsed(entry)
        except Damaged:
            continue
        if wanted(request):
            return key, request
    return None


_warned: set = set()


def _warn_untrusted(why: str) -> None:
    if why in _warned:
        return
    _warned.add(why)
    trace.warning("Ignoring %s: %s, so what it says could remove mail that is"
                  " not brz's. Drafts are neither replaced nor threaded until"
                  " it is yours alone (chmod go-w).", cache_files.path(CACHE_FILE),
                  printable(why))


# Checking what was read back.

def _text(limit: int) -> Callable[[object], bool]:
    return lambda value: (isinstance(value, str) and len(value) <= limit
                          and printable(value) == value)


def _count(low: int, high: int, optional: bool = False) -> Callable[[object], bool]:
    return lambda value: (value is None and optional) or (
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high)


def _message_ids(value: object) -> bool:
    return isinstance(value, list) and len(value) <= 100 and all(map(is_message_id, value))


def _revisions(value: object) -> bool:
    return isinstance(value, list) and len(value) <= MAX_REVISIONS and all(
        isinstance(pair, list) and len(pair) == 2 and all(map(_text(1000), pair))
        for pair in value)


def _kept(value: object) -> bool:
    return value == [] or (isinstance(value, list) and len(value) == 2
                           and _text(4096)(value[0]) and os.path.isabs(value[0])
                           and isinstance(value[1], str) and len(value[1]) == 64
                           and FINGERPRINT.match(value[1]) is not None)


def _day(value: object) -> bool:
    return isinstance(value, str) and DAY.match(value) is not None


DRAFT_FIELDS = {
    "message_id": is_message_id,
    "folder": lambda value: value is None or (_text(1000)(value) and value != ""),
    "fingerprint": lambda value: isinstance(value, str) and FINGERPRINT.match(value),
    "version": _count(1, 100000),
    "references": _message_ids,
    "stored": lambda value: isinstance(value, bool),
    "uidvalidity": _count(1, MAX_UID, optional=True),
    "uid": _count(1, MAX_UID, optional=True),
    "day": _day,
    "token": _text(1000),
    "revisions": _revisions,
    "kept": _kept,
}
SENT_FIELDS = {
    "message_id": is_message_id,
    "version": _count(1, 100000),
    "references": _message_ids,
    "subject": _text(2000),
    "day": _day,
    "revisions": _revisions,
}


def _checked(cls, checks: dict, entry: object, what: str):
    if not isinstance(entry, dict):
        raise Damaged("%s is not an object" % what)
    for name, value in entry.items():
        check = checks.get(name)
        if check is None:
            raise Damaged("%s has an unknown field %r" % (what, name))
        if not check(value):
            raise Damaged("%s has a bad %s" % (what, name))
    try:
        return cls(**entry)
    except TypeError:
        raise Damaged("%s lacks a field" % what)


def parsed(entry: object) -> MergeRequest:
    """The record of one merge request, checked; Damaged if it is not
    what brz writes (or wrote before it kept several drafts)."""
    if isinstance(entry, dict) and "drafts" not in entry and "message_id" in entry:
        return MergeRequest([_legacy(entry)])
    if not isinstance(entry, dict) or not (
            {"drafts", "sent"} <= set(entry) <= {"drafts", "sent", "superseded"}):
        raise Damaged("the entry is not a merge request's record")
    superseded = entry.get("superseded", [])
    if not _message_ids(superseded):
        raise Damaged("its superseded drafts are not a list of Message-IDs")
    drafts = entry["drafts"]
    if not isinstance(drafts, list) or len(drafts) > 100:
        raise Damaged("its drafts are not a list")
    sent = entry["sent"]
    return MergeRequest(
        [_checked(DraftRecord, DRAFT_FIELDS, d, "a draft") for d in drafts],
        None if sent is None else _checked(SentRecord, SENT_FIELDS, sent, "its sent version"),
        superseded)


def _legacy(entry: dict) -> DraftRecord:
    """The one draft an earlier brz-imapclient remembered: without its
    fingerprint, so it is never removed, but its sent copy is still
    followed."""
    kept = {name: entry.get(name) for name in
            ("message_id", "folder", "version", "uidvalidity", "uid")}
    kept["references"] = entry.get("references") or []
    return _checked(DraftRecord, DRAFT_FIELDS, dict(kept, fingerprint="", stored=True),
                    "the draft")
