"""API tokens (hashed, expiring, revocable) and login lockout on the API, the form and the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.support.clients import client_for

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


def sign_in(username="alice", password="pw-alice-123", **extra):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, **extra)


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_is_returned_with_its_expiry_and_stored_hashed(user, settings):
    response = sign_in()
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"token", "expiry"}
    token = body["token"]
    assert with_token(token).get("/api/core/orders/").status_code == 200
    [stored] = AuthToken.objects.filter(user=user)
    assert token not in (stored.digest, stored.token_key) and len(stored.digest) == 128
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    assert abs(stored.expiry - (timezone.now() + ttl)) < timedelta(minutes=1)


def test_an_expired_token_is_refused(user):
    token = sign_in().json()["token"]
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = with_token(token).get("/api/core/orders/")
    assert response.status_code == 401


def test_logout_revokes_this_token_and_logout_all_every_token(user):
    first, second, third = (sign_in().json()["token"] for _ in range(3))
    assert with_token(first).post("/api/auth/logout/").status_code == 204
    assert with_token(first).get("/api/core/orders/").status_code == 401
    assert with_token(second).get("/api/core/orders/").status_code == 200
    assert with_token(second).post("/api/auth/logout-all/").status_code == 204
    assert with_token(third).get("/api/core/orders/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_staff_revoke_all_tokens_of_a_user_from_the_admin(user, other_user, staff):
    alice_token = sign_in().json()["token"]
    bob_token = sign_in("bob", "pw-bob-123").json()["token"]
    staff.is_superuser = True
    staff.save()
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "revoke_api_tokens", "_selected_action": [user.pk]},
        follow=True,
    )
    assert b"1 API token(s) revoked" in response.content
    assert with_token(alice_token).get("/api/core/orders/").status_code == 401
    assert with_token(bob_token).get("/api/core/orders/").status_code == 200


def test_wrong_password_is_a_400_without_a_token(user):
    response = sign_in(password="wrong")
    assert response.status_code == 400 and "token" not in response.json()


def test_api_locks_a_username_out_after_the_failure_limit(user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    statuses = [sign_in(password=f"wrong-{n}").status_code for n in range(5)]
    assert statuses == [400] * 4 + [429]  # the fifth failure locks
    locked = sign_in()  # the right password no longer helps
    assert locked.status_code == 429
    assert (
        locked.json()["code"] == "locked_out"
        and "Try again in 15 minutes" in locked.json()["detail"]
    )
    assert locked["Retry-After"] == str(15 * 60)
    # from another address too: the username is locked, whatever the address
    assert sign_in(REMOTE_ADDR="10.1.2.3").status_code == 429
    assert not AuthToken.objects.exists()


def test_api_locks_an_address_out_whatever_the_usernames(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(2):
        assert sign_in(f"nobody-{n}", "x", REMOTE_ADDR="10.9.9.9").status_code == 400
    assert sign_in("nobody-3", "x", REMOTE_ADDR="10.9.9.9").status_code == 429
    assert sign_in(REMOTE_ADDR="10.9.9.9").status_code == 429  # alice, right password
    assert sign_in(REMOTE_ADDR="10.9.9.10").status_code == 200  # another address is fine


def test_lockout_ends_after_the_cool_off(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    sign_in(password="x")
    sign_in(password="y")
    assert sign_in().status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in().status_code == 200


def test_behind_a_proxy_the_address_it_saw_is_counted(user, settings):
    """TRUSTED_PROXY_COUNT=1: the proxy appends the client's address; what is left of it
    is the client's own writing and cannot dodge the lockout."""
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_IPWARE_PROXY_COUNT = 0
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    for n, spoofed in enumerate(("1.1.1.1", "2.2.2.2")):
        sign_in(f"x{n}", "bad", HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.7")
    assert sign_in(HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.7").status_code == 429
    assert sign_in(HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200  # another client


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_login_forms_lock_out_with_a_clear_message(user, staff, settings, url):
    settings.AXES_FAILURE_LIMIT = 3
    username = "staff" if url.startswith("/admin") else "alice"
    client = Client()
    for n in range(2):
        failed = client.post(url, {"username": username, "password": f"bad-{n}"})
        assert failed.status_code == 200  # the form again, with its error
    assert client.post(url, {"username": username, "password": "bad-3"}).status_code == 429
    right = "pw-staff-123" if username == "staff" else "pw-alice-123"
    locked = client.post(url, {"username": username, "password": right})
    assert locked.status_code == 429 and locked["Retry-After"] == str(15 * 60)
    assert b"Too many failed sign-in attempts" in locked.content
    assert b"Try again in 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_resets_the_count(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        sign_in(password="bad")
    assert sign_in().status_code == 200
    for _ in range(2):
        sign_in(password="bad")
    assert sign_in().status_code == 200


def test_session_and_token_auth_both_work_for_the_api(user):
    assert client_for(user).get("/api/core/orders/").status_code == 200
    assert APIClient().get("/api/core/orders/").status_code in (401, 403)
