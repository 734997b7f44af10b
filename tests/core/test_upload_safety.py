"""Every upload path refuses what is not a plain image, and stores nothing when it does."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from core.models import Order
from media_store.models import StoredFile
from tests.support.clients import client_for
from tests.support.hostile import hostile_corpus
from tests.support.http import fetch
from tests.support.images import gps_jpeg_rotated, image_bytes, upload

pytestmark = pytest.mark.django_db

CORPUS = hostile_corpus()


def post_order(user, product, *files):
    data = {"lines": json.dumps([{"product": product.pk, "quantity": 1}]), "images": list(files)}
    return client_for(user).post("/api/core/orders/", data, format="multipart")


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 30


@pytest.mark.s3
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_upload_is_rejected_and_nothing_is_stored(name, user, product, s3, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 10_000_000
    data, expected_status = CORPUS[name]
    # A valid image first: it must not survive the bad one beside it.
    response = post_order(user, product, upload("ok.jpg"), upload("photo.jpg", data, "image/jpeg"))
    assert response.status_code == expected_status, (name, response.content)
    detail = response.json()["detail"]
    assert len(detail) > 20 and detail.endswith(".")
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []


@pytest.mark.s3
def test_oversized_file_is_413_and_nothing_is_stored(user, product, s3, settings):
    settings.MEDIA_MAX_UPLOAD_BYTES = 50_000
    big = image_bytes("PNG", size=(600, 600), color=None) + b"\x00" * 60_000
    response = post_order(user, product, upload("big.png", big, "image/png"))
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert s3.keys() == [] and StoredFile.objects.count() == 0


@pytest.mark.s3
def test_gps_exif_is_stripped_and_orientation_applied(user, product, s3):
    original = gps_jpeg_rotated()
    assert b"PhoneMaker" in original
    response = post_order(user, product, upload("holiday.jpg", original))
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    stored = fetch(image["url"]).body
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    result = Image.open(io.BytesIO(stored))
    assert not result.getexif()
    assert result.size == (20, 40) == (image["width"], image["height"])
    top, bottom = result.convert("RGB").getpixel((10, 5)), result.convert("RGB").getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # red on top after a clockwise turn
    assert bottom[2] > 200 and bottom[0] < 60


@pytest.mark.s3
def test_heic_is_converted_to_jpeg(user, product, s3):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buffer, format="HEIF", quality=80)
    response = post_order(user, product, upload("IMG_0001.HEIC", buffer.getvalue(), "image/heic"))
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    assert image["content_type"] == "image/jpeg" and image["name"] == "IMG_0001.HEIC"
    [key] = s3.keys()
    assert key.endswith(".jpg")
    head = s3.server.client().head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == "image/jpeg"


@pytest.mark.s3
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_accepted_format_is_stored_with_its_sniffed_type(fmt, user, product, s3):
    response = post_order(
        user, product, upload("file.bin", image_bytes(fmt), "application/octet-stream")
    )
    assert response.status_code == 201, response.content
    [key] = s3.keys()
    head = s3.server.client().head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == f"image/{fmt.lower()}"
    assert head["CacheControl"] == "private, no-store"
    assert head["ContentDisposition"] == "attachment"


@pytest.mark.s3
def test_animated_gif_keeps_its_frames(user, product, s3):
    frames = [Image.new("RGB", (10, 10), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    response = post_order(user, product, upload("a.gif", buffer.getvalue(), "image/gif"))
    assert response.status_code == 201, response.content
    stored = fetch(response.json()["images"][0]["image"]["url"]).body
    assert Image.open(io.BytesIO(stored)).n_frames == 3


@pytest.mark.s3
def test_stored_sha256_matches_the_stored_bytes(user, product, s3):
    import hashlib

    response = post_order(user, product, upload())
    stored = StoredFile.objects.get()
    body = fetch(response.json()["images"][0]["image"]["url"]).body
    assert hashlib.sha256(body).hexdigest() == stored.sha256 and len(body) == stored.size
