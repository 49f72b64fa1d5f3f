"""A draft's bytes, whole or made as they are read.

A draft of a big directive is not held as one piece: ``SplicedDraft`` makes
its bytes a slice at a time, for the upload or the file that keeps it.
What reads a draft takes either kind (``DraftData``) through ``slices``, or
``whole`` where only small drafts go.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Union


class EncodedPayload(Protocol):
    """What goes between a spliced draft's head and tail."""

    def encoded_size(self) -> int: ...

    def encoded_slices(self) -> Iterator[bytes]: ...


class SplicedDraft:
    """A serialised draft bigger than ``SPLICE_FROM``: its text before and
    after the directive as bytes, the directive encoded as the draft is
    read (``slices``), so the message is never held whole: what is sent,
    or kept on disk, is made a slice at a time."""

    def __init__(self, head: bytes, payload: EncodedPayload, tail: bytes) -> None:
        self.head, self.payload, self.tail = head, payload, tail
        self._size = len(head) + payload.encoded_size() + len(tail)

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        return b"".join(self.slices())

    def slices(self) -> Iterator[bytes]:
        yield self.head
        yield from self.payload.encoded_slices()
        yield self.tail


SPLICE_FROM = 1 << 20
# A draft: ``bytes`` or ``bytearray`` up to SPLICE_FROM, else made as read.
DraftData = Union[bytes, bytearray, SplicedDraft]
SLICE = 1 << 20


def slices(data: DraftData) -> Iterator[Union[bytes, memoryview]]:
    """``data`` in slices of at most about ``SLICE`` bytes, none a copy."""
    if not isinstance(data, (bytes, bytearray)):
        return data.slices()
    view = memoryview(data)
    return (view[start:start + SLICE] for start in range(0, len(view), SLICE))


def whole(data: DraftData) -> bytes:
    """``data`` in one piece, for what needs it so (small drafts)."""
    return data if isinstance(data, (bytes, bytearray)) else b"".join(data.slices())
