"""Cheap readiness probe of the media store, cached briefly so probes cannot hammer S3."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Event, Lock, Thread

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import storages

from .config import PRIVATE_ALIAS, PUBLIC_ALIAS
from .s3 import is_s3


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


def _probe_now() -> ProbeResult:
    storage = storages[PUBLIC_ALIAS]
    try:
        if is_s3(storage):
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
            return ProbeResult(True, f"bucket {storage.bucket_name} reachable")
        for alias in (PUBLIC_ALIAS, PRIVATE_ALIAS):  # local disk: directories usable
            location = Path(storages[alias].location)
            location.mkdir(parents=True, exist_ok=True)
            if not os.access(location, os.R_OK | os.W_OK):
                return ProbeResult(False, f"{location} is not readable and writable")
        return ProbeResult(True, "local media directories writable")
    except (BotoCoreError, ClientError, OSError) as exc:
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")


class CachedProbe:
    """One probe at a time, its answer kept for ``ttl_seconds``; nobody waits long for it.

    A store that accepts connections and never answers would otherwise hold every
    caller for the client's whole timeout budget (tens of seconds), and with it
    every web thread that serves /readyz. The probe runs in a thread of its own;
    callers wait at most ``wait_seconds`` for it and are told the store is not
    answering, while later callers share the probe still under way.
    """

    def __init__(self, ttl_seconds: float, wait_seconds: float) -> None:
        self.ttl = ttl_seconds
        self.wait = wait_seconds
        self._lock = Lock()
        self._at = -float("inf")
        self._result: ProbeResult | None = None
        self._running: Event | None = None

    def __call__(self) -> ProbeResult:
        with self._lock:
            if self._result is not None and time.monotonic() - self._at <= self.ttl:
                return self._result
            if self._running is None:
                self._running = Event()
                Thread(target=self._probe, args=(self._running,), daemon=True).start()
            running = self._running
        if running.wait(self.wait):
            with self._lock:
                if self._result is not None:
                    return self._result
        return ProbeResult(False, f"the media store did not answer within {self.wait:.0f} s")

    def _probe(self, running: Event) -> None:
        result = _probe_now()
        with self._lock:
            self._result, self._at = result, time.monotonic()
            self._running = None
        running.set()

    def reset(self) -> None:
        with self._lock:
            self._result = None


storage_probe = CachedProbe(ttl_seconds=5.0, wait_seconds=3.0)
