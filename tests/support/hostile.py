"""A corpus of hostile or malformed uploads, generated from scratch by the tests.

Polyglots that are valid images (an image with HTML appended, or in a comment or a
text chunk) are accepted: what is stored is our own encoding of their pixels, or a
copy holding only whitelisted segments, so the payload never reaches the store.
"""

from __future__ import annotations

import io
import struct
import zipfile

from PIL import Image

from tests.support import bombs
from tests.support.bombs import png_chunk, png_with_header
from tests.support.images import image_bytes


def _gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def _animated_gif(frames: int, size: tuple[int, int]) -> bytes:
    images = [Image.new("RGB", size, ((i * 37) % 256, (i * 11) % 256, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def _jpeg_with_comment(text: bytes) -> bytes:
    jpeg = image_bytes("JPEG")
    comment = b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text
    return jpeg[:2] + comment + jpeg[2:]


def _other_format(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format=fmt)
    return buffer.getvalue()


def hostile_corpus() -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, expected HTTP status)."""
    jpeg, png, gif, webp = (image_bytes(f) for f in ("JPEG", "PNG", "GIF", "WEBP"))
    html = b"<!DOCTYPE html><html><body><script>fetch('/api/')</script></body></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
    pdf = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"
    return {
        "empty": (b"", 400),
        "plain-text": (b"just some words, not a picture\n", 415),
        "html": (html, 415),
        "html-behind-png-magic": (b"\x89PNG\r\n\x1a\n" + html, 400),
        "html-behind-jpeg-magic": (b"\xff\xd8\xff\xe0" + html, 400),
        "svg": (svg, 415),
        "svg-with-xml-prolog": (b'<?xml version="1.0"?>' + svg, 415),
        "xml": (b'<?xml version="1.0"?><root/>', 415),
        "pdf": (pdf, 415),
        "pdf-with-jpeg-magic": (b"\xff\xd8\xff\xdb" + pdf, 400),
        "jpeg-then-html": (jpeg + html, 201),
        "png-then-php": (png + b"<?php system($_GET['c']); ?>", 201),
        "gif-then-script": (gif + b"<script>alert(1)</script>", 201),
        "gifar-js-comment": (b"GIF89a/*" + b"\x00" * 8 + b"*/=1;alert(1)//<script>", 400),
        "jpeg-comment-script": (_jpeg_with_comment(b"<script>alert(1)</script>"), 201),
        "png-text-chunk-html": (
            png_with_header(8, 8, b"\x00" * 200, png_chunk(b"tEXt", b"c\x00<html>x")),
            201,
        ),
        "truncated-jpeg": (jpeg[: len(jpeg) // 2], 400),
        "truncated-png": (png[: len(png) // 2], 400),
        "truncated-webp": (webp[: len(webp) // 2], 400),
        "truncated-gif": (gif[:20], 400),
        "jpeg-magic-only": (b"\xff\xd8\xff", 400),
        "png-corrupt-idat": (png_with_header(64, 64, idat=b"\x00" * 10), 400),
        "webp-riff-garbage": (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16, 400),
        "heic-brand-garbage": (
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32,
            400,
        ),
        "random-bytes": (bytes(range(256)) * 8, 415),
        "zip": (_zip(), 415),
        "windows-exe": (
            b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode",
            415,
        ),
        "elf": (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, 415),
        "shell-script": (b"#!/bin/sh\nrm -rf /\n", 415),
        "mp4": (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32, 415),
        "bmp": (_other_format("BMP"), 415),
        "tiff": (_other_format("TIFF"), 415),
        "ico": (_other_format("ICO"), 415),
        "psd-magic": (b"8BPS\x00\x01" + b"\x00" * 40, 415),
        "png-decompression-bomb": (png_with_header(100_000, 100_000), 400),
        "gif-huge-canvas": (_gif_header(65_535, 65_535), 400),
        "gif-frame-bomb": (_animated_gif(400, (400, 300)), 400),
        "gif-canvas-growth": (bombs.gif_canvas_growth([(1, 1), (64, 64), (5000, 4000)]), 400),
        "apng-frame-bomb": (bombs.animation("PNG", 1000, (2, 2)), 400),
        "webp-frame-bomb": (bombs.animation("WEBP", 1000, (2, 2)), 400),
        "jpeg-scan-bomb": (bombs.progressive_jpeg_with_scans((512, 512), 2000), 400),
        # With the 8 MB decode memory the test sets: 5.8 MB decoded plus 8.6 MB of
        # DCT coefficients, and 5.8 MB decoded plus libheif's own 5.8 MB.
        "jpeg-progressive-memory-bomb": (
            bombs.flat("JPEG", (1200, 1200), progressive=True, subsampling=0),
            400,
        ),
        "heic-memory-bomb": (bombs.flat("HEIF", (1200, 1200), quality=30), 400),
    }
