"""At most ``MEDIA_DECODE_CONCURRENCY`` decodes at once per process, and their memory given back.

Threads of one gunicorn worker would otherwise decode at the same time, each with its
own full-size buffers; a request waits for a slot instead (its body is already
spooled to disk). When the last busy slot is released, the memory the decoders freed
is handed back to the operating system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from media_store.conf import media_setting


class _DecodeSlots:
    """A process's decode slots; when the last busy one is released, the memory the
    decoders freed is handed back to the operating system."""

    def __init__(self, count: int) -> None:
        self._free = threading.BoundedSemaphore(count)
        self._lock = threading.Lock()
        self._busy = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._free:
            with self._lock:
                self._busy += 1
            try:
                yield
            finally:
                with self._lock:
                    self._busy -= 1
                    idle = self._busy == 0
                if idle:
                    release_freed_memory()


def _glibc(function: str) -> Callable[..., int] | None:
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), function)
    except (OSError, AttributeError):  # not glibc: its allocator does its own thing
        return None


_trim = _glibc("malloc_trim")
_mallopt = _glibc("mallopt")
_M_MMAP_THRESHOLD = -3
#: Buffers from this size up get pages of their own, given back the moment they are freed.
MMAP_THRESHOLD = 128 * 1024


def tune_allocator() -> None:
    """Make large buffers (decoded images, encoded files, request and response bodies)
    go back to the operating system as soon as they are freed.

    glibc serves allocations of 128 KB and more with pages of their own (mmap), but after
    the first such buffer is freed it raises that threshold (up to 32 MB), and from then
    on those buffers come from the heap, where what is freed mostly stays with the
    process: after a first burst of large photos a fresh server kept about 150 MB
    (bench/bench_concurrency.py). Fixing the threshold keeps them on their own pages.
    Called once per process (``MediaStoreConfig.ready``), before any request.
    """
    if _mallopt is not None:
        _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_freed_memory() -> None:
    """Return the heap's free pages to the operating system (glibc's ``malloc_trim``).

    glibc keeps what a thread freed in that thread's arena for reuse, so after a burst
    of large decodes a worker would hold hundreds of megabytes it no longer uses (as
    bench/bench_concurrency.py measured); trimming when no decode is running returns
    them for a few milliseconds.
    """
    if _trim is not None:
        _trim(0)


_slots: _DecodeSlots | None = None
_slots_lock = threading.Lock()


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of this process's decode slots (their number is read once per process)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = _DecodeSlots(media_setting("MEDIA_DECODE_CONCURRENCY"))
    with _slots.hold():
        yield
