"""A corpus of hostile or malformed uploads, generated from scratch by the tests."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

from tests.support.images import image_bytes


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_header(
    width: int, height: int, idat: bytes = b"\x00" * 16, extra: bytes = b""
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + extra
        + _png_chunk(b"IDAT", zlib.compress(idat))
        + _png_chunk(b"IEND", b"")
    )


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
        "html-behind-png-magic": (b"\x89PNG\r\n\x1a\n" + html, 415),
        "html-behind-jpeg-magic": (b"\xff\xd8\xff\xe0" + html, 415),
        "svg": (svg, 415),
        "svg-with-xml-prolog": (b'<?xml version="1.0"?>' + svg, 415),
        "xml": (b'<?xml version="1.0"?><root/>', 415),
        "pdf": (pdf, 415),
        "pdf-with-jpeg-magic": (b"\xff\xd8\xff\xdb" + pdf, 400),
        "jpeg-then-html": (jpeg + html, 415),
        "png-then-php": (png + b"<?php system($_GET['c']); ?>", 415),
        "gif-then-script": (gif + b"<script>alert(1)</script>", 415),
        "gifar-js-comment": (b"GIF89a/*" + b"\x00" * 8 + b"*/=1;alert(1)//<script>", 415),
        "jpeg-comment-script": (_jpeg_with_comment(b"<script>alert(1)</script>"), 415),
        "png-text-chunk-html": (
            png_with_header(8, 8, b"\x00" * 200, _png_chunk(b"tEXt", b"c\x00<html>x")),
            415,
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
    }
