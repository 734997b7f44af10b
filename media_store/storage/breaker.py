"""While the store is hanging, one write at a time waits for it; the others fail at once.

A store that accepts connections and never answers holds every upload for the client's
timeouts (about 22 s at the defaults). Without a limit, a few customers retrying during
an incident tie up every thread of a process, and its health checks time out with them.
So after a write ends in a timeout the store is *suspect*: while it is, at most one
write per process goes to it (a trial) and the others get the 503 straight away. The
first write that succeeds clears the suspicion; a refused connection is fast and never
raises it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from media_store.errors import StorageUnavailable


class StoreBreaker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._suspect = False
        self._trial_running = False

    @contextmanager
    def write(self) -> Iterator[None]:
        """Guard one write; raises :class:`StorageUnavailable` at once while another
        write is already trying a suspect store."""
        with self._lock:
            trial = self._suspect
            if trial:
                if self._trial_running:
                    raise StorageUnavailable()
                self._trial_running = True
        suspect: bool | None = None  # None: this write says nothing new about the store
        try:
            yield
            suspect = False
        except StorageUnavailable as exc:
            suspect = True if exc.timed_out else None
            raise
        finally:
            with self._lock:
                if suspect is not None:
                    self._suspect = suspect
                if trial:
                    self._trial_running = False

    def reset(self) -> None:
        with self._lock:
            self._suspect = self._trial_running = False


store_writes = StoreBreaker()
