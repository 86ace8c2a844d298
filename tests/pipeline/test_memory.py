"""Freed memory goes back to the system between a sync's stages (glibc's malloc_trim)."""

from __future__ import annotations

import os
import platform

import pytest

from leadflow.pipeline.memory import release_free_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@glibc
def test_freed_chunks_in_the_middle_of_the_heap_are_given_back():
    # 1 KiB objects come from glibc's heap (CPython's own allocator takes up to 512 bytes);
    # keeping every 64th pins the heap's top, so freeing the rest returns nothing by itself.
    chunks = [bytes(1024) + bytes([i % 256]) for i in range(150_000)]
    kept = chunks[::64]
    del chunks
    before = _resident_mb()
    assert release_free_memory() is True
    after = _resident_mb()
    assert before - after > 50, (before, after)
    assert len(kept) == 2344
