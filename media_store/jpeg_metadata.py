"""Drop metadata segments from a JPEG without re-encoding it (streamed, constant memory).

Kept: JFIF (APP0), ICC colour profiles (APP2), Adobe colour transform (APP14) and
every non-APP segment the decoder needs. Dropped: EXIF/XMP (APP1, with GPS, camera
serials, thumbnails), IPTC/Photoshop (APP13), comments, all other APPn blocks, and
anything appended after the end-of-image marker (a common way to smuggle a second
file inside a picture). Inside scan data a 0xFF byte is always followed by 0x00 or
a restart marker, so the first FF D9 after the scans begin is the real end.
"""

from __future__ import annotations

import hashlib
import struct
from typing import IO

_KEEP_APP = {0xE0, 0xE2, 0xEE}
_COMMENT = 0xFE
_START_OF_SCAN = 0xDA
_END_OF_IMAGE = b"\xff\xd9"
_CHUNK = 1024 * 1024


class NotAJpeg(ValueError):
    pass


def strip_jpeg_metadata(src: IO[bytes], dst: IO[bytes]) -> tuple[int, str]:
    """Copy ``src`` to ``dst`` without metadata; return (bytes written, sha256)."""
    digest = hashlib.sha256()
    written = 0

    def out(data: bytes) -> None:
        nonlocal written
        dst.write(data)
        digest.update(data)
        written += len(data)

    src.seek(0)
    if src.read(2) != b"\xff\xd8":
        raise NotAJpeg("missing start of image")
    out(b"\xff\xd8")
    while True:
        marker = src.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise NotAJpeg("corrupt segment marker")
        while marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + src.read(1)
        code = marker[1]
        if code == _START_OF_SCAN:
            out(marker)
            carry = b""
            while chunk := src.read(_CHUNK):  # scans as they are, up to end-of-image
                data = carry + chunk
                end = data.find(_END_OF_IMAGE)
                if end >= 0:
                    out(data[: end + 2])
                    return written, digest.hexdigest()
                out(data[:-1])
                carry = data[-1:]
            raise NotAJpeg("no end-of-image marker")
        length_bytes = src.read(2)
        if len(length_bytes) < 2:
            raise NotAJpeg("truncated segment")
        (length,) = struct.unpack(">H", length_bytes)
        body = src.read(length - 2)
        if len(body) < length - 2:
            raise NotAJpeg("truncated segment")
        is_app = 0xE0 <= code <= 0xEF
        if (is_app and code not in _KEEP_APP) or code == _COMMENT:
            continue
        out(marker + length_bytes + body)
