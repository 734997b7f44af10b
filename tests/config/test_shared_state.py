"""The cache (throttle counts) is shared: the app's database by default, Redis with REDIS_URL."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.support.clients import client_for
from tests.support.redis_server import REDIS_URL, drop_keys, keys_with_prefix
from tests.support.s3 import REPO
from tests.support.throttles import limit_uploads

SHOW_CACHE = "from django.conf import settings; import json; print(json.dumps(settings.CACHES))"


def cache_settings(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW_CACHE],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "True", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["default"]


def test_the_default_cache_is_the_database_and_redis_url_switches_it():
    assert cache_settings()["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    redis = cache_settings(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX="shop")
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == REDIS_URL and redis["KEY_PREFIX"] == "shop"


@pytest.mark.django_db
def test_the_cache_table_exists_after_migrating():
    cache = caches["default"]
    cache.set("probe", 1)
    assert cache.get("probe") == 1


@pytest.mark.django_db
def test_throttle_counts_live_in_redis(user, product, monkeypatch):
    """A real Redis: the counts are there, under our prefix, for any process to see."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    limit_uploads(monkeypatch, "2/hour")
    with override_settings(CACHES=redis_cache):
        client = client_for(user)
        statuses = [
            client.post("/api/core/orders/", {"lines": "[]"}, format="multipart").status_code
            for _ in range(4)
        ]
        assert statuses == [400, 400, 429, 429]  # refused lines, but counted: they upload
        keys = keys_with_prefix(prefix)
        assert keys and all(b":throttle:uploads:user-" in key for key in keys)
        drop_keys(prefix)
