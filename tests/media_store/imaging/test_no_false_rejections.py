"""Ordinary images are accepted, all of them: 300 of every accepted format, varied content.

The markup scan this replaces ran over compressed bytes and refused about one noisy
PNG in a hundred; protection now comes from what is stored, so no legitimate image
may be refused for what its compressed bytes happen to spell.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media_store.conf import upload_limits
from media_store.imaging.formats import FORMATS
from media_store.imaging.prepare import prepare_image
from tests.support.bombs import progressive_jpeg_with_scans
from tests.support.legit import legit_images

PER_FORMAT = 300


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_hundreds_of_ordinary_images_are_all_accepted(fmt):
    limits = upload_limits()
    refused = []
    for description, data in legit_images(fmt, PER_FORMAT, max_bytes=limits.max_bytes):
        for reencode in (True, False) if FORMATS[fmt].lossless_copy else (True,):
            try:
                prepared = prepare_image(io.BytesIO(data), limits=limits, reencode=reencode)
            except Exception as exc:  # any refusal of an ordinary image is the failure
                refused.append(f"{description} (reencode={reencode}): {exc}")
                continue
            stored = Image.open(prepared.content)
            stored.load()
            assert stored.size == (prepared.width, prepared.height), description
    assert not refused, refused


def test_random_payloads_at_the_size_limit_are_accepted():
    """Random bytes are the content most likely to spell markup once compressed."""
    import random

    rng = random.Random(10)
    limits = upload_limits()
    for side, fmt in [(1800, "PNG"), (1750, "WEBP"), (2800, "JPEG")]:
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(
            buffer, format=fmt, lossless=True, quality=95
        )
        assert 8_000_000 < buffer.tell() <= limits.max_bytes
        prepare_image(io.BytesIO(buffer.getvalue()), limits=limits)


def test_progressive_jpegs_from_common_encoders_are_accepted():
    """libjpeg's progression has 10 scans; encoders that optimise scans write a dozen or so."""
    for scans in (6, 10, 16, 24):
        data = progressive_jpeg_with_scans((640, 480), scans)
        prepare_image(io.BytesIO(data), limits=upload_limits(), reencode=False)
