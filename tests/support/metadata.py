"""Images carrying personal data in every place a format allows, each piece marked ``LEAK-``.

A stored object or rendition that contains ``LEAK`` anywhere kept something it should
not have. Every image also carries an ICC profile with personal data after it (the
profile is kept, what follows it is not).
"""

from __future__ import annotations

import struct

import pillow_heif
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from media_store.imaging.icc import clean_profile
from tests.support.images import encode

LEAK = b"LEAK"
#: A device profile as littleCMS writes it (sRGB).
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
#: What a stored image's profile must be: the device profile rebuilt from its colour.
ICC = clean_profile(SRGB, max_bytes=64 * 1024)


def _mluc(text: bytes) -> bytes:
    utf16 = text.decode().encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28) + utf16


def planted(profile: bytes) -> bytes:
    """``profile`` with personal data in every place a profile has for it: its
    description and copyright, a private tag, the header's maker, model, creator and
    date fields, and after its last tag (its declared size grown to cover it)."""
    (count,) = struct.unpack(">I", profile[128:132])
    tags = {}
    for index in range(count):
        signature, offset, size = struct.unpack(
            ">4sII", profile[132 + 12 * index : 144 + 12 * index]
        )
        tags[signature] = profile[offset : offset + size]
    tags[b"desc"] = _mluc(b"LEAK-ICC-desc erin@example.com")
    tags[b"cprt"] = _mluc(b"LEAK-ICC-cprt 52.52N 13.40E")
    tags[b"zzzz"] = b"LEAK-ICC-private-tag erin@example.com"
    offset = 132 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags.items():
        data += b"\0" * (-len(data) % 4)
        table += struct.pack(">4sII", signature, offset + len(body), len(data))
        body += data
    header = bytearray(profile[:128])
    header[4:8] = header[48:52] = header[52:56] = header[80:84] = b"LEAK"
    whole = bytes(header) + table + body + b"LEAK-ICC erin@example.com 52.52N 13.40E " * 300
    return struct.pack(">I", len(whole)) + whole[4:]


#: What the samples carry as their colour profile; what is stored must be ``ICC``.
PADDED_ICC = planted(SRGB)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b"<dc:creator>LEAK-XMP bob@example.com</dc:creator></x:xmpmeta>"
)

pillow_heif.register_heif_opener()


def exif(orientation: int = 1) -> bytes:
    data = Image.Exif()
    data[0x010F] = "LEAK-EXIF-Make"  # camera maker
    data[0x013B] = "LEAK-EXIF-Artist carol@example.com"
    data[0x0112] = orientation
    data.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)})
    return data.tobytes()


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue, so orientation and pixels can be checked."""
    image = Image.new(mode, size, (220, 20, 20, 255)[: len(mode)])
    image.paste((20, 20, 220, 255)[: len(mode)], (size[0] // 2, 0, *size))
    return image


def _frames(count: int, size: tuple[int, int], mode: str) -> list[Image.Image]:
    return [_picture(size, mode).rotate(180 * i) for i in range(count)]


def _segment(code: int, body: bytes) -> bytes:
    return b"\xff" + bytes([code]) + struct.pack(">H", len(body) + 2) + body


def _jfif_with_thumbnail() -> bytes:
    # version 1.2, no units, density 1x1, a 2x1 RGB thumbnail spelling LEAK-T
    return _segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x01LEAK-T")


def jpeg(
    size: tuple[int, int] = (64, 32), *, progressive: bool = False, orientation: int = 1
) -> bytes:
    """A JPEG with metadata everywhere: EXIF/GPS, XMP, a comment, IPTC, FlashPix, a JFIF
    thumbnail, a JFXX extension, an Adobe segment with trailing bytes, a comment holding
    FF D9, segments between progressive scans and data after the end of the image."""
    data = encode(
        [_picture(size)],
        "JPEG",
        quality=95,
        exif=exif(orientation),
        xmp=XMP,
        comment=b"LEAK-COMMENT dave@example.com",
        icc_profile=PADDED_ICC,
        progressive=progressive,
    )
    extra = (
        _jfif_with_thumbnail()
        + _segment(0xE0, b"JFXX\x00\x10LEAK-JFXX")
        + _segment(0xE2, b"FPXR\x00LEAK-FPXR")
        + _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04LEAK-IPTC")
        + _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01LEAK-ADOBE")
        + _segment(0xFE, b"LEAK-COMMENT-FFD9 \xff\xd9 after the fake end")
    )
    data = data[:2] + extra + data[2:]
    if progressive:  # more metadata after the first scan, before the second
        second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
        between = _segment(0xFE, b"LEAK-BETWEEN-SCANS \xff\xd9") + _segment(
            0xE1, b"Exif\x00\x00LEAK-EXIF-BETWEEN"
        )
        data = data[:second_scan] + between + data[second_scan:]
    return data + b"LEAK-TRAILER <html><script>alert(1)</script></html>"


def gif(frames: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    """A GIF (animated with ``frames`` > 1) with a comment and an XMP application block."""
    data = encode(
        _frames(frames, size, "RGB"),
        "GIF",
        comment=b"LEAK-COMMENT erin@example.com",
        duration=80,
        loop=0,
    )
    xmp = b"!\xff\x0bXMP DataXMP" + bytes([len(b"LEAK-GIF-XMP")]) + b"LEAK-GIF-XMP" + b"\x00"
    header_end = 13 + 3 * (2 << (data[10] & 7))  # header and global palette
    return data[:header_end] + xmp + data[header_end:]


def png(frames: int = 1, size: tuple[int, int] = (40, 20), mode: str = "RGBA") -> bytes:
    """A PNG (APNG with ``frames`` > 1) with tEXt, zTXt and iTXt chunks, XMP and eXIf."""
    info = PngInfo()
    info.add_text("Comment", "LEAK-tEXt frank@example.com")
    info.add_text("Author", "LEAK-zTXt", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)
    return encode(
        _frames(frames, size, mode),
        "PNG",
        pnginfo=info,
        exif=exif(),
        icc_profile=PADDED_ICC,
        duration=80,
    )


def webp(frames: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    """A WebP (animated with ``frames`` > 1) with EXIF and XMP chunks."""
    return encode(
        _frames(frames, size, "RGBA"),
        "WEBP",
        exif=exif(),
        xmp=XMP,
        icc_profile=PADDED_ICC,
        duration=80,
        lossless=True,
    )


def heic(size: tuple[int, int] = (64, 32)) -> bytes:
    """A HEIC with EXIF and XMP."""
    return encode([_picture(size)], "HEIF", exif=exif(), xmp=XMP, quality=90)
