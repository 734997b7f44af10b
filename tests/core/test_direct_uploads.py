"""The shop's use of direct uploads: orders and products made from upload ids."""

from __future__ import annotations

import io
import json
import re

import blurhash
import pytest
from PIL import Image

from core.models import Order
from core.services import ORDER_IMAGES, PRODUCT_IMAGE
from media_store.models import StoredFile
from tests.support.clients import client_for
from tests.support.direct import issue, send
from tests.support.http import fetch
from tests.support.images import image_bytes, photo_jpeg
from tests.support.tasks import drain

pytestmark = pytest.mark.django_db


def order_with(user, product, *upload_ids):
    lines = [{"product": product.pk, "quantity": 1}]
    return client_for(user).post(
        "/api/core/orders/",
        {"lines": lines, "uploads": [str(i) for i in upload_ids]},
        format="json",
    )


@pytest.mark.s3
def test_direct_upload_then_finalize_into_an_order(
    user, product, s3, django_capture_on_commit_callbacks
):
    data = image_bytes("PNG", size=(80, 60))
    grant = issue(user, purpose=ORDER_IMAGES, size=len(data), content_type="image/png").json()
    assert send(grant, data)[0] == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = order_with(user, product, grant["id"])
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    assert image["content_type"] == "image/png" and image["name"] == "photo.jpg"
    assert fetch(image["url"]).status == 200
    assert s3.keys("private/uploads/") == []
    again = order_with(user, product, grant["id"])  # an upload is consumed once
    assert again.status_code == 400 and again.json()["code"] == "unknown_upload"
    assert "Upload the file again" in again.json()["detail"]


@pytest.mark.s3
def test_a_refused_direct_upload_stores_no_order(user, product, s3):
    html = b"<html><script>alert(1)</script></html>"
    grant = issue(user, purpose=ORDER_IMAGES, size=len(html)).json()
    assert send(grant, html)[0] == 204
    response = order_with(user, product, grant["id"])
    assert response.status_code == 415
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []


@pytest.mark.s3
def test_another_customers_upload_cannot_be_ordered(user, other_user, product, s3):
    data = image_bytes()
    grant = issue(user, purpose=ORDER_IMAGES, size=len(data)).json()
    send(grant, data)
    assert order_with(other_user, product, grant["id"]).status_code == 400
    assert order_with(user, product, grant["id"]).status_code == 201


def test_only_staff_get_grants_for_product_images(user):
    assert issue(user, purpose=PRODUCT_IMAGE).status_code == 403


@pytest.mark.s3
def test_product_images_get_avif_and_webp_renditions_and_a_placeholder(staff, s3, settings):
    settings.MEDIA_RENDITION_FORMATS = ["avif", "webp"]
    settings.MEDIA_RENDITION_WIDTHS = [640, 1280, 5000]
    data = photo_jpeg(2600, 1950, megabytes=2)  # a photo AVIF pays off for
    response = client_for(staff).post(
        "/api/core/products/",
        {"name": "Lamp", "price": "4.00", "image": io.BytesIO(data)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    image = response.json()["image"]
    assert image["srcset"] == ""  # made in the background: the original serves until then
    assert image["placeholder"] is None
    assert [(r["width"], r["content_type"], r["state"], r["url"]) for r in image["renditions"]] == [
        (640, "image/avif", "pending", None),
        (640, "image/webp", "pending", None),
        (1280, "image/avif", "pending", None),
        (1280, "image/webp", "pending", None),  # never wider than the original
    ]
    assert drain() == 1
    image = client_for().get("/api/core/products/").json()["results"][0]["image"]
    assert [r["state"] for r in image["renditions"]] == ["ready"] * 4
    entries = [part.strip().split(" ") for part in image["srcset"].split(",")]
    assert [width for _, width in entries] == ["640w", "1280w"]  # srcset: the WebP ones
    sizes = {}
    for rendition in image["renditions"]:
        fetched = fetch(rendition["url"])
        assert fetched.status == 200
        headers = {name.lower(): value for name, value in fetched.headers.items()}
        assert headers["content-type"] == rendition["content_type"]
        decoded = Image.open(io.BytesIO(fetched.body))
        assert decoded.get_format_mimetype() == rendition["content_type"]
        assert decoded.width == rendition["width"]
        sizes[(rendition["width"], rendition["content_type"])] = len(fetched.body)
    for width in (640, 1280):
        assert sizes[(width, "image/avif")] < sizes[(width, "image/webp")]
    assert len(s3.keys("media/products/")) == 5
    placeholder = image["placeholder"]
    assert re.fullmatch(r"#[0-9a-f]{6}", placeholder["color"])
    assert blurhash.is_valid_blurhash(placeholder["blurhash"])


@pytest.mark.s3
def test_avif_renditions_that_would_be_larger_are_not_made(staff, s3, settings):
    settings.MEDIA_RENDITION_FORMATS = ["avif", "webp"]
    settings.MEDIA_RENDITION_WIDTHS = [100, 200]
    data = image_bytes("JPEG", size=(400, 300))  # one flat colour: WebP is a few bytes
    response = client_for(staff).post(
        "/api/core/products/",
        {"name": "Flat", "price": "4.00", "image": io.BytesIO(data)},
        format="multipart",
    )
    assert len(response.json()["image"]["renditions"]) == 4  # pending: both kinds
    drain()
    image = client_for().get("/api/core/products/").json()["results"][0]["image"]
    assert [(r["content_type"], r["state"]) for r in image["renditions"]] == [
        ("image/webp", "ready"),
        ("image/webp", "ready"),
    ]
    assert len(s3.keys("media/products/")) == 3
    assert image["placeholder"]["color"] == "#fe0000"  # the JPEG's red


@pytest.mark.s3
def test_staff_direct_upload_for_a_product(staff, s3, django_capture_on_commit_callbacks):
    data = image_bytes("JPEG", size=(700, 500))
    grant = issue(staff, purpose=PRODUCT_IMAGE, size=len(data)).json()
    assert send(grant, data)[0] == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff).post(
            "/api/core/products/",
            {"name": "Direct", "price": "2.00", "upload": grant["id"]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["image"]["width"] == 700
    assert s3.keys("private/uploads/") == []


def test_json_lines_also_work_for_plain_requests(user, product):
    response = client_for(user).post(
        "/api/core/orders/",
        {"lines": json.dumps([{"product": product.pk, "quantity": 1}])},
        format="json",
    )
    assert response.status_code == 400 and "at least one image" in json.dumps(response.json())


def test_an_upload_id_cannot_be_used_twice_in_one_order(user, product):
    upload_id = "6f1c1e9e-0d5b-4a57-9d3c-2d1f3f1b2a10"
    response = order_with(user, product, upload_id, upload_id)
    assert response.status_code == 400 and "uploads" in response.json()
