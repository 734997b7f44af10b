"""Colour profiles are rebuilt from their colorimetric tags: colour kept, nobody's text."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from media_store.imaging.icc import clean_profile
from tests.support import metadata

MAX = 64 * 1024


def as_lab(profile: bytes) -> list[tuple[int, ...]]:
    """What a few colours become through ``profile`` (how colour management reads it)."""
    image = Image.new("RGB", (5, 1))
    image.putdata([(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (250, 240, 10)])
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    converted = ImageCms.profileToProfile(
        image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), lab, outputMode="LAB"
    )
    return list(converted.get_flattened_data())


def test_planted_text_is_gone_and_the_colour_is_the_same():
    cleaned = clean_profile(metadata.PADDED_ICC, max_bytes=MAX)
    assert cleaned is not None
    assert b"LEAK" not in cleaned and b"example" not in cleaned
    assert cleaned == clean_profile(metadata.SRGB, max_bytes=MAX)  # whoever uploaded it
    assert as_lab(cleaned) == as_lab(metadata.SRGB)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(cleaned))
    assert ImageCms.getProfileDescription(profile).strip() == "ICC profile"


def test_a_version_2_profile_is_rebuilt_with_version_2_text_tags():
    v2 = bytearray(metadata.SRGB)
    v2[8:12] = bytes([2, 0x10, 0, 0])
    cleaned = clean_profile(bytes(v2), max_bytes=MAX)
    assert cleaned is not None and cleaned[8] == 2
    assert b"desc\0\0\0\0" in cleaned and b"text\0\0\0\0" in cleaned
    assert as_lab(cleaned) == as_lab(metadata.SRGB)


@pytest.mark.parametrize(
    "data",
    [
        b"LEAK-not-a-profile " * 40,
        metadata.SRGB[:100],
        metadata.SRGB[:36] + b"xxxx" + metadata.SRGB[40:],  # no 'acsp' signature
        metadata.SRGB[:128] + struct.pack(">I", 0),  # no tags at all
    ],
    ids=["junk", "truncated", "no-signature", "no-tags"],
)
def test_what_is_not_a_usable_profile_is_dropped(data):
    assert clean_profile(data, max_bytes=MAX) is None


def test_a_profile_over_the_limit_is_dropped():
    assert clean_profile(metadata.PADDED_ICC, max_bytes=len(metadata.ICC) - 1) is None
