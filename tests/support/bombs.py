"""Images built to cost as much as possible to decode, for the tests and bench/bench_bombs.py.

Every builder takes the sizes as arguments: the tests build small ones against small
limits, the benchmark the worst it can fit in ``MEDIA_MAX_UPLOAD_BYTES``.
"""

from __future__ import annotations

import struct
import zlib

import pillow_heif
from PIL import Image

from tests.support.images import encode

pillow_heif.register_heif_opener()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(
    width: int, height: int, idat: bytes = b"\x00" * 16, extra: bytes = b""
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + extra
        + png_chunk(b"IDAT", zlib.compress(idat))
        + png_chunk(b"IEND", b"")
    )


def _stripes(count: int, size: tuple[int, int], mode: str = "RGB") -> list[Image.Image]:
    """``count`` frames that all differ (encoders merge identical neighbours)."""
    return [
        Image.new(mode, size, ((i * 53) % 256, (i * 29) % 256, (i * 7) % 256, 255)[: len(mode)])
        for i in range(count)
    ]


def animation(fmt: str, count: int, size: tuple[int, int]) -> bytes:
    """A GIF, APNG or animated WebP of ``count`` flat frames of ``size``."""
    return encode(_stripes(count, size), fmt, duration=40, loop=0)


def _gif_image_block(size: tuple[int, int], offset: tuple[int, int] = (0, 0)) -> bytes:
    """One GIF image (descriptor + LZW data) of ``size`` at ``offset``, flat colour 0."""
    single = encode([Image.new("L", size, 0)], "GIF")
    flags = single[10]
    start = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # header, global palette
    while single[start : start + 1] == b"!":  # skip extensions: introducer, label, sub-blocks
        start += 2
        while single[start]:
            start += single[start] + 1
        start += 1
    block = bytearray(single[start:-1])  # the image descriptor and its data, no trailer
    block[1:5] = struct.pack("<HH", *offset)
    return bytes(block)


def gif_canvas_growth(sizes: list[tuple[int, int]]) -> bytes:
    """A GIF whose logical screen is 1x1 and whose frames have the given sizes: each
    frame that does not fit makes the decoder grow the canvas."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    control = b"!\xf9\x04\x08\x04\x00\x00\x00"  # disposal 2 (restore to background)
    frames = b"".join(control + _gif_image_block(size) for size in sizes)
    return header + frames + b";"


def gif_declared_canvas(size: tuple[int, int]) -> bytes:
    """A GIF with a 1x1 screen whose one frame declares ``size`` but holds one pixel's data."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, *size, 0)
    return header + descriptor + b"\x02\x02\x44\x01\x00;"


def flat(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: object) -> bytes:
    """A single flat image: compresses to almost nothing, decodes to ``size``."""
    color = (90, 140, 200, 255)[: len(mode)] if len(mode) > 1 else 90
    return encode([Image.new(mode, size, color)], fmt, **options)


def progressive_jpeg_with_scans(size: tuple[int, int], scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until it has ``scans`` scans.

    libjpeg only warns about a repeated scan and decodes it again: each costs a pass
    over every block of the image, for a few bytes of file.
    """
    data = flat("JPEG", size, progressive=True, quality=90)
    last_scan = data.rindex(b"\xff\xda")
    repeated = data[last_scan:-2]
    existing = data.count(b"\xff\xda")
    return data[:-2] + repeated * max(0, scans - existing) + b"\xff\xd9"


def heic_with_second_image(primary: tuple[int, int], declared: tuple[int, int]) -> bytes:
    """A HEIC holding a small primary image and a second one that declares ``declared``
    (its ``ispe`` property is rewritten, so the file stays small)."""
    data = bytearray(
        encode([Image.new("RGB", primary, "red"), Image.new("RGB", (160, 96), "blue")], "HEIF")
    )
    second = data.index(b"ispe", data.index(b"ispe") + 4)
    data[second + 8 : second + 16] = struct.pack(">II", *declared)
    return bytes(data)


def png_text_bomb(size: tuple[int, int], text_megabytes: int) -> bytes:
    """A PNG whose zTXt chunk inflates to ``text_megabytes`` of text."""
    text = zlib.compress(b"a" * (text_megabytes * 1024 * 1024), 9)
    width, height = size
    chunk = png_chunk(b"zTXt", b"Comment\x00\x00" + text)
    return png_with_header(width, height, b"\x00" * ((width * 3 + 1) * height), chunk)


def undecodable_jpeg() -> bytes:
    """Structurally a JPEG (the segment walk accepts it), but its scan asks for a
    Huffman table that is never defined, so only decoding it finds the fault."""
    jpeg = flat("JPEG", (640, 480))
    sos = jpeg.index(b"\xff\xda")
    return jpeg[: sos + 6] + b"\x33" + jpeg[sos + 7 :]
