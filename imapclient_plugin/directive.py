"""The merge directive without its bundle, for a draft too big to store.

What ``brz send --no-bundle`` makes: the reviewer merges from the branch's
public location (``public_branch``) instead of the revisions carried in the
message.  Only where that location has the revision, as brz send checks.
"""

from __future__ import annotations

from typing import Optional

from breezy import merge_directive
from breezy.branch import Branch

from . import errors


def without_bundle(config, directive: bytes) -> Optional[bytes]:
    """The smaller directive, or None where there is no public location
    (or no bundle to leave out)."""
    branch = getattr(config, "branch", None)
    public = branch.get_public_branch() if branch is not None else None
    if public is None:
        return None
    parsed = merge_directive.MergeDirective.from_lines(directive.splitlines(True))
    if getattr(parsed, "bundle", None) is None:
        return None
    public_branch = Branch.open(public)
    with public_branch.lock_read():
        if not public_branch.repository.has_revision(parsed.revision_id):
            raise errors.PublicBranchBehind(public=public)
    smaller = merge_directive.MergeDirective2(
        parsed.revision_id, parsed.testament_sha1, parsed.time, parsed.timezone,
        parsed.target_branch, patch=parsed.patch, source_branch=public,
        message=parsed.message, bundle=None,
        base_revision_id=parsed.base_revision_id)
    return b"".join(smaller.to_lines())
