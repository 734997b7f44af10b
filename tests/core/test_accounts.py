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
    assert 895 <= retry_after(locked) <= 900
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


def fail_to_sign_in(times: int, username: str = "alice", **extra) -> list[int]:
    return [sign_in(username, f"wrong-{n}", **extra).status_code for n in range(times)]


@pytest.mark.parametrize(
    ("proxies", "attacker", "victim"),
    [
        # The platform's proxy appends what it saw; the attacker writes his own entries
        # to the left (any number), and so may a proxy of the victim's own.
        (1, "6.6.6.6, 203.0.113.66", "10.1.1.1, 203.0.113.7"),
        (1, "6.6.6.6, 7.7.7.7, 203.0.113.66", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.66, 10.0.0.2", "10.1.1.1, 203.0.113.7, 10.0.0.2"),
        (2, "203.0.113.66, 10.0.0.2", "203.0.113.7, 10.0.0.3"),
    ],
)
def test_behind_proxies_the_address_the_outermost_one_saw_is_counted(
    user, other_user, settings, proxies, attacker, victim
):
    """An attacker who writes his own X-Forwarded-For locks out his own address only."""
    settings.TRUSTED_PROXY_COUNT = proxies
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [
        sign_in(f"nobody-{n}", "bad", HTTP_X_FORWARDED_FOR=attacker).status_code for n in range(3)
    ]
    assert statuses == [400, 400, 429]
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
    assert sign_in("bob", "pw-bob-123", HTTP_X_FORWARDED_FOR=attacker).status_code == 429
    # everybody else, header or not, signs in
    assert sign_in(HTTP_X_FORWARDED_FOR=victim).status_code == 200
    assert sign_in("bob", "pw-bob-123", REMOTE_ADDR="10.0.0.7").status_code == 200


def test_a_header_with_fewer_entries_than_proxies_is_not_trusted(user, settings):
    """With 2 proxies, a request with one entry did not come through both: the address
    it came from is counted, so rotating the header dodges nothing."""
    settings.TRUSTED_PROXY_COUNT = 2
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        sign_in(f"x{n}", "bad", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", REMOTE_ADDR="10.0.0.5")
    assert sign_in(HTTP_X_FORWARDED_FOR="198.51.100.9", REMOTE_ADDR="10.0.0.5").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.5"}


def age_attempts(minutes: float) -> None:
    """Move every recorded failure ``minutes`` into the past."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=minutes))


def retry_after(response) -> int:
    return int(response["Retry-After"])


def test_attempts_during_a_lockout_neither_extend_it_nor_count(user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert fail_to_sign_in(2) == [400, 429]
    age_attempts(10)
    for locked in (sign_in(password="wrong-again"), sign_in()):
        assert locked.status_code == 429
        assert 295 <= retry_after(locked) <= 300  # what is left of the 15 minutes
        assert "Try again in 5 minutes" in locked.json()["detail"]
    [attempt] = AccessAttempt.objects.all()
    assert attempt.failures_since_start == 2
    assert timezone.now() - attempt.attempt_time > timedelta(minutes=9)
    age_attempts(15)
    assert sign_in().status_code == 200


def test_a_locked_address_does_not_lock_the_accounts_it_names(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        sign_in(f"nobody-{n}", "x", REMOTE_ADDR="10.9.9.9")
    for _ in range(5):  # alice, right or wrong password, from the locked address
        assert sign_in(REMOTE_ADDR="10.9.9.9").status_code == 429
        assert sign_in(password="bad", REMOTE_ADDR="10.9.9.9").status_code == 429
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert sign_in(REMOTE_ADDR="10.9.9.10").status_code == 200


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
    assert locked.status_code == 429 and 895 <= retry_after(locked) <= 900
    assert b"Too many failed sign-in attempts" in locked.content
    assert b"Try again in 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session
    age_attempts(14)
    later = client.post(url, {"username": username, "password": right})
    assert later.status_code == 429 and 55 <= retry_after(later) <= 60
    assert b"Try again in 1 minute." in later.content


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
