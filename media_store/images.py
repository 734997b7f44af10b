"""Accept an image by its bytes, never by its name or declared type.

:func:`prepare_image` checks an upload against the limits, sniffs its real
format, decodes it (so truncated and corrupt files fail here, not in a
customer's browser), refuses markup hidden inside, and removes metadata:
by default it re-encodes (EXIF orientation applied, EXIF/GPS/XMP and comments
dropped, HEIC/HEIF converted to JPEG); with ``reencode=False`` an upright JPEG
keeps its pixels and loses only its metadata segments (lossless, streamed).
The result knows its size, dimensions and sha256 so the database can answer
those questions without touching the object store.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import pillow_heif
from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps, UnidentifiedImageError

from .conf import UploadLimits, megabytes
from .errors import InvalidImage, UnsupportedMediaType, UploadTooLarge
from .formats import ACCEPTED_DESCRIPTION, ImageFormat, sniff, stored_format
from .jpeg_metadata import NotAJpeg, strip_jpeg_metadata

pillow_heif.register_heif_opener()  # HEIC/HEIF photos from phones

# Markup a browser could be tricked into rendering: HTML/SVG/XML/PHP anywhere in
# the file makes it a polyglot, whatever image header it starts with. Searched on
# lower-cased chunks in two steps (cheap candidate "<x", then the full token):
# one alternation regex over the whole file costs three times as much.
_TAG_START = re.compile(rb"<[!?a-z]")
_MARKUP_AT = re.compile(rb"<(?:!doctype|html|head|body|script|svg|iframe|object|embed|\?php|\?xml)")
_SCRIPT_URL = b"javascript:"
_SCAN_CHUNK = 1024 * 1024
_SCAN_OVERLAP = 64
_SPOOL_IN_MEMORY = 1024 * 1024
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to store: its bytes and the facts the database keeps."""

    content: File
    content_type: str
    extension: str
    width: int
    height: int
    size: int
    sha256: str
    #: The uploader's file name, for display only (never part of a key).
    original_name: str = ""


def _describe_unsupported(head: bytes) -> str:
    text = head.lstrip().lower()
    if text.startswith(b"%pdf"):
        kind = "a PDF document"
    elif b"<svg" in text or text.startswith(b"<?xml"):
        kind = "an SVG/XML file"
    elif text.startswith(b"<"):
        kind = "an HTML/text file"
    elif head[4:8] == b"ftyp":
        kind = "a video or unsupported HEIF variant"
    else:
        kind = "not a recognised image"
    return f"This file is {kind}. Upload a {ACCEPTED_DESCRIPTION} image."


def _contains_markup(stream: IO[bytes]) -> bool:
    stream.seek(0)
    tail = b""
    while chunk := stream.read(_SCAN_CHUNK):
        window = (tail + chunk).lower()
        if _SCRIPT_URL in window:
            return True
        if any(_MARKUP_AT.match(window, m.start()) for m in _TAG_START.finditer(window)):
            return True
        tail = window[-_SCAN_OVERLAP:]
    return False


@contextmanager
def _image_errors(limits: UploadLimits) -> Iterator[None]:
    """Turn Pillow's failures into errors with a message for the uploader."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImage(_too_many_pixels(limits)) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            # The header already named an accepted format, so failing to read it is corruption.
            raise InvalidImage(
                "The image is truncated or corrupt and cannot be decoded. "
                "Export it again from your photo app and retry."
            ) from exc


def _too_many_pixels(limits: UploadLimits) -> str:
    return (
        f"The image has too many pixels; the limit is {limits.max_pixels:,}. "
        "Resize it and try again."
    )


def _open(stream: IO[bytes], fmt: ImageFormat, limits: UploadLimits) -> Image.Image:
    """Read the header only and enforce the pixel limit before any pixel is decoded."""
    stream.seek(0)
    with _image_errors(limits):
        image = Image.open(stream, formats=[fmt.name])
        width, height = image.size
        if width * height * getattr(image, "n_frames", 1) > limits.max_pixels:
            raise InvalidImage(_too_many_pixels(limits))
    return image


def _decode(image: Image.Image, limits: UploadLimits, *, reduced: bool = False) -> None:
    """Decode every frame, so truncated and corrupt files fail here.

    ``reduced`` decodes a JPEG at 1/8 scale: every byte of the scan is still
    parsed (truncation is still caught) with a 64th of the memory.
    """
    with _image_errors(limits):
        if reduced:
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
        frames = getattr(image, "n_frames", 1)
        for index in range(1, frames):
            image.seek(index)
            image.load()
        if frames > 1:
            image.seek(0)


def _reencode(image: Image.Image, fmt: ImageFormat) -> tuple[bytes, ImageFormat]:
    """Re-encode without metadata; returns the bytes and the format they are in."""
    out = stored_format(fmt)
    out_format = out.name
    frames = getattr(image, "n_frames", 1)
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc  # colour, not personal data
    if out_format == "GIF" or (frames > 1 and out.can_animate):
        options.update(save_all=frames > 1, loop=image.info.get("loop", 0))
        if "duration" in image.info:
            options["duration"] = image.info["duration"]
        image.save(buffer, format=out_format, **options)
        return buffer.getvalue(), out
    upright = ImageOps.exif_transpose(image)
    if out_format == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=90)
    elif out_format == "WEBP":
        options.update(quality=90, method=4)
    upright.save(buffer, format=out_format, **options)
    return buffer.getvalue(), out


def prepare_image(
    upload: IO[bytes], *, limits: UploadLimits, reencode: bool = True
) -> PreparedImage:
    """Validate ``upload`` (a Django ``UploadedFile`` or any binary file) and make it storable.

    Raises :class:`UploadTooLarge` (413), :class:`UnsupportedMediaType` (415) or
    :class:`InvalidImage` (400), each with a message meant for the uploader.
    """
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size == 0:
        raise InvalidImage("The file is empty (0 bytes). Choose an image file and try again.")
    if size > limits.max_bytes:
        raise UploadTooLarge(
            f"The file is {megabytes(size)}; the limit is {megabytes(limits.max_bytes)}. "
            "Upload a smaller image."
        )
    upload.seek(0)
    head = upload.read(64)
    fmt = sniff(head)
    if fmt is None:
        raise UnsupportedMediaType(_describe_unsupported(head))
    if _contains_markup(upload):
        raise UnsupportedMediaType(
            "The file contains HTML or script content inside the image data and was refused. "
            "Export the picture again as a plain image."
        )
    image = _open(upload, fmt, limits)
    width, height = image.size
    if not reencode and fmt.name == "JPEG" and image.getexif().get(_ORIENTATION, 1) == 1:
        # Upright JPEG: keep the original pixels, drop only the metadata (no quality loss).
        _decode(image, limits, reduced=True)
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            written, digest = strip_jpeg_metadata(upload, spool)
        except NotAJpeg as exc:
            raise InvalidImage("The JPEG structure is corrupt. Export it again and retry.") from exc
        spool.seek(0)
        content: File = File(spool)
        content.size = written
        out = fmt
    else:
        _decode(image, limits)
        data, out = _reencode(image, fmt)
        width, height = Image.open(io.BytesIO(data)).size
        content = ContentFile(data)
        digest = hashlib.sha256(data).hexdigest()
    content.content_type = out.content_type  # read by the S3 backend for the Content-Type
    return PreparedImage(
        content=content,
        content_type=out.content_type,
        extension=out.extension,
        width=width,
        height=height,
        size=content.size,
        sha256=digest,
        original_name=(getattr(upload, "name", "") or "")[:255],
    )
