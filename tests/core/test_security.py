from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.models import Product
from media_store.models import StoredFile
from media_store.uploads import intake
from tests.support.clients import client_for, session_client
from tests.support.images import image_bytes, upload
from tests.support.throttles import limit_uploads

pytestmark = pytest.mark.django_db

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def order_data(product, *files):
    return {
        "lines": json.dumps([{"product": product.pk, "quantity": 1}]),
        "images": list(files) or [upload()],
    }


def test_session_uploads_need_a_csrf_token(user, product):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/core/orders/", order_data(product), format="multipart")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert StoredFile.objects.count() == 0


def test_upload_endpoints_are_throttled(user, product, monkeypatch):
    cache.clear()
    limit_uploads(monkeypatch, "2/minute")
    client = client_for(user)
    statuses = [
        client.post("/api/core/orders/", order_data(product), format="multipart").status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert client.get("/api/core/orders/").status_code == 200  # reads are not throttled
    cache.clear()


def test_declared_body_too_large_is_refused_before_parsing(user, product, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    settings.MEDIA_MAX_FILES_PER_REQUEST = 2
    response = client_for(user).post(
        "/api/core/orders/",
        order_data(product, upload("a.png", image_bytes("PNG", size=(400, 400), color=None))),
        format="multipart",
        CONTENT_LENGTH="999999999",
    )
    assert response.status_code == 413
    assert "at most 2 files" in response.json()["detail"]


def test_a_file_over_the_limit_is_cut_off_while_streaming(user, product, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 200_000
    settings.MEDIA_MAX_FILES_PER_REQUEST = 5
    big = upload("big.jpg", b"\xff\xd8\xff" + b"\x00" * 300_000)
    response = client_for(user).post(
        "/api/core/orders/", order_data(product, big), format="multipart"
    )
    assert response.status_code == 413
    body = response.json()
    assert "big.jpg" in body["detail"] and body["field"] == "images"


@pytest.mark.s3
def test_private_objects_have_no_public_grant(user, product, s3):
    client_for(user).post("/api/core/orders/", order_data(product), format="multipart")
    [key] = s3.keys("private/")
    acl = s3.server.client().get_object_acl(Bucket=s3.bucket, Key=key)
    assert all(grant["Grantee"].get("URI") != ALL_USERS for grant in acl["Grants"])


def test_admin_upload_goes_through_the_same_checks(staff, local_media):
    client = APIClient()
    client.force_login(staff)
    staff.is_superuser = True
    staff.save()
    bad = client.post(
        "/admin/core/product/add/",
        {
            "name": "Evil",
            "slug": "evil",
            "price": "1.00",
            "upload": upload("x.png", b"<svg onload=alert(1)>"),
        },
    )
    assert bad.status_code == 200  # the form again, with the error
    assert b"SVG" in bad.content
    assert Product.objects.count() == 0 and StoredFile.objects.count() == 0
    with mock.patch.object(intake, "prepare_image", wraps=intake.prepare_image) as prepare:
        good = client.post(
            "/admin/core/product/add/",
            {
                "name": "Good",
                "slug": "good",
                "price": "1.00",
                "upload": upload("x.png", image_bytes("PNG")),
            },
        )
    assert good.status_code == 302
    assert prepare.call_count == 1  # the form validates; the service does not do it again
    product = Product.objects.get()
    assert product.image.content_type == "image/png"
    page = client.get(f"/admin/core/product/{product.pk}/change/")
    assert b"<img src=" in page.content


def test_a_session_upload_over_the_limit_is_cut_off_while_streaming_too(user, product, settings):
    """The CSRF check reads the form before the view: it must use the same bounded parser."""
    settings.MEDIA_MAX_UPLOAD_BYTES = 200_000
    big = upload("big.jpg", b"\xff\xd8\xff" + b"\x00" * 300_000)
    response = session_client(user).post(
        "/api/core/orders/", order_data(product, big), format="multipart"
    )
    assert response.status_code == 413
    assert "big.jpg" in response.json()["detail"]
