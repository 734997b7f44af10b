"""Every upload path refuses what is not an image and stores nothing when it does; an
image carrying a payload is stored as its pixels only; no image gives a 500."""

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
from tests.support.images import (
    gps_jpeg_rotated,
    image_bytes,
    rotated_jpeg_with_broken_exif,
    upload,
)

pytestmark = pytest.mark.django_db

CORPUS = hostile_corpus()


def post_order(user, product, *files):
    data = {"lines": json.dumps([{"product": product.pk, "quantity": 1}]), "images": list(files)}
    return client_for(user).post("/api/core/orders/", data, format="multipart")


REFUSED = sorted(name for name, (_, status) in CORPUS.items() if status != 201)
VALID_POLYGLOTS = sorted(name for name, (_, status) in CORPUS.items() if status == 201)
MARKUP = (b"<script", b"<html", b"<?php", b"<svg", b"<!doctype", b"javascript:")


def test_corpus_is_big_enough():
    assert len(REFUSED) >= 30 and len(VALID_POLYGLOTS) >= 5


@pytest.mark.s3
@pytest.mark.parametrize("name", REFUSED)
def test_hostile_upload_is_rejected_and_nothing_is_stored(name, user, product, s3, settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 10_000_000
    settings.MEDIA_MAX_DECODE_MEMORY = 8 * 1024 * 1024
    data, expected_status = CORPUS[name]
    # A valid image first: it must not survive the bad one beside it.
    response = post_order(user, product, upload("ok.jpg"), upload("photo.jpg", data, "image/jpeg"))
    assert response.status_code == expected_status, (name, response.content)
    detail = response.json()["detail"]
    assert len(detail) > 20 and detail.endswith(".")
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []


@pytest.mark.s3
@pytest.mark.parametrize("name", VALID_POLYGLOTS)
def test_a_polyglot_that_is_a_valid_image_is_stored_without_its_payload(name, user, product, s3):
    data, _ = CORPUS[name]
    assert any(token in data.lower() for token in MARKUP)
    response = post_order(user, product, upload("photo.jpg", data, "image/jpeg"))
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    stored = fetch(image["url"])
    assert not any(token in stored.body.lower() for token in MARKUP)
    assert stored.headers["Content-Type"] == image["content_type"]  # sniffed, never declared
    assert stored.headers["Content-Disposition"] == "attachment"


@pytest.mark.s3
def test_an_image_whose_bytes_happen_to_spell_markup_is_accepted(user, product, s3):
    """Compressed data holds any byte sequence; only what we store counts."""
    picture = Image.frombytes("P", (32, 8), b"<svg onload=alert(1)><script>..." * 8)
    picture.putpalette(bytes(range(256)) * 3)  # a grey ramp: every index is used as is
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=0)  # palette rows stored as they are
    assert b"<svg onload" in buffer.getvalue()
    response = post_order(user, product, upload("scan.png", buffer.getvalue(), "image/png"))
    assert response.status_code == 201, response.content


@pytest.mark.s3
def test_malformed_exif_is_not_a_server_error(user, staff, product, s3):
    broken = rotated_jpeg_with_broken_exif()
    response = post_order(user, product, upload("broken-exif.jpg", broken))
    assert response.status_code == 201, response.content
    image = response.json()["images"][0]["image"]
    assert (image["width"], image["height"]) == (20, 40)  # its orientation still applied
    product_response = client_for(staff).post(
        "/api/core/products/",
        {"name": "Lamp", "price": "4.00", "image": upload("broken-exif.jpg", broken)},
        format="multipart",
    )
    assert product_response.status_code == 201, product_response.content
    assert product_response.json()["image"]["width"] == 20


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
