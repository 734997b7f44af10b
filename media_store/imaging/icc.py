"""ICC colour profiles we keep: rebuilt from their colorimetric tags, nothing else.

A profile describes a device, not a person, and without it wide-gamut photos change
colour, so re-encoded images and lossless JPEG copies keep one. But the bytes an
upload calls its profile can carry anything: text in its description, copyright or
private tags, names and dates in its header, data after its last tag. So the profile
we store is rebuilt: a fresh header keeping only what colour management reads
(version, device class, colour space, connection space, rendering intent, illuminant),
the colorimetric tags copied as they are (white and black point, primaries, tone
curves, chromatic adaptation, the A2B/B2A transforms), and a description and
copyright of our own. It must then read as a profile to littleCMS, and be at most
``MEDIA_MAX_ICC_BYTES``; anything else is dropped. The same device profile therefore
stores as the same bytes, whoever uploaded it.
"""

from __future__ import annotations

import io
import logging
import struct

from PIL import ImageCms

logger = logging.getLogger(__name__)

_HEADER = 128
#: Tags colour management needs (ICC.1:2022 section 9), for matrix/TRC and LUT profiles.
COLORIMETRIC_TAGS = frozenset(
    {
        b"wtpt", b"bkpt", b"chad", b"chrm", b"cicp",
        b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"kTRC",
        b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2",
    }
)  # fmt: skip
#: Our description and copyright (both required tags), the same for every profile.
_TEXT = "ICC profile"


def clean_profile(data: bytes | None, *, max_bytes: int) -> bytes | None:
    """The profile in ``data`` rebuilt from its colorimetric tags, or None to store none."""
    if not data or len(data) > max_bytes:
        return None
    try:
        rebuilt = rebuild(data)
        ImageCms.ImageCmsProfile(io.BytesIO(rebuilt))  # littleCMS must read it
    except (OSError, ValueError, TypeError, struct.error, ImageCms.PyCMSError) as exc:
        logger.info("colour profile dropped as unreadable: %s", exc)
        return None
    return rebuilt if len(rebuilt) <= max_bytes else None


def rebuild(data: bytes) -> bytes:
    """A new profile with ``data``'s colour-relevant header fields and tags only."""
    if len(data) < _HEADER + 4 or data[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    version = data[8:12]
    (count,) = struct.unpack(">I", data[_HEADER : _HEADER + 4])
    if count > 200:
        raise ValueError("too many tags")
    kept: list[tuple[bytes, bytes]] = []
    for index in range(count):
        entry = _HEADER + 4 + 12 * index
        signature, offset, size = struct.unpack(">4sII", data[entry : entry + 12])
        if signature in COLORIMETRIC_TAGS and signature not in dict(kept):
            if offset + size > len(data) or size < 8:
                raise ValueError(f"tag {signature!r} out of bounds")
            kept.append((signature, data[offset : offset + size]))
    if not kept:
        raise ValueError("no colorimetric tags")
    v4 = version[0] >= 4
    kept += [(b"desc", _description(v4)), (b"cprt", _text(v4))]
    return _assemble(data, version, kept)


def _assemble(source: bytes, version: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = _HEADER + table_size
    table, body = [struct.pack(">I", len(tags))], []
    shared: dict[bytes, int] = {}  # identical tag data (rTRC = gTRC = bTRC) stored once
    for signature, payload in tags:
        if payload not in shared:
            shared[payload] = offset
            padded = payload + b"\0" * (-len(payload) % 4)
            body.append(padded)
            offset += len(padded)
        table.append(struct.pack(">4sII", signature, shared[payload], len(payload)))
    header = bytearray(_HEADER)
    header[0:4] = struct.pack(">I", offset)
    header[8:12] = version
    header[12:24] = source[12:24]  # device class, colour space, connection space
    header[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)  # a fixed date, not the maker's
    header[36:40] = b"acsp"
    header[64:68] = source[64:68]  # rendering intent
    header[68:80] = source[68:80]  # the connection space's illuminant
    return bytes(header) + b"".join(table) + b"".join(body)


def _description(v4: bool) -> bytes:
    if v4:
        return _text(v4)
    ascii_text = _TEXT.encode() + b"\0"
    # textDescriptionType: ASCII, then empty Unicode and ScriptCode parts.
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 3 + 67)


def _text(v4: bool) -> bytes:
    if not v4:
        return b"text\0\0\0\0" + _TEXT.encode() + b"\0"
    utf16 = _TEXT.encode("utf-16-be")
    # multiLocalizedUnicodeType with one record, en-US.
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(utf16), 28) + utf16
