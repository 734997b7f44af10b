"""The real Redis the suite uses for the REDIS_URL path (REDIS_TEST_URL, default local)."""

from __future__ import annotations

import os

import redis

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


def keys_with_prefix(prefix: str) -> list[bytes]:
    return redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*")


def drop_keys(prefix: str) -> None:
    """Delete this run's keys only: the server may be shared (never FLUSHDB)."""
    keys = keys_with_prefix(prefix)
    if keys:
        redis.Redis.from_url(REDIS_URL).delete(*keys)
