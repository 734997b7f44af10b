"""The cache (throttle counts) is shared: the app's database by default, Redis with REDIS_URL."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from core.models import Order, Product
from media_store.models import StoredFile
from tests.support.clients import client_for
from tests.support.django_shell import django_shell
from tests.support.images import upload
from tests.support.redis_server import REDIS_URL, drop_keys, keys_with_prefix
from tests.support.s3 import free_port
from tests.support.tcp_proxy import TcpProxy
from tests.support.throttles import limit_uploads

SHOW_CACHE = "from django.conf import settings; import json; print(json.dumps(settings.CACHES))"


def cache_settings(**env: str) -> dict:
    return json.loads(django_shell(SHOW_CACHE, **env))["default"]


def test_the_default_cache_is_the_database_and_redis_url_switches_it():
    database = cache_settings()
    assert database["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert database["OPTIONS"] == {"MAX_ENTRIES": 50_000}
    redis = cache_settings(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX="shop")
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == REDIS_URL and redis["KEY_PREFIX"] == "shop"
    assert redis["OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}


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


@pytest.fixture(params=["closed-port", "blackhole"])
def unreachable_redis(request, settings):
    """The app's own Redis settings, pointed at a port nobody listens on, or at our
    proxy swallowing every byte (only the client's timeouts end the wait)."""
    proxy = None
    if request.param == "closed-port":
        url = f"redis://127.0.0.1:{free_port()}/0"
    else:
        proxy = TcpProxy(free_port())
        proxy.set_mode("blackhole")
        url = f"redis://127.0.0.1:{proxy.port}/0"
    settings.CACHES = {"default": cache_settings(REDIS_URL=url, REDIS_TIMEOUT="1")}
    yield
    if proxy is not None:
        proxy.close()


@pytest.mark.django_db
def test_an_unreachable_redis_is_a_bounded_503_json_and_nothing_is_saved(
    unreachable_redis, user, staff, product
):
    lines = json.dumps([{"product": product.pk, "quantity": 1}])
    attempts = [
        (user, "/api/core/orders/", {"lines": lines, "images": [upload()]}),
        (user, "/api/media/uploads/", {"purpose": "order", "content_type": "image/jpeg"}),
        (staff, "/api/core/products/", {"name": "Lamp", "price": "3.00", "image": upload()}),
        (staff, f"/api/core/products/{product.pk}/", {"price": "4.00"}),
    ]
    for who, url, data in attempts:
        started = time.monotonic()
        method = client_for(who).patch if url.endswith(f"{product.pk}/") else client_for(who).post
        response = method(url, data, format="multipart")
        assert time.monotonic() - started < 5  # 1 s timeouts, no retry loop
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert response.json()["code"] == "cache_unavailable"
    assert not Order.objects.exists() and Product.objects.get().price == product.price
    assert not StoredFile.objects.exists()
    # what does not count uploads keeps working
    assert client_for(user).get("/api/core/products/").status_code == 200
