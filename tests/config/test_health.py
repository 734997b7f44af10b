"""/readyz: the status for anyone, each check's detail only for staff or the details token."""

from __future__ import annotations

import pytest
from django.test import Client
from knox.models import AuthToken

from config import health
from media_store.probes import storage_probe

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
