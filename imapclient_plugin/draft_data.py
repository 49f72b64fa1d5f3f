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


class ReadAhead:
    """A draft read once, whose first slices (about ``limit`` bytes) can be
    made ahead (``make_ahead``) while a reply is awaited, so that its
    upload starts with them ready."""

    def __init__(self, data: DraftData, limit: int) -> None:
        self._size, self._limit = len(data), limit
        self._rest = iter(slices(data))
        self._ready: list = []

    def __len__(self) -> int:
        return self._size

    def make_ahead(self) -> None:
        made = sum(len(piece) for piece in self._ready)
        while made < self._limit:
            piece = next(self._rest, None)
            if piece is None:
                return
            self._ready.append(piece)
            made += len(piece)

    def slices(self) -> Iterator[bytes]:
        ready, self._ready = self._ready, []
        yield from ready
        yield from self._rest


SPLICE_FROM = 1 << 20
# A draft: ``bytes`` or ``bytearray`` up to SPLICE_FROM, else made as read.
DraftData = Union[bytes, bytearray, SplicedDraft, ReadAhead]
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
