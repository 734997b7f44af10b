"""The upload throttle: atomic fixed windows in the shared cache (database or Redis)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from config.clients import client_address
from config.models import ThrottleCount
from config.tasks import prune_ended_throttle_windows
from config.throttles import FixedWindowThrottle, UploadThrottle
from tests.support.clients import client_for
from tests.support.concurrency import at_once, needs_concurrent_writers
from tests.support.redis_server import REDIS_URL, drop_keys
from tests.support.throttles import limit_uploads

BACKENDS = {
    "database": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
    },
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
}


@pytest.fixture(params=sorted(BACKENDS))
def shared_cache(request, settings):
    """The default cache on one of the backends we support, under a prefix of its own."""
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {**BACKENDS[request.param], "KEY_PREFIX": prefix}}
    yield request.param
    if request.param == "redis":
        drop_keys(prefix)


def api_request(user=None, **meta: str) -> Request:
    django_request = APIRequestFactory().post("/api/media/uploads/", **meta)
    if user is not None:
        force_authenticate(django_request, user)
    request = Request(django_request)
    request.user  # noqa: B018 - authenticates, as DRF does before throttling
    return request


def allowed(user) -> bool:
    return UploadThrottle().allow_request(api_request(user), None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_get_exactly_the_limit(shared_cache, user, monkeypatch):
    """DRF's SimpleRateThrottle reads, appends and writes back: these would all pass."""
    if shared_cache == "database":
        needs_concurrent_writers()
    limit_uploads(monkeypatch, "4/hour")
    results = at_once([lambda: allowed(user)] * 12)
    assert sorted(results) == [False] * 8 + [True] * 4


@pytest.mark.django_db
def test_each_request_costs_one_atomic_statement(shared_cache, user, monkeypatch):
    """On the database, one INSERT ... ON CONFLICT DO UPDATE ... RETURNING per request;
    on Redis one MULTI round trip."""
    limit_uploads(monkeypatch, "3/hour")
    if shared_cache == "redis":
        assert [allowed(user) for _ in range(5)] == [True, True, True, False, False]
        return
    for expected in (True, True, True, False, False):
        with CaptureQueriesContext(connection) as queries:
            assert allowed(user) is expected
        assert len(queries) == 1 and "ON CONFLICT" in queries.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_the_worker_prunes_counts_of_ended_windows(user, monkeypatch):
    middle = limit_uploads(monkeypatch, "3/hour")
    assert allowed(user)
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: middle + 3600))
    assert allowed(user)  # the next window
    assert ThrottleCount.objects.count() == 2
    later = datetime.fromtimestamp(middle + 4000, tz=UTC)  # the first window (and grace) ended
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert prune_ended_throttle_windows.call() == 1
    assert ThrottleCount.objects.count() == 1


@pytest.mark.django_db
def test_refused_requests_retry_when_the_window_ends_and_a_new_window_counts_afresh(
    shared_cache, user, monkeypatch
):
    middle = limit_uploads(monkeypatch, "2/hour")  # half an hour left in the window
    client = client_for(user)
    responses = [client.post("/api/media/uploads/", {}, format="json") for _ in range(3)]
    assert [r.status_code for r in responses] == [400, 400, 429]  # invalid, but let through
    assert responses[2]["Retry-After"] == "1800" and responses[2].json()["code"] == "throttled"
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: middle + 1800))
    assert client.post("/api/media/uploads/", {}, format="json").status_code == 400


@pytest.mark.django_db
def test_users_are_counted_apart_and_anonymous_clients_by_address(user, other_user, settings):
    assert UploadThrottle().get_ident(api_request(user)) == f"user-{user.pk}"
    assert UploadThrottle().get_ident(api_request(other_user)) == f"user-{other_user.pk}"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    spoofed = api_request(HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7", REMOTE_ADDR="10.0.0.1")
    assert UploadThrottle().get_ident(spoofed) == "address-203.0.113.7"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.1"),  # no proxy: the header is the client's own writing
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.1.1.1, 203.0.113.7", "203.0.113.7"),  # what the client prepended is ignored
        (1, "1.1.1.1,2.2.2.2,203.0.113.7", "203.0.113.7"),
        (1, "2001:db8::1", "2001:db8::1"),
        (2, "1.1.1.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies: not trusted
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
        (1, None, "10.0.0.1"),
    ],
)
def test_the_client_is_the_entry_the_outermost_trusted_proxy_wrote(proxies, forwarded, expected):
    meta = {"REMOTE_ADDR": "10.0.0.1"}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(meta, proxies) == expected
