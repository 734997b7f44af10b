"""The lossless JPEG copy: the whole file walked segment by segment, whitelisted segments kept."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from media_store.imaging.jpeg_segments import NotAJpeg, TooManyScans, strip_jpeg_metadata
from tests.support import metadata
from tests.support.bombs import progressive_jpeg_with_scans


def stripped(data: bytes, **options: int) -> bytes:
    out = io.BytesIO()
    options.setdefault("max_icc_bytes", 64 * 1024)
    strip_jpeg_metadata(io.BytesIO(data), out, **options)
    return out.getvalue()


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, body) of every segment before the first scan's data, and of the scans' headers."""
    found, pos = [], 2
    while pos < len(data) - 1:
        code = data[pos + 1]
        if code == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        found.append((code, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
        if code == 0xDA:  # skip entropy-coded data to the next marker
            while not (data[pos] == 0xFF and data[pos + 1] not in (0, *range(0xD0, 0xD8))):
                pos += 1
    return found


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


@pytest.mark.parametrize("progressive", [False, True])
def test_every_planted_segment_goes_and_the_pixels_stay(progressive):
    original = metadata.jpeg((96, 64), progressive=progressive)
    copy = stripped(original)
    assert metadata.LEAK not in copy
    assert pixels(copy) == pixels(original)
    assert copy.endswith(b"\xff\xd9")  # the FF D9 inside comments did not end it early


def test_only_what_the_decoder_needs_is_kept():
    kept = segments(stripped(metadata.jpeg(progressive=True)))
    codes = {code for code, _ in kept}
    assert codes <= {0xC0, 0xC1, 0xC2, 0xC4, 0xDA, 0xDB, 0xDD, 0xE0, 0xE2, 0xEE}
    [jfif] = [body for code, body in kept if code == 0xE0]
    assert jfif.startswith(b"JFIF\x00") and jfif[12:] == b"\x00\x00"  # no thumbnail
    assert all(body.startswith(b"ICC_PROFILE\x00") for code, body in kept if code == 0xE2)
    [adobe] = [body for code, body in kept if code == 0xEE]
    assert adobe.startswith(b"Adobe") and len(adobe) == 12
    assert Image.open(io.BytesIO(stripped(metadata.jpeg()))).info["icc_profile"] == metadata.ICC


def test_segments_between_progressive_scans_are_walked():
    original = metadata.jpeg(progressive=True)
    assert original.count(b"\xff\xda") > 2 and b"LEAK-BETWEEN-SCANS" in original
    copy = stripped(original)
    assert b"LEAK-BETWEEN-SCANS" not in copy and b"LEAK-EXIF-BETWEEN" not in copy
    assert copy.count(b"\xff\xda") == original.count(b"\xff\xda")


def test_stray_bytes_before_a_marker_are_skipped_as_decoders_do():
    jpeg = metadata.jpeg()
    dqt = jpeg.index(b"\xff\xdb")
    assert pixels(stripped(jpeg[:dqt] + b"\x00junk" + jpeg[dqt:])) == pixels(jpeg)


def test_scans_are_counted_and_absurd_counts_refused():
    bomb = progressive_jpeg_with_scans((64, 64), 40)
    result = strip_jpeg_metadata(io.BytesIO(bomb), None, max_scans=40)
    assert result.layout.scans == 40 and result.layout.progressive and result.written == 0
    with pytest.raises(TooManyScans):
        strip_jpeg_metadata(io.BytesIO(bomb), None, max_scans=39)


def test_coefficient_memory_of_a_progressive_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600)).save(buffer, format="JPEG", progressive=True, subsampling=0)
    layout = strip_jpeg_metadata(io.BytesIO(buffer.getvalue())).layout
    assert layout.sampling == ((1, 1), (1, 1), (1, 1))
    assert layout.coefficient_bytes == 3 * (800 // 8) * (600 // 8) * 64 * 2
    baseline = io.BytesIO()
    Image.new("RGB", (800, 600)).save(baseline, format="JPEG")
    assert strip_jpeg_metadata(io.BytesIO(baseline.getvalue())).layout.coefficient_bytes == 0


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a...",
        metadata.jpeg()[:300],  # cut inside the header segments
        metadata.jpeg().split(b"\xff\xd9LEAK-TRAILER")[0][:-200],  # no end-of-image marker
        b"\xff\xd8\xff\xd8" + b"\x00" * 10,
    ],
    ids=["not-a-jpeg", "truncated-header", "truncated-scan", "second-soi"],
)
def test_broken_structure_is_refused(data):
    with pytest.raises(NotAJpeg):
        strip_jpeg_metadata(io.BytesIO(data), io.BytesIO())


def test_a_profile_over_several_segments_is_reassembled_and_written_clean():
    padded = metadata.ICC + b"LEAK-ICC " * 16_000  # 144 KB: three APP2 segments
    padded = struct.pack(">I", len(padded)) + padded[4:]
    original = io.BytesIO()
    Image.new("RGB", (32, 16)).save(original, "JPEG", icc_profile=padded)
    assert original.getvalue().count(b"ICC_PROFILE\x00") == 3
    copy = stripped(original.getvalue(), max_icc_bytes=200_000)
    assert b"LEAK" not in copy and copy.count(b"ICC_PROFILE\x00") == 1
    assert Image.open(io.BytesIO(copy)).info["icc_profile"] == metadata.ICC
    too_small = stripped(original.getvalue(), max_icc_bytes=100_000)
    assert b"ICC_PROFILE" not in too_small


def test_a_profile_that_is_not_one_is_dropped():
    original = io.BytesIO()
    Image.new("RGB", (32, 16)).save(original, "JPEG", icc_profile=b"LEAK junk " * 50)
    assert b"ICC_PROFILE" not in stripped(original.getvalue())
