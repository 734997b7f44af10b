"""/readyz: the status for anyone, each check's detail only for staff or the details token."""

from __future__ import annotations

import pytest
from django.test import Client
from knox.models import AuthToken

from config import health
from media_store.storage.probes import storage_probe
from tests.support.django_shell import django_shell
from tests.support.redis_server import REDIS_URL
from tests.support.s3 import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_probe():
    storage_probe.reset()
    yield
    storage_probe.reset()


def readyz(client: Client | None = None, **headers: str):
    return (client or Client()).get("/readyz", **headers)


def test_anonymous_callers_get_the_status_only(settings, local_media):
    response = readyz()
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert str(local_media) not in response.content.decode()


def test_staff_sessions_and_staff_tokens_get_the_details(staff, user, local_media):
    session = Client()
    session.force_login(staff)
    checks = readyz(session).json()["checks"]
    assert checks == {
        "database": {"ok": True, "detail": "ok"},
        "storage": {"ok": True, "detail": "local media directories writable"},
        "worker": {"ok": False, "detail": "No background worker has ever been seen."},
    }
    _, staff_token = AuthToken.objects.create(user=staff)
    assert "checks" in readyz(HTTP_AUTHORIZATION=f"Token {staff_token}").json()
    customer = Client()
    customer.force_login(user)
    assert readyz(customer).json() == {"status": "ok"}
    _, customer_token = AuthToken.objects.create(user=user)
    assert readyz(HTTP_AUTHORIZATION=f"Token {customer_token}").json() == {"status": "ok"}
    assert readyz(HTTP_AUTHORIZATION="Token not-a-token").json() == {"status": "ok"}


def test_the_configured_token_gets_the_details(settings, local_media):
    settings.HEALTH_DETAILS_TOKEN = "monitor-secret"
    assert "checks" in readyz(HTTP_AUTHORIZATION="Bearer monitor-secret").json()
    assert readyz(HTTP_AUTHORIZATION="Bearer wrong").json() == {"status": "ok"}
    settings.HEALTH_DETAILS_TOKEN = ""
    assert readyz(HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}


def test_a_failing_check_is_a_503_named_only_in_the_details(settings, local_media, monkeypatch):
    settings.HEALTH_DETAILS_TOKEN = "monitor-secret"
    monkeypatch.setitem(
        health.READINESS_CHECKS, "queue", lambda: health.CheckResult(False, "queue is full")
    )
    anonymous = readyz()
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "unavailable"}
    detailed = readyz(HTTP_AUTHORIZATION="Bearer monitor-secret").json()
    assert detailed["checks"]["queue"] == {"ok": False, "detail": "queue is full"}
    assert detailed["checks"]["database"]["ok"] is True


def test_a_missing_worker_is_reported_but_the_instance_stays_ready(settings, local_media):
    from jobs.heartbeat import beat

    settings.HEALTH_DETAILS_TOKEN = "monitor-secret"
    response = readyz(HTTP_AUTHORIZATION="Bearer monitor-secret")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["ok"] is False
    beat("worker-1")
    worker = readyz(HTTP_AUTHORIZATION="Bearer monitor-secret").json()["checks"]["worker"]
    assert worker["ok"] is True and worker["detail"].startswith("worker seen")


SHOW_CHECKS = (
    "from config.health import READINESS_CHECKS as c; "
    "r = c['cache']() if 'cache' in c else None; print(sorted(c), r and r.ok)"
)


def test_with_redis_the_cache_is_a_readiness_check():
    assert django_shell(SHOW_CHECKS) == "['database', 'storage'] None"
    closed = f"redis://127.0.0.1:{free_port()}/0"
    assert django_shell(SHOW_CHECKS, REDIS_URL=closed) == "['cache', 'database', 'storage'] False"
    assert django_shell(SHOW_CHECKS, REDIS_URL=REDIS_URL).endswith("True")


def test_an_unreachable_redis_makes_the_instance_unready(settings, local_media, monkeypatch):
    settings.HEALTH_DETAILS_TOKEN = "monitor-secret"
    monkeypatch.setitem(health.READINESS_CHECKS, "cache", health.cache_check)
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    settings.CACHES = {"default": {**redis, "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    down = readyz(HTTP_AUTHORIZATION="Bearer monitor-secret")
    assert down.status_code == 503
    cache = down.json()["checks"]["cache"]
    assert cache["ok"] is False and cache["detail"].startswith("error:")
    settings.CACHES = {"default": {**redis, "LOCATION": REDIS_URL}}
    assert readyz().status_code == 200
