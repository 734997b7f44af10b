"""Cheap readiness probe of the media store, cached briefly so probes cannot hammer S3."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import storages

from .s3 import is_s3
from .storage_config import PRIVATE_ALIAS, PUBLIC_ALIAS


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
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._lock = Lock()
        self._at = -float("inf")
        self._result: ProbeResult | None = None

    def __call__(self) -> ProbeResult:
        with self._lock:
            now = time.monotonic()
            if self._result is None or now - self._at > self.ttl:
                self._result, self._at = _probe_now(), now
            return self._result

    def reset(self) -> None:
        with self._lock:
            self._result = None


storage_probe = CachedProbe(ttl_seconds=5.0)
