"""Unit tests of the image pipeline on generated files."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media_store.conf import UploadLimits
from media_store.errors import InvalidImage, UnsupportedMediaType
from media_store.imaging.jpeg_segments import NotAJpeg, strip_jpeg_metadata
from media_store.imaging.prepare import prepare_image
from tests.support.images import gps_jpeg_rotated, image_bytes, rotated_jpeg_with_broken_exif

LIMITS = UploadLimits(max_bytes=20_000_000, max_pixels=40_000_000, max_files=5)


def upright_jpeg_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "teal").save(
        buffer, format="JPEG", exif=exif.tobytes(), comment=b"secret note"
    )
    return buffer.getvalue()


def test_upright_jpeg_keeps_its_pixels_and_loses_its_metadata():
    original = upright_jpeg_with_metadata()
    prepared = prepare_image(io.BytesIO(original), limits=LIMITS, reencode=False)
    stored = prepared.content.read()
    assert b"PhoneMaker" not in stored and b"secret note" not in stored
    before = Image.open(io.BytesIO(original)).convert("RGB").tobytes()
    after = Image.open(io.BytesIO(stored)).convert("RGB").tobytes()
    assert before == after  # lossless: same decoded pixels
    assert (prepared.width, prepared.height, prepared.size) == (64, 32, len(stored))


def test_rotated_jpeg_is_re_encoded_even_without_reencode():
    prepared = prepare_image(io.BytesIO(gps_jpeg_rotated()), limits=LIMITS, reencode=False)
    assert (prepared.width, prepared.height) == (20, 40)
    assert b"PhoneMaker" not in prepared.content.read()


def test_data_after_the_end_of_image_is_dropped():
    jpeg = image_bytes("JPEG")
    payload = b"PK\x03\x04" + b"zip file hidden here" * 10
    prepared = prepare_image(io.BytesIO(jpeg + payload), limits=LIMITS, reencode=False)
    stored = prepared.content.read()
    assert stored.endswith(b"\xff\xd9") and b"zip file" not in stored


def test_truncated_jpeg_fails_even_in_reduced_decoding():
    noisy = Image.effect_noise((400, 300), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG")
    data = buffer.getvalue()
    with pytest.raises(InvalidImage):
        prepare_image(io.BytesIO(data[: len(data) // 2]), limits=LIMITS, reencode=False)


def test_strip_refuses_non_jpeg():
    with pytest.raises(NotAJpeg):
        strip_jpeg_metadata(io.BytesIO(b"GIF89a..."), io.BytesIO())


def test_pixel_limit_is_checked_from_the_header():
    limits = UploadLimits(max_bytes=20_000_000, max_pixels=100, max_files=5)
    with pytest.raises(InvalidImage, match="too many pixels"):
        prepare_image(io.BytesIO(image_bytes("PNG", size=(20, 20))), limits=limits)


def test_svg_is_refused_by_content():
    with pytest.raises(UnsupportedMediaType, match="SVG"):
        prepare_image(io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"/>'), limits=LIMITS)


@pytest.mark.parametrize("reencode", [True, False])
def test_exif_that_pillow_cannot_rewrite_is_no_error(reencode):
    broken = rotated_jpeg_with_broken_exif()
    prepared = prepare_image(io.BytesIO(broken), limits=LIMITS, reencode=reencode)
    assert (prepared.width, prepared.height) == (20, 40)  # the orientation still applies
