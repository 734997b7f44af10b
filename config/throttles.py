"""Rate limits that hold under concurrency, across every worker and instance.

DRF's ``SimpleRateThrottle`` reads the request history from the cache, appends and
writes it back: concurrent requests all read the same history and all get through.
:class:`FixedWindowThrottle` counts with ``cache.add()`` instead, which is atomic on
the cache backends we support (the database cache inserts a row under a unique key;
Redis sends ``SET NX``): request *n* of a window claims the key
``<scope>:<ident>:<window>:<n>``, and of concurrent requests exactly one claims each
slot, so exactly ``limit`` get through.

A non-atomic hint (the last slot claimed) says where to start probing, so an allowed
request costs about three cache calls (read the hint, claim a slot, move the hint)
and a refused one about one. The hint only ever trails the slots claimed, so a stale
one costs a few more probes, never an extra request.

Fixed windows: the count starts again at each multiple of the period (on the
processes' clocks), so a client may send up to twice the rate across a window
boundary (``limit`` at the end of one window, ``limit`` at the start of the next).
A refused request is told to retry when its window ends (``Retry-After``).
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from .clients import client_address

#: Seconds a slot key outlives its window, so clocks a little apart still see it.
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
        timeout = math.ceil(left) + KEY_GRACE_SECONDS
        base = f"throttle:{self.scope}:{self.get_ident(request)}:{window}"
        cache = caches[self.cache_alias]
        for slot in range(int(cache.get(f"{base}:last") or 0) + 1, limit + 1):
            if cache.add(f"{base}:{slot}", 1, timeout):
                cache.set(f"{base}:last", slot, timeout)
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


class UploadThrottle(FixedWindowThrottle):
    """Requests that may upload files (``UPLOAD_THROTTLE_RATE`` in the project)."""

    scope = "uploads"
