"""Direct uploads: the bucket enforces the policy; finalize validates like any upload."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from core.models import Order
from media_store.errors import InvalidImage
from media_store.models import PendingUpload, StoredFile
from tests.conftest import client_for
from tests.support.http import fetch
from tests.support.images import image_bytes
from tests.support.multipart import encode_multipart

pytestmark = pytest.mark.django_db


def issue(user, *, size=1000, content_type="image/jpeg", purpose="order"):
    return client_for(user).post(
        "/api/media/uploads/",
        {"purpose": purpose, "content_type": content_type, "size": size, "filename": "photo.jpg"},
        format="json",
    )


def send(grant: dict, data: bytes, *, content_type: str | None = None, **override: str):
    fields = {**grant["fields"], **override}
    if content_type:
        fields["Content-Type"] = content_type
    body, header = encode_multipart(fields, [("file", "photo.jpg", data, fields["Content-Type"])])

    req = urllib.request.Request(
        grant["url"], data=body, method="POST", headers={"Content-Type": header}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


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
    grant = issue(user, size=len(data), content_type="image/png").json()
    assert grant["fields"]["key"].startswith("private/uploads/")
    status, _ = send(grant, data)
    assert status == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = order_with(user, product, grant["id"])
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    assert image["content_type"] == "image/png" and image["name"] == "photo.jpg"
    assert fetch(image["url"]).status == 200
    assert s3.keys("private/uploads/") == []  # staging object removed
    assert PendingUpload.objects.count() == 0
    again = order_with(user, product, grant["id"])  # an upload is consumed once
    assert again.status_code == 400 and "Upload the file again" in again.json()["detail"]


@pytest.mark.s3
def test_the_bucket_rejects_what_the_policy_forbids(user, s3):
    grant = issue(user, size=100).json()
    max_bytes = grant["max_bytes"]
    status, body = send(grant, b"\xff" * (max_bytes + 1))
    assert status == 400 and b"EntityTooLarge" in body
    status, body = send(grant, image_bytes(), content_type="text/html")
    assert status == 403 and b"Content-Type" in body
    status, body = send(grant, image_bytes(), key="private/uploads/someone-elses")
    assert status == 403 and b"key" in body
    status, body = send(grant, image_bytes(), key="media/products/evil.jpg")
    assert status == 403
    tampered = dict(grant["fields"])
    tampered["x-amz-signature"] = "0" * 64
    status, _ = send({**grant, "fields": tampered}, image_bytes())
    assert status == 403
    assert s3.keys() == []


@pytest.mark.s3
def test_finalize_rejects_a_non_image_sent_as_jpeg(user, product, s3):
    html = b"<html><script>alert(1)</script></html>"
    grant = issue(user, size=len(html)).json()
    assert send(grant, html)[0] == 204  # the bucket cannot know; finalize must
    response = order_with(user, product, grant["id"])
    assert response.status_code == 415
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []  # the staging object is gone too


@pytest.mark.s3
def test_uploads_belong_to_their_owner(user, other_user, product, s3):
    grant = issue(user).json()
    send(grant, image_bytes())
    stolen = order_with(other_user, product, grant["id"])
    assert stolen.status_code == 400
    assert order_with(user, product, grant["id"]).status_code == 201


def test_only_authenticated_users_get_signatures_and_only_staff_for_products(user):
    assert client_for().post("/api/media/uploads/", {}, format="json").status_code in (401, 403)
    response = issue(user, purpose="product")
    assert response.status_code in (403, 409)


@pytest.mark.s3
def test_request_validation(user, staff, s3, settings):
    assert issue(user, content_type="image/svg+xml").status_code == 415
    assert issue(user, size=settings.MEDIA_MAX_UPLOAD_BYTES + 1).status_code == 413
    assert issue(user, purpose="product").status_code == 403
    assert issue(staff, purpose="product").status_code == 201
    assert issue(user, purpose="nope").status_code == 400


def test_local_mode_says_direct_uploads_are_unavailable(user):
    response = issue(user)
    assert response.status_code == 409
    assert "USE_S3" in response.json()["detail"]


@pytest.mark.s3
def test_expired_uploads_are_cleaned_up(user, s3):
    grant = issue(user).json()
    send(grant, image_bytes())
    assert len(s3.keys("private/uploads/")) == 1
    PendingUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("media_cleanup_uploads", stdout=io.StringIO())
    assert s3.keys() == [] and PendingUpload.objects.count() == 0


@pytest.mark.s3
def test_product_images_get_webp_renditions_as_srcset(staff, s3, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200, 5000]
    data = image_bytes("JPEG", size=(400, 300))
    response = client_for(staff).post(
        "/api/core/products/",
        {"name": "Lamp", "price": "4.00", "image": io.BytesIO(data)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    image = response.json()["image"]
    entries = [part.strip().split(" ") for part in image["srcset"].split(",")]
    assert [width for _, width in entries] == ["100w", "200w"]  # never wider than the original
    for url, width in entries:
        fetched = fetch(url)
        assert fetched.status == 200
        rendition = Image.open(io.BytesIO(fetched.body))
        assert rendition.format == "WEBP" and rendition.width == int(width[:-1])
    assert len(s3.keys("media/products/")) == 3
    listed = client_for().get("/api/core/products/").json()["results"][0]["image"]["srcset"]
    assert listed == image["srcset"]


@pytest.mark.s3
def test_staff_direct_upload_for_a_product(staff, s3, django_capture_on_commit_callbacks):
    data = image_bytes("JPEG", size=(700, 500))
    grant = issue(staff, size=len(data), purpose="product").json()
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


@pytest.mark.s3
def test_an_upload_being_finalized_cannot_be_claimed_again(user, s3):
    from media_store.direct import claim_pending, release_pending

    grant = issue(user).json()
    [claimed] = claim_pending(user, [grant["id"]], purpose="order")
    with pytest.raises(InvalidImage, match="already used"):
        claim_pending(user, [grant["id"]], purpose="order")
    release_pending([claimed])
    assert claim_pending(user, [grant["id"]], purpose="order")


@pytest.mark.s3
def test_a_store_outage_during_finalize_keeps_the_upload_for_a_retry(
    user, product, s3, settings, tmp_path
):
    from tests.conftest import storages_for
    from tests.support.s3 import free_port

    data = image_bytes()
    grant = issue(user, size=len(data)).json()
    assert send(grant, data)[0] == 204
    working = settings.STORAGES
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    assert order_with(user, product, grant["id"]).status_code == 503
    settings.STORAGES = working
    assert order_with(user, product, grant["id"]).status_code == 201
