"""ICC colour profiles we keep: rebuilt from their colorimetric tags, nothing else.

A profile describes a device, not a person, and without it wide-gamut photos change
colour, so re-encoded images and lossless JPEG copies keep one. But the bytes an
upload calls its profile can carry anything: text in its description, copyright or
private tags, names and dates in its header, data after its last tag. So the profile
we store is rebuilt: a fresh header keeping only what colour management reads
(version, device class, colour space, connection space, rendering intent, illuminant),
the colorimetric tags (white and black point, primaries, tone curves, chromatic
adaptation, the A2B/B2A transforms), each cut to exactly the size its type's
structure gives it (nothing appended inside a tag survives), tone curves refused
unless they rise steadily as real ones do (text written as curve values does not),
and a description and copyright of our own. It must then read as a profile to
littleCMS, and be at most ``MEDIA_MAX_ICC_BYTES``; anything else is dropped. The
same device profile therefore stores as the same bytes, whoever uploaded it. (The
values of a LUT-based transform are colour data, like pixels: what they encode cannot
be told from colour, and is kept, as an image's pixels are.)
"""

from __future__ import annotations

import io
import itertools
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
            kept.append((signature, exact_tag(signature, data[offset : offset + size])))
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


#: Parameters of each parametric curve function type (ICC.1 10.18).
_PARA_PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
_TONE_CURVES = frozenset({b"rTRC", b"gTRC", b"bTRC", b"kTRC"})


def exact_tag(signature: bytes, data: bytes) -> bytes:
    """``data`` cut to the size its type's structure says; ValueError for what no colour
    tag looks like (an unknown type, a tone curve that does not rise steadily)."""
    kind = data[:4]
    if kind == b"XYZ ":
        size = 20  # one XYZ number: every colorimetric XYZ tag holds exactly one
    elif kind in (b"curv", b"para"):
        size = _curve_size(data, 0)
        if kind == b"curv" and signature in _TONE_CURVES:
            _check_rising(data[12:size])
    elif kind == b"sf32":
        size = 8 + 9 * 4  # the 3x3 chromatic adaptation matrix
    elif kind == b"chrm":
        size = 12 + 8 * _u16(data, 8)
    elif kind == b"cicp":
        size = 12
    elif kind == b"mft1":
        inputs, outputs, grid = data[8], data[9], data[10]
        size = 48 + 256 * inputs + grid**inputs * outputs + 256 * outputs
    elif kind == b"mft2":
        inputs, outputs, grid = data[8], data[9], data[10]
        entries = _u16(data, 48) * inputs + grid**inputs * outputs + _u16(data, 50) * outputs
        size = 52 + 2 * entries
    elif kind in (b"mAB ", b"mBA "):
        size = _lut_ab_size(data)
    else:
        raise ValueError(f"tag {signature!r} of type {kind!r} is not a colour tag we keep")
    if size > len(data):
        raise ValueError(f"tag {signature!r} is truncated")
    return data[:size]


def _u16(data: bytes, at: int) -> int:
    return struct.unpack(">H", data[at : at + 2])[0]


def _u32(data: bytes, at: int) -> int:
    return struct.unpack(">I", data[at : at + 4])[0]


def _curve_size(data: bytes, at: int) -> int:
    kind = data[at : at + 4]
    if kind == b"curv":
        count = _u32(data, at + 8)
        if count > 65536:
            raise ValueError("a tone curve of more than 65536 entries")
        return 12 + 2 * count
    if kind == b"para":
        return 12 + 4 * _PARA_PARAMETERS[_u16(data, at + 8)]
    raise ValueError(f"not a curve: {kind!r}")


def _check_rising(entries: bytes) -> None:
    values = struct.unpack(f">{len(entries) // 2}H", entries)
    if any(later < earlier for earlier, later in itertools.pairwise(values)):
        raise ValueError("a tone curve that does not rise steadily")


def _curves_end(data: bytes, at: int, count: int) -> int:
    for _ in range(count):
        size = _curve_size(data, at)
        at += size + (-size % 4)
    return at


def _lut_ab_size(data: bytes) -> int:
    """The end of the last element of a lutAtoB or lutBtoA tag (ICC.1 10.12, 10.13)."""
    inputs, outputs = data[8], data[9]
    b_curves, matrix, m_curves, clut, a_curves = struct.unpack(">5I", data[12:32])
    to_pcs = data[:4] == b"mAB "
    b_count = outputs if to_pcs else inputs
    ends = [32]
    if b_curves:
        ends.append(_curves_end(data, b_curves, b_count))
    if matrix:
        ends.append(matrix + 48)
    if m_curves:
        ends.append(_curves_end(data, m_curves, b_count))
    if clut:
        points = 1
        for dimension in data[clut : clut + inputs]:
            points *= dimension
        ends.append(clut + 20 + points * outputs * data[clut + 16])
    if a_curves:
        ends.append(_curves_end(data, a_curves, inputs if to_pcs else outputs))
    return max(ends)
