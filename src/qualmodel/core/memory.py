"""Give freed heap memory back to the operating system before a memory-heavy step.

glibc keeps freed blocks below its (adaptive, up to 32 MiB) mmap threshold in the heap,
so after a large simulation the process holds hundreds of MiB it no longer uses; a
following Parquet write (whose buffers come from Arrow's own allocator) then adds its
memory on top. :func:`release_free_memory` calls glibc's ``malloc_trim(0)`` where it
exists and does nothing elsewhere. It is called by the commands between building large
tables and writing them, not in loops (trimming makes the next allocations fault pages
in again).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return freed heap memory to the operating system (glibc ``malloc_trim``).

    Returns
    -------
    bool
        True when ``malloc_trim`` was available and released memory, False otherwise (no
        glibc, or nothing to release).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
