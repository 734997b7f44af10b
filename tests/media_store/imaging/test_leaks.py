"""Nothing personal reaches the store: every path that writes bytes, searched for planted data.

Each image carries e-mail addresses and names in every place its format allows
(EXIF/GPS, XMP, comments, text chunks, IPTC, thumbnails, segments between progressive
scans, data after the end). The stored object and every rendition are fetched back
from the real S3 gateway and must not contain any of it.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.media_store.testapp.services import BANNER, PRIVATE_NOTE, attach
from tests.support import metadata
from tests.support.tasks import drain

pytestmark = [pytest.mark.django_db, pytest.mark.s3]

SAMPLES = {
    "jpeg": lambda: metadata.jpeg((640, 320)),
    "progressive-jpeg": lambda: metadata.jpeg((640, 320), progressive=True),
    "rotated-jpeg": lambda: metadata.jpeg((640, 320), orientation=6),
    "gif": lambda: metadata.gif(1, (400, 200)),
    "animated-gif": lambda: metadata.gif(3, (400, 200)),
    "png": lambda: metadata.png(1, (400, 200)),
    "apng": lambda: metadata.png(3, (400, 200)),
    "webp": lambda: metadata.webp(1, (400, 200)),
    "animated-webp": lambda: metadata.webp(3, (400, 200)),
    "heic": lambda: metadata.heic((640, 320)),
}


def stored_objects(attachment) -> dict[str, bytes]:
    """The original and its renditions (made by the background task, run here first)."""
    drain()
    stored = attachment.file
    objects = {stored.key: stored.storage.open(stored.key).read()}
    for rendition in stored.renditions.all():
        objects[rendition.key] = stored.storage.open(rendition.key).read()
    return objects


@pytest.mark.parametrize("purpose", [PRIVATE_NOTE, BANNER])
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_no_planted_data_survives_in_any_stored_byte(sample, purpose, staff, s3, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200]
    original = SAMPLES[sample]()
    assert metadata.LEAK in original
    [attachment] = attach(user=staff, purpose=purpose, files=[io.BytesIO(original)])
    objects = stored_objects(attachment)
    assert len(objects) == (3 if purpose == BANNER else 1)  # original + renditions
    for key, body in objects.items():
        assert metadata.LEAK not in body, (key, body[body.find(metadata.LEAK) - 20 :][:80])
        assert b"@example.com" not in body, key
        image = Image.open(io.BytesIO(body))
        assert not image.getexif(), key
        assert not {"comment", "xmp", "exif", "Comment", "Author", "XML:com.adobe.xmp"} & set(
            image.info
        ), (key, image.info.keys())


@pytest.mark.parametrize("sample", ["jpeg", "png", "apng", "webp", "animated-webp"])
def test_the_colour_profile_is_kept(sample, staff, s3):
    [attachment] = attach(user=staff, purpose=BANNER, files=[io.BytesIO(SAMPLES[sample]())])
    stored = attachment.file
    image = Image.open(stored.storage.open(stored.key))
    assert image.info.get("icc_profile") == metadata.ICC


@pytest.mark.parametrize("purpose", [PRIVATE_NOTE, BANNER])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_colour_profile_that_is_not_one_is_dropped(fmt, purpose, staff, s3):
    blob = b"LEAK-not-a-profile " * 200
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, fmt, icc_profile=blob)
    [attachment] = attach(user=staff, purpose=purpose, files=[io.BytesIO(buffer.getvalue())])
    body = stored_objects(attachment)[attachment.file.key]
    assert metadata.LEAK not in body
    assert "icc_profile" not in Image.open(io.BytesIO(body)).info


def test_an_upright_product_jpeg_keeps_its_pixels(staff, s3):
    original = metadata.jpeg((640, 320), progressive=True)
    [attachment] = attach(user=staff, purpose=BANNER, files=[io.BytesIO(original)])
    stored = attachment.file
    body = stored.storage.open(stored.key).read()
    decoded = Image.open(io.BytesIO(body))
    assert decoded.info.get("progressive")  # the very same scans, not a re-encode
    assert (
        decoded.convert("RGB").tobytes()
        == Image.open(io.BytesIO(original)).convert("RGB").tobytes()
    )
    assert (stored.width, stored.height, stored.size) == (640, 320, len(body))


@pytest.mark.parametrize("sample", ["rotated-jpeg"])
@pytest.mark.parametrize("purpose", [PRIVATE_NOTE, BANNER])
def test_a_rotated_jpeg_is_stored_upright(sample, purpose, staff, s3):
    [attachment] = attach(user=staff, purpose=purpose, files=[io.BytesIO(SAMPLES[sample]())])
    stored = attachment.file
    image = Image.open(stored.storage.open(stored.key)).convert("RGB")
    assert image.size == (320, 640) == (stored.width, stored.height)
    top, bottom = image.getpixel((160, 20)), image.getpixel((160, 620))
    assert top[0] > 180 and top[2] < 80  # red (the left half) on top after a clockwise turn
    assert bottom[2] > 180 and bottom[0] < 80
