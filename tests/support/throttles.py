"""Upload rates for tests, and keeping a test's requests inside one throttle window."""

from __future__ import annotations

import time
from typing import Any

from rest_framework.settings import api_settings

from config.throttles import FixedWindowThrottle, parse_rate


def limit_uploads(monkeypatch: Any, rate: str) -> float:
    """Set ``UPLOAD_THROTTLE_RATE`` for this test, with the throttles' clock held in the
    middle of the current window (so it cannot end halfway through); returns that time."""
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "uploads", rate)
    _, period = parse_rate(rate)
    middle = (time.time() // period + 0.5) * period
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: middle))
    return middle


def wait_for_room_in_window(period: int, needed: float) -> None:
    """Sleep into the next fixed window when fewer than ``needed`` seconds are left of this
    one (for processes whose clock a test cannot hold, such as gunicorn)."""
    left = period - time.time() % period
    if left < needed:
        time.sleep(left + 0.5)
