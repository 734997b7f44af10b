"""Copy a JPEG without its metadata, segment by segment (streamed, constant memory).

The whole file is walked: each marker segment by its declared length, and the
entropy-coded data of every scan up to the next marker (inside it a 0xFF byte is
followed by 0x00 or a restart marker), so segments placed between progressive scans
are seen like any other. Only what the decoder needs is copied, by a whitelist:

- frame headers, scan headers, Huffman, arithmetic and quantisation tables, the
  restart interval, and the entropy-coded data itself;
- JFIF (APP0) rewritten without its thumbnail; the ICC colour profile (APP2
  segments starting ``ICC_PROFILE``) reassembled, rebuilt from its colorimetric tags
  (:mod:`media_store.imaging.icc`) and placed before the frame header; the Adobe colour
  transform (APP14), cut to its 12 bytes.

Everything else is dropped: EXIF/XMP (APP1, with GPS, serials and thumbnails), JFXX
thumbnails, other APP2 blocks (FlashPix, MPF), IPTC/Photoshop (APP13), comments, all
other APPn and unknown markers, and anything after the end-of-image marker (a second
file appended to a picture). The walk also reports what decoding will cost (size,
components, number of scans) and refuses absurd scan counts before any decode.

The walk checks structure, not pixels: the caller decodes what was written.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import IO

from .icc import clean_profile

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP0, _APP2, _APP14 = 0xE0, 0xE2, 0xEE
#: Frame headers libjpeg decodes: baseline, extended, progressive, lossless, arithmetic.
_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB}
_PROGRESSIVE_FRAMES = {0xC2, 0xCA}
#: Tables and parameters: DHT, DAC, DQT, DRI.
_TABLES = {0xC4, 0xCC, 0xDB, 0xDD}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field
_JFIF = b"JFIF\x00"
_JFIF_FIXED = 12  # identifier, version, units, densities; then thumbnail size + pixels
_ICC = b"ICC_PROFILE\x00"
_ADOBE = b"Adobe"
_ADOBE_LENGTH = 12
# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte) or a restart marker;
# any other byte but 0xFF (a fill byte) makes it the next marker.
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_CHUNK = 1024 * 1024


class NotAJpeg(ValueError):
    pass


class TooManyScans(NotAJpeg):
    pass


@dataclass(frozen=True)
class JpegLayout:
    """What the frame header and scans say about decoding this JPEG."""

    width: int
    height: int
    #: (horizontal, vertical) sampling factor of each component.
    sampling: tuple[tuple[int, int], ...]
    scans: int
    progressive: bool

    @property
    def coefficient_bytes(self) -> int:
        """Memory libjpeg holds for the whole image's DCT coefficients when it needs
        every scan before the output (progressive or multi-scan files): 2 bytes for
        each of the 64 coefficients of every 8x8 block of every component, whatever
        scale the output is decoded at. Zero for single-scan files."""
        if not (self.progressive or self.scans > 1) or not self.sampling:
            return 0
        h_max = max(h for h, _ in self.sampling)
        v_max = max(v for _, v in self.sampling)
        blocks = sum(
            math.ceil(math.ceil(self.width * h / h_max) / 8)
            * math.ceil(math.ceil(self.height * v / v_max) / 8)
            for h, v in self.sampling
        )
        return blocks * 64 * 2


@dataclass(frozen=True)
class StrippedJpeg:
    written: int
    sha256: str
    layout: JpegLayout


class _Source:
    """Buffered reads from ``src``; the buffer is compacted only when it is refilled."""

    def __init__(self, src: IO[bytes]) -> None:
        self.src = src
        self.buffer = b""
        self.pos = 0

    def _fill(self) -> bool:
        chunk = self.src.read(_CHUNK)
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return bool(chunk)

    def read(self, size: int) -> bytes:
        while len(self.buffer) - self.pos < size:
            if not self._fill():
                raise NotAJpeg("truncated segment")
        data = self.buffer[self.pos : self.pos + size]
        self.pos += size
        return data

    def entropy_data(self, out: _Sink) -> int:
        """Copy entropy-coded data to ``out`` up to the next marker; return its code.

        The data goes out as views of the buffer (a scan is most of the file: no copy)."""
        while True:
            found = _NEXT_MARKER.search(self.buffer, self.pos)
            if found:
                end = self._before_fill_bytes(found.start())
                out(memoryview(self.buffer)[self.pos : end])
                self.pos = found.end()
                return self.buffer[found.end() - 1]
            # Keep a trailing run of 0xFF: its marker byte may be in the next chunk.
            end = self._before_fill_bytes(len(self.buffer))
            if end > self.pos:
                out(memoryview(self.buffer)[self.pos : end])
                self.pos = end
            if not self._fill():
                raise NotAJpeg("no end-of-image marker")

    def _before_fill_bytes(self, end: int) -> int:
        """Where the run of 0xFF fill bytes that ends at ``end`` starts (not before pos)."""
        while end > self.pos and self.buffer[end - 1] == 0xFF:
            end -= 1
        return end

    def marker(self) -> int:
        """The code of the next marker; stray bytes and fill bytes before it are skipped,
        as decoders do."""
        while True:
            start = self.buffer.find(b"\xff", self.pos)
            if start < 0:
                self.pos = len(self.buffer)
                if not self._fill():
                    raise NotAJpeg("no end-of-image marker")
                continue
            self.pos = start + 1
            code = 0xFF
            while code == 0xFF:
                code = self.read(1)[0]
            if code != 0x00:
                return code


class _Sink:
    def __init__(self, dst: IO[bytes] | None) -> None:
        self.dst = dst
        self.digest = hashlib.sha256()
        self.written = 0

    def __call__(self, data: bytes | memoryview) -> None:
        if self.dst is not None and data:
            self.dst.write(data)
            self.digest.update(data)
            self.written += len(data)


def strip_jpeg_metadata(
    src: IO[bytes],
    dst: IO[bytes] | None = None,
    *,
    max_scans: int | None = None,
    max_icc_bytes: int = 0,
) -> StrippedJpeg:
    """Copy ``src`` to ``dst`` keeping only whitelisted segments.

    With ``dst=None`` nothing is written: the walk only checks the structure and
    returns the layout. A colour profile over ``max_icc_bytes`` is dropped. Raises
    :class:`NotAJpeg` for a broken structure and :class:`TooManyScans` past
    ``max_scans`` scans.
    """
    src.seek(0)
    source, out = _Source(src), _Sink(dst)
    if source.read(2) != b"\xff\xd8":
        raise NotAJpeg("missing start of image")
    out(b"\xff\xd8")
    frame: tuple[int, int, tuple[tuple[int, int], ...]] | None = None
    progressive, scans, seen_jfif = False, 0, False
    icc = _IccChunks(max_icc_bytes)
    code = source.marker()
    while True:
        if code == _EOI:
            out(b"\xff\xd9")
            break
        if code == _SOI:
            raise NotAJpeg("a second start of image")
        if code in _STANDALONE:
            code = source.marker()
            continue
        (length,) = struct.unpack(">H", source.read(2))
        if length < 2:
            raise NotAJpeg("corrupt segment length")
        body = source.read(length - 2)
        kept = _kept_segment(code, body, seen_jfif)
        seen_jfif = seen_jfif or (code == _APP0 and kept is not None)
        if code == _APP2 and kept is not None:  # written once the whole profile is read
            icc.add(kept)
            kept = None
        if code in _FRAMES:
            frame = _frame_header(body)
            progressive = code in _PROGRESSIVE_FRAMES
            for segment in icc.segments():
                out(segment)
        if kept is not None:
            out(b"\xff" + bytes([code]) + struct.pack(">H", len(kept) + 2) + kept)
        if code == _SOS:
            scans += 1
            if max_scans is not None and scans > max_scans:
                raise TooManyScans(f"more than {max_scans} scans")
            code = source.entropy_data(out)
        else:
            code = source.marker()
    if frame is None:
        raise NotAJpeg("no frame header")
    width, height, sampling = frame
    return StrippedJpeg(
        out.written, out.digest.hexdigest(), JpegLayout(width, height, sampling, scans, progressive)
    )


class _IccChunks:
    """An ICC profile split over APP2 segments (``ICC_PROFILE\\0``, sequence number,
    count, data), collected up to a size and written again as one clean profile."""

    _HEADER = len(_ICC) + 2
    _MAX_DATA = 0xFFFF - 2 - _HEADER

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, body: bytes) -> None:
        self.size += len(body) - self._HEADER
        if self.size <= self.max_bytes:
            self.chunks.append(body)

    def segments(self) -> list[bytes]:
        """The cleaned profile as APP2 segments (none if it was too large or unreadable)."""
        chunks, too_large = self.chunks, self.size > self.max_bytes
        self.chunks, self.size = [], 0
        if not chunks or too_large:
            return []
        ordered = sorted(chunks, key=lambda body: body[len(_ICC) : len(_ICC) + 1])
        profile = clean_profile(
            b"".join(body[self._HEADER :] for body in ordered), max_bytes=self.max_bytes
        )
        if profile is None:
            return []
        parts = [profile[i : i + self._MAX_DATA] for i in range(0, len(profile), self._MAX_DATA)]
        return [
            b"\xff"
            + bytes([_APP2])
            + struct.pack(">H", 2 + self._HEADER + len(part))
            + _ICC
            + bytes([number, len(parts)])
            + part
            for number, part in enumerate(parts, start=1)
        ]


def _kept_segment(code: int, body: bytes, seen_jfif: bool) -> bytes | None:
    """The body to write for a segment, or None to drop it."""
    if code in _FRAMES or code in _TABLES or code == _SOS:
        return body
    if code == _APP0 and body.startswith(_JFIF) and len(body) >= _JFIF_FIXED and not seen_jfif:
        return body[:_JFIF_FIXED] + b"\x00\x00"  # no thumbnail
    if code == _APP2 and body.startswith(_ICC):
        return body
    if code == _APP14 and body.startswith(_ADOBE) and len(body) >= _ADOBE_LENGTH:
        return body[:_ADOBE_LENGTH]
    return None


def _frame_header(body: bytes) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    if len(body) < 6:
        raise NotAJpeg("truncated frame header")
    _precision, height, width, count = struct.unpack(">BHHB", body[:6])
    if len(body) < 6 + 3 * count:
        raise NotAJpeg("truncated frame header")
    sampling = tuple((body[7 + 3 * i] >> 4 or 1, body[7 + 3 * i] & 0x0F or 1) for i in range(count))
    return width, height, sampling
