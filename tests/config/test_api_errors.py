"""Every error on an /api/ path is JSON ``{"detail", "code"}``; other paths keep HTML pages."""

from __future__ import annotations

import pytest
from django.test import Client

from core import selectors
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["detail"], body
    return body


@pytest.mark.parametrize("path", ["/api/nothing/", "/api/core/products/1/extra/", "/api/"])
def test_unknown_api_paths_are_404_json(path):
    assert_json_error(Client().get(path), 404, "not_found")


def test_unknown_pages_elsewhere_stay_html():
    response = Client().get("/nothing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_server_error_is_json_on_the_api_and_a_page_elsewhere(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(selectors, "product_list", broken)
    client = Client(raise_request_exception=False)
    body = assert_json_error(client.get("/api/core/products/"), 500, "server_error")
    assert "bug" not in body["detail"]  # nothing internal is shown
    page = client.get("/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_drf_errors_carry_their_code(user, staff, product):
    anonymous, customer = client_for(), client_for(user)
    assert_json_error(anonymous.get("/api/core/orders/"), 401, "not_authenticated")
    bad_token = Client().get("/api/core/orders/", HTTP_AUTHORIZATION="Token nope")
    assert_json_error(bad_token, 401, "authentication_failed")
    assert_json_error(
        customer.post("/api/core/products/", {"name": "x", "price": "1"}), 403, "permission_denied"
    )
    assert_json_error(anonymous.get("/api/core/products/999999/"), 404, "not_found")
    assert_json_error(anonymous.get("/api/auth/token/"), 405, "method_not_allowed")
    staff_client = client_for(staff)
    malformed = staff_client.post("/api/core/products/", "{", content_type="application/json")
    assert_json_error(malformed, 400, "parse_error")
    text = staff_client.post("/api/core/products/", "x", content_type="text/plain")
    assert_json_error(text, 415, "unsupported_media_type")


def test_wrong_credentials_are_a_400_with_a_code(user):
    response = client_for().post("/api/auth/token/", {"username": "alice", "password": "no"})
    assert_json_error(response, 400, "invalid_credentials")


def test_field_errors_keep_drfs_per_field_format(staff):
    response = client_for(staff).post("/api/core/products/", {"price": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "price"}


def test_api_paths_answer_without_their_trailing_slash(user, product):
    import json as _json

    response = client_for(user).post(
        "/api/core/orders",
        {"lines": _json.dumps([{"product": product.pk, "quantity": 1}])},
        format="multipart",
    )
    assert response.status_code == 400  # the endpoint answered (no images): not a 500 page
    assert response.json()["code"] == "invalid_order"
    assert client_for(user).get("/api/core/products").status_code == 200
    missing = client_for(user).get("/api/core/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_bearer_token_is_told_to_use_the_token_scheme(client, user):
    response = client.get("/api/core/orders/", HTTP_AUTHORIZATION="Bearer abc123")
    assert response.status_code == 401
    assert "Authorization: Token" in response.json()["detail"]
