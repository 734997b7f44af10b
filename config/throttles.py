"""Rate limits that hold under concurrency, across every worker and instance.

DRF's ``SimpleRateThrottle`` reads the request history from the cache, appends and
writes it back: concurrent requests all read the same history and all get through.
:class:`FixedWindowThrottle` counts with one atomic increment per request instead, in
what every process shares: Redis (``INCR`` with its expiry, in one ``MULTI``) when the
default cache is Redis, else the app's database (one ``INSERT ... ON CONFLICT DO UPDATE
... RETURNING`` on ``config.models.ThrottleCount``). Of concurrent requests each gets
its own count, so exactly ``limit`` get through.

Fixed windows: the count starts again at each multiple of the period (on the
processes' clocks), so a client may send up to twice the rate across a window
boundary (``limit`` at the end of one window, ``limit`` at the start of the next).
A refused request is told to retry when its window ends (``Retry-After``).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from .clients import client_address
from .models import ThrottleCount

#: Seconds a count outlives its window, so clocks a little apart still see it.
KEY_GRACE_SECONDS = 60
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/hour"`` -> (60, 3600), as DRF reads ``DEFAULT_THROTTLE_RATES``."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


class FixedWindowThrottle(BaseThrottle):
    """At most ``limit`` requests per window and client; the rate is DRF's for ``scope``."""

    scope: str = ""
    cache_alias = "default"
    timer = staticmethod(time.time)

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None:
            return True
        limit, period = parse_rate(rate)
        now = self.timer()
        window = int(now // period)
        left = (window + 1) * period - now
        key = f"throttle:{self.scope}:{self.get_ident(request)}:{window}"
        forget_at = (window + 1) * period + KEY_GRACE_SECONDS
        if count_request(self.cache_alias, key, forget_at) <= limit:
            return True
        self._wait = math.ceil(left)
        return False

    def get_ident(self, request: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        return f"address-{client_address(request.META, api_settings.NUM_PROXIES or 0)}"

    def wait(self) -> int | None:
        return self._wait


def count_request(cache_alias: str, key: str, forget_at: float) -> int:
    """Count one more request under ``key``, to be forgotten at ``forget_at`` (a Unix
    time); return the count so far. One atomic round trip to the shared store."""
    cache = caches[cache_alias]
    full_key = cache.make_and_validate_key(key)  # the cache's KEY_PREFIX separates apps
    if isinstance(cache, RedisCache):
        pipeline = cache._cache.get_client(full_key, write=True).pipeline()
        pipeline.incr(full_key)
        pipeline.expireat(full_key, math.ceil(forget_at), nx=True)
        return int(pipeline.execute()[0])
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [full_key, datetime.fromtimestamp(forget_at, tz=UTC)])
        (count,) = cursor.fetchone()
    return count


def prune_throttle_counts() -> int:
    """Delete the counts of windows that have ended (run periodically by the worker)."""
    deleted, _ = ThrottleCount.objects.filter(expires__lt=timezone.now()).delete()
    return deleted


#: The whole count: one statement, atomic on PostgreSQL and SQLite (3.35+) alike.
_COUNT = """
    INSERT INTO config_throttlecount ("key", "count", "expires") VALUES (%s, 1, %s)
    ON CONFLICT ("key") DO UPDATE SET "count" = config_throttlecount."count" + 1
    RETURNING "count"
"""


class UploadThrottle(FixedWindowThrottle):
    """Requests that may upload files (``UPLOAD_THROTTLE_RATE`` in the project)."""

    scope = "uploads"
