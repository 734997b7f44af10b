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


def _with_tag_data(
    profile: bytes, signature: bytes, extra: bytes = b"", data: bytes = b""
) -> bytes:
    """``profile`` with one tag's data replaced (``data``) or grown (``extra`` appended
    inside the tag, its size in the table grown to match), the rest moved along."""
    (count,) = struct.unpack(">I", profile[128:132])
    tags = []
    for index in range(count):
        sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * index : 144 + 12 * index])
        body = profile[offset : offset + size]
        if sig == signature:
            body = (data or body) + extra
        tags.append((sig, body))
    at = 132 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data_ in tags:
        data_ += b"\0" * (-len(data_) % 4)
        table += struct.pack(">4sII", sig, at + len(body), len(data_))
        body += data_
    whole = profile[:128] + table + body
    return struct.pack(">I", len(whole)) + whole[4:]


HIDDEN = b"<html><script>alert(1)</script> alice@example.com " * 40


@pytest.mark.parametrize("signature", [b"wtpt", b"rTRC", b"chad"])
def test_text_appended_inside_a_kept_tag_is_cut_off(signature):
    planted = _with_tag_data(metadata.SRGB, signature, extra=HIDDEN)
    ImageCms.ImageCmsProfile(io.BytesIO(planted))  # littleCMS still reads it
    cleaned = clean_profile(planted, max_bytes=MAX)
    assert cleaned == clean_profile(metadata.SRGB, max_bytes=MAX)
    assert b"script" not in cleaned


def test_text_written_as_tone_curve_values_drops_the_profile():
    text = b"<html><script>alice@example.com</script></html>"
    curve = b"curv\0\0\0\0" + struct.pack(">I", len(text) // 2) + text[: len(text) // 2 * 2]
    planted = _with_tag_data(metadata.SRGB, b"rTRC", data=curve)
    assert clean_profile(planted, max_bytes=MAX) is None


def test_a_real_rising_tone_curve_is_kept():
    values = [round(65535 * (n / 1023) ** 2.2) for n in range(1024)]
    curve = b"curv\0\0\0\0" + struct.pack(f">I{len(values)}H", len(values), *values)
    profile = _with_tag_data(metadata.SRGB, b"rTRC", data=curve)
    cleaned = clean_profile(profile, max_bytes=MAX)
    assert cleaned is not None and curve in cleaned
