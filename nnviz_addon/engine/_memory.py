"""Keep the memory one training step frees mapped for the next (glibc's malloc only).

An engine step allocates its arrays afresh and frees them by its end: a few MB for the tiny GPT.
glibc's malloc serves arrays above 128 KB from fresh mappings at first, and gives the top of its
heap back to the kernel once enough of it is free, so the next step takes a page fault on every
4 KB page it writes again: 544 faults a step, a fifth of the tiny GPT's step (3.04 ms against
2.39 ms without them). Raising both thresholds keeps those pages. This changes only when freed
memory goes back to the kernel, process-wide; anywhere else (macOS, Windows, musl, or a malloc
such as jemalloc in glibc's place) nothing changes. It is set by the engine's first backward pass,
not by importing it: a process that only imports nnviz (a PyTorch run with the Recorder) keeps
its allocator as it was.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Arrays below this come from the heap, not a mapping of their own (glibc's largest allowed value
# on 64-bit); this much free memory at the top of the heap is kept rather than trimmed.
_HEAP_ARRAYS_BELOW = 32 << 20
_KEEP_FREE = 256 << 20


def glibc_version() -> str | None:
    """"glibc 2.36" where the C library is glibc, else None. Asked of the library itself:
    ``platform.libc_ver`` would instead scan the executable, Blender's being hundreds of MB."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):  # not a name this system knows (macOS), or no value
        return None


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory for reuse; False where there is no glibc to set."""
    if sys.platform != "linux" or not glibc_version():
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_ARRAYS_BELOW)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_FREE))


_asked = False


def keep_freed_memory_once() -> None:
    """:func:`keep_freed_memory`, the first time only (a backward pass calls this)."""
    global _asked
    if not _asked:
        _asked = True
        keep_freed_memory()
