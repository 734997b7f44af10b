"""Request bodies through real gunicorn (the Django test client cannot send chunked ones)."""

from __future__ import annotations

import http.client
import json

import pytest

from tests.support.multipart import encode_multipart, request

pytestmark = pytest.mark.s3


def send_chunked(server, method: str, path: str, body: bytes, token: str, content_type: str):
    """``body`` with ``Transfer-Encoding: chunked`` (no Content-Length), in two chunks."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
        connection.request(method, path, body=iter([body[:10], body[10:]]), headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_chunked_bodies_are_refused_with_411_and_change_nothing(deployment, figures):
    server = deployment.start()
    product_id = deployment.product_id()
    staff, alice = deployment.tokens["staff"], deployment.tokens["alice"]
    url = f"/api/core/products/{product_id}/"
    patch = json.dumps({"description": "sent in chunks"}).encode()
    status, body = send_chunked(server, "PATCH", url, patch, staff, "application/json")
    assert status == 411 and body["code"] == "length_required"
    assert "Content-Length" in body["detail"]
    lines = json.dumps([{"product": product_id, "quantity": 1}])
    order, content_type = encode_multipart({"lines": lines}, [])
    status, body = send_chunked(server, "POST", "/api/core/orders/", order, alice, content_type)
    assert status == 411 and body["code"] == "length_required"
    assert deployment.order_count(server) == 0
    assert request("GET", server.url(url), token=staff).json()["description"] == ""
    # the same change with a Content-Length goes through
    sent = request("PATCH", server.url(url), token=staff, json_body={"description": "whole"})
    assert sent.status == 200 and sent.json()["description"] == "whole"
    figures("chunked PATCH and POST on the API: 411, nothing changed")
