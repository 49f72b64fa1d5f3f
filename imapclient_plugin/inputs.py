"""What ``brz imap-send`` is given, turned into messages to store.

- an mbox (``git format-patch --stdout``, a mail program's export): one
  message per ``From `` separator, mboxrd ``>From`` quoting undone;
- one complete message (a ``.eml``, such as those ``brz send`` keeps);
- anything else is a patch (``brz send -o -`` output, ``diff -u``): it
  becomes a draft with the patch attached, as ``brz send`` would make.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from .message import build_draft, draft_bytes, load_message

MBOX_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)
MBOXRD_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
MERGE_DIRECTIVE = b"# Bazaar merge directive"


def messages_from(data: bytes, name: str,
                  sender: Optional[str]) -> list[tuple[bytes, str]]:
    """(message ready for APPEND, Message-ID) for each message in ``data``."""
    unix = data.replace(b"\r\n", b"\n")
    if unix.startswith(b"From "):
        return [load_message(MBOXRD_QUOTED_FROM.sub(rb"\1", chunk))
                for chunk in MBOX_SEPARATOR.split(unix) if chunk.strip()]
    try:
        return [load_message(data)]
    except ValueError:
        return [_patch_draft(data, name, sender)]


def _patch_draft(data: bytes, name: str,
                 sender: Optional[str]) -> tuple[bytes, str]:
    stem = os.path.splitext(os.path.basename(name))[0] or "patch"
    kind = "[MERGE]" if data.startswith(MERGE_DIRECTIVE) else "[PATCH]"
    message = build_draft(sender=sender, to=None, subject="%s %s" % (kind, stem),
                          body=None, attachment=data, filename=stem + ".patch")
    return draft_bytes(message), message["Message-ID"]
