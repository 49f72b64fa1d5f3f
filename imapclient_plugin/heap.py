"""Keeps the C heap from holding on to what Breezy frees during ``brz send``.

glibc raises its trim threshold each time a big buffer is freed, so the
megabytes Breezy frees while it builds a bundle can stay resident. ``brz
send`` then adds the directive's bytes (its mail path joins them) and the
message on top of those, where ``brz send -o`` writes the same directive
out of the pages it already has. Put back to glibc's default, freed memory
at the top of the heap goes back to the system as it is freed (and glibc
no longer moves its mmap threshold either). Costs a few thousand page
faults at 100 MB, where the send takes half a million.
"""

from __future__ import annotations

import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
DEFAULT_TRIM_THRESHOLD = 128 * 1024  # glibc's, before it adjusts it


def give_freed_memory_back() -> None:
    """From now on, give memory freed on top of the heap back to the system
    at once (a fixed trim threshold), where the C library has the knob."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
