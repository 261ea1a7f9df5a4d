"""lamina._heap: freed heap memory goes back to the OS (the inspection pass relies on it)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from lamina._heap import HeapTrimmer, trim_heap

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_trimmer_trims_every_n_ticks() -> None:
    t = HeapTrimmer(every=3)
    ran = [t.tick() for _ in range(7)]
    assert ran == [False, False, t.available, False, False, t.available, False]
    assert t.available == GLIBC


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's; elsewhere trimming is a no-op")
def test_trim_returns_freed_heap_pages() -> None:
    # 64 KiB blocks (under glibc's mmap threshold) fill the heap; freeing all but the last
    # leaves the pages mapped (the top of the heap is held), and malloc_trim(0) releases them
    code = (
        "import ctypes, json\n"
        "from lamina._heap import trim_heap\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "blocks = [bytearray(65536) for _ in range(3000)]\n"
        "keep = blocks[-1]; del blocks\n"
        "before = rss(); ok = trim_heap(); after = rss()\n"
        "print(json.dumps([before, after, ok]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, ok = __import__("json").loads(out.stdout)
    assert ok
    assert before - after > 100 * 2**20, (before, after)   # ~190 MiB were freed but mapped
    assert trim_heap() is True
