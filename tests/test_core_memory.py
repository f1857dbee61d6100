"""release_free_memory: glibc's malloc_trim where present, a no-op elsewhere."""

from __future__ import annotations

import numpy as np

from qualmodel.core import memory


def test_release_after_freeing_many_heap_blocks_is_safe():
    blocks = [np.ones(1 << 18) for _ in range(64)]  # 2 MiB each: heap, not mmap, blocks
    del blocks
    assert memory.release_free_memory() in (True, False)


def test_no_libc_is_a_no_op(monkeypatch):
    memory._malloc_trim.cache_clear()
    monkeypatch.setattr(memory.ctypes.util, "find_library", lambda name: None)
    try:
        assert memory.release_free_memory() is False
    finally:
        memory._malloc_trim.cache_clear()
