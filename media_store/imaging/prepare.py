"""Accept an image by its bytes, never by its name or declared type.

:func:`prepare_image` checks an upload against the limits, sniffs its real format
and makes the bytes we store, so that what is stored is safe by construction
rather than by scanning what was sent:

- by default it re-encodes: the pixels are decoded within the upload's decode
  budget (:mod:`media_store.imaging.decoding`), a still image gets its EXIF orientation
  applied and is scaled to at most ``MEDIA_MAX_STORED_DIMENSION`` (a JPEG decoded
  straight at a reduced DCT scale when that is enough), and our encoder writes
  nothing but pixels, the ICC colour profile and animation timing: no EXIF, XMP,
  comments or text chunks. HEIC/HEIF photos become JPEG.
- with ``reencode=False`` an upright JPEG keeps its pixels: a copy holding only the
  segments the decoder needs is written (:mod:`media_store.imaging.jpeg_segments`) and that
  copy, not the input, is decoded at 1/8 scale, so bytes that are not a valid
  image are never stored. That decode can be left to the caller
  (``PreparedImage.check``) to run while the bytes are being written to the store.

Either way the stored bytes were written by us, and they are served with their
sniffed Content-Type and, when private, as an attachment. The result
knows its size, dimensions and sha256 so the database can answer those questions
without touching the object store.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from PIL import Image

from media_store.conf import UploadLimits, megabytes
from media_store.errors import EmptyFile, InvalidImage, UnsupportedMediaType, UploadTooLarge

from .decoding import DecodeBudget, decoded_frames, fit, image_errors
from .formats import ACCEPTED_DESCRIPTION, ImageFormat, is_iso_media, sniff, stored_format
from .icc import clean_profile
from .jpeg_segments import (
    JpegLayout,
    NotAJpeg,
    StrippedJpeg,
    TooManyScans,
    strip_jpeg_metadata,
)
from .slots import decode_slot

_ORIENTATION = 0x0112
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: The only ``info`` entries our encoders may see: savers copy anything else they
#: know (a GIF or JPEG comment, for one) into the file they write.
_KEPT_INFO = ("transparency", "duration", "background")


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
    #: The uploader's file name, for display only (never part of a key); set by the
    #: upload intake, which knows where names come from.
    original_name: str = ""
    #: Validation still to run on ``content`` (the decode of a lossless copy), when
    #: :func:`prepare_image` was asked to leave it to the caller; it reads the bytes
    #: without moving ``content``'s position and raises like ``prepare_image``.
    check: Callable[[], None] | None = field(default=None, compare=False, repr=False)


def _describe_unsupported(head: bytes) -> str:
    text = head.lstrip().lower()
    if text.startswith(b"%pdf"):
        kind = "a PDF document"
    elif b"<svg" in text or text.startswith(b"<?xml"):
        kind = "an SVG/XML file"
    elif text.startswith(b"<"):
        kind = "an HTML/text file"
    elif is_iso_media(head):
        kind = "a video or unsupported HEIF variant"
    else:
        kind = "not a recognised image"
    return f"This file is {kind}. Upload a {ACCEPTED_DESCRIPTION} image."


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, or 1 (upright) when there is none or it cannot be read.

    EXIF is never stored, so an unreadable block only means there is no rotation to
    apply; browsers would not apply one either.
    """
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # any parser failure means "no usable orientation"
        return 1
    return value if value in _UPRIGHT else 1


def _walk_jpeg(upload: IO[bytes], dst: IO[bytes] | None, limits: UploadLimits) -> StrippedJpeg:
    try:
        return strip_jpeg_metadata(
            upload, dst, max_scans=limits.max_scans, max_icc_bytes=limits.max_icc_bytes
        )
    except TooManyScans as exc:
        raise InvalidImage(
            f"The JPEG has more than {limits.max_scans} progressive scans, the limit. "
            "Save it again as a plain (baseline) JPEG and retry."
        ) from exc
    except NotAJpeg as exc:
        raise InvalidImage("The JPEG structure is corrupt. Export it again and retry.") from exc


def _draft(image: Image.Image, fmt: ImageFormat, max_dimension: int) -> None:
    """Have a JPEG decoded straight at the first DCT scale (1/2, 1/4, 1/8) at which it
    fits the stored size, instead of decoding it in full and scaling down.

    The stored image may then be up to half the longest side allowed: a 6000 px photo
    is kept at 3000 px, not 4096, for a quarter of the decode memory."""
    if not fmt.scaled_decoding:
        return
    width, height = image.size
    scale = 1
    while scale < 8 and -(-max(width, height) // scale) > max_dimension:
        scale *= 2
    if scale > 1:  # a side of a few pixels stays at least one
        image.draft(None, (max(1, width // scale), max(1, height // scale)))


def _clean(image: Image.Image) -> Image.Image:
    image.info = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
    return image


def _encode_still(image: Image.Image, out: ImageFormat, icc: bytes | None) -> bytes:
    options: dict[str, object] = dict(out.save_options)
    if icc:
        options["icc_profile"] = icc  # colour, not personal data
    if out.name == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
    elif out.name == "GIF":
        image = _palette_for_gif(image)
    buffer = io.BytesIO()
    _clean(image).save(buffer, format=out.name, **options)
    return buffer.getvalue()


def _palette_for_gif(image: Image.Image) -> Image.Image:
    """RGB reduced to 256 colours with the fast octree (the GIF saver's median cut
    costs ten times as much per pixel)."""
    if image.mode != "RGB":
        return image
    return image.quantize(256, method=Image.Quantize.FASTOCTREE)


def _kept_frame(frame: Image.Image, out: ImageFormat, canvas: tuple[int, int]) -> Image.Image:
    """A clean copy of the current frame (the decoder reuses ``frame`` for the next).

    Pillow grows a GIF's canvas for frames that do not fit its logical screen; the
    stored animation keeps the first frame's canvas, so later frames are cut to it.
    """
    kept = _clean(frame.copy() if frame.size == canvas else frame.crop((0, 0, *canvas)))
    return _palette_for_gif(kept) if out.name == "GIF" else kept


def _encode_animation(image: Image.Image, out: ImageFormat, budget: DecodeBudget) -> bytes:
    """Re-encode every frame, each charged to ``budget`` before it is decoded.

    Animations keep their size (their frames and memory are bounded instead). How
    the frames reach the encoder follows what each Pillow saver does with them:

    - GIF takes them one at a time: clean copies, decoded as the encoder asks.
    - WebP lists them all before encoding anyway: clean copies, with their timing.
    - APNG reads them twice (modes and sizes first) and copies each, so it gets the
      source itself, every frame charged before anything is decoded (the frame count
      is in the acTL chunk and the canvas is fixed). It writes no text, EXIF or XMP
      it is not given, only the colour profile and transparency it reads from it.
    """
    options: dict[str, Any] = {
        **out.save_options,
        "save_all": True,
        "loop": image.info.get("loop", 0),
        # Always given: the APNG saver would otherwise copy the source's own profile.
        "icc_profile": clean_profile(
            image.info.get("icc_profile"), max_bytes=budget.limits.max_icc_bytes
        ),
    }
    if out.name == "PNG":
        for _ in range(image.n_frames):
            budget.frame(image.size)
        first = image
    else:
        canvas = image.size
        frames = (_kept_frame(frame, out, canvas) for frame in decoded_frames(image, budget))
        first = next(frames)
        options["append_images"] = frames
        if out.name == "WEBP":
            rest = list(frames)
            durations = [frame.info.get("duration", 0) for frame in [first, *rest]]
            options.update(append_images=rest, duration=durations)
    buffer = io.BytesIO()
    first.save(buffer, format=out.name, **options)
    return buffer.getvalue()


def _reencode(
    upload: IO[bytes], image: Image.Image, fmt: ImageFormat, limits: UploadLimits
) -> tuple[bytes, ImageFormat]:
    """Decode within budget and write the image again; returns the bytes and their format."""
    out = stored_format(fmt)
    budget = DecodeBudget(limits, fmt)
    if out.can_animate and getattr(image, "is_animated", False):
        return _encode_animation(image, out, budget), out
    layout: JpegLayout | None = None
    if fmt.lossless_copy:  # structure and scan count checked before libjpeg sees it
        layout = _walk_jpeg(upload, None, limits).layout
    icc = clean_profile(image.info.get("icc_profile"), max_bytes=limits.max_icc_bytes)
    size = image.size
    _draft(image, fmt, limits.max_dimension)
    budget.still(
        size,
        decoded=image.size,
        mode=image.mode,
        extra_bytes=layout.coefficient_bytes if layout else 0,
    )
    image.load()
    orientation = _orientation(image)  # after load: a PNG's eXIf chunk may follow its pixels
    still = fit(image, limits.max_dimension)
    if orientation != 1:
        still = still.transpose(_UPRIGHT[orientation])
    return _encode_still(still, out, icc), out


class _PositionalReader(io.RawIOBase):
    """Reads a file by offset (``os.pread``), leaving its shared position alone, so one
    thread can decode the bytes another is sending to the store."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position}.get(whence)
        if base is None:
            base = os.fstat(self._fd).st_size
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _lossless_jpeg(
    upload: IO[bytes], size: int, fmt: ImageFormat, limits: UploadLimits
) -> tuple[File, str, tuple[int, int], Callable[[], None]]:
    """Copy the whitelisted segments; return the copy, its digest and size, and the one
    decode of this path (at 1/8 scale), which validates exactly the bytes to be stored.

    The copy stays in memory when the upload is small enough for Django to keep in
    memory (``FILE_UPLOAD_MAX_MEMORY_SIZE``), else it goes to a temporary file. The
    copy's header is read and its decode priced now; the returned check decodes it.
    """
    if size <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
        buffer = io.BytesIO()
        stripped = _walk_jpeg(upload, buffer, limits)
        data = buffer.getvalue()
        content: File = ContentFile(data)
        reader: IO[bytes] = io.BytesIO(data)  # shares ``data``: the write reads its own
    else:
        copy = tempfile.TemporaryFile()  # noqa: SIM115  (owned by the returned File)
        stripped = _walk_jpeg(upload, copy, limits)
        copy.seek(0)
        content = File(copy)
        reader = io.BufferedReader(_PositionalReader(copy.fileno()))
    stored = Image.open(reader, formats=[fmt.name])
    dimensions = stored.size
    stored.draft(None, (max(1, dimensions[0] // 8), max(1, dimensions[1] // 8)))
    DecodeBudget(limits, fmt).still(
        dimensions,
        decoded=stored.size,
        mode=stored.mode,
        extra_bytes=stripped.layout.coefficient_bytes,
        scale=False,
    )

    def check() -> None:
        with decode_slot(), image_errors(limits):
            stored.load()

    content.size = stripped.written
    return content, stripped.sha256, dimensions, check


def prepare_image(
    upload: IO[bytes], *, limits: UploadLimits, reencode: bool = True, defer_check: bool = False
) -> PreparedImage:
    """Validate ``upload`` (a Django ``UploadedFile`` or any binary file) and make it storable.

    Raises :class:`UploadTooLarge` (413), :class:`UnsupportedMediaType` (415) or
    :class:`InvalidImage` (400), each with a message meant for the uploader; no other
    exception escapes for any content. With ``defer_check`` the last step of
    validation may be returned as ``PreparedImage.check`` instead of run: whoever
    stores the content must run it and must not keep the object if it raises.
    """
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size == 0:
        raise EmptyFile()
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
    check = None
    with decode_slot(), image_errors(limits):
        upload.seek(0)
        image = Image.open(upload, formats=[fmt.name])  # the header only
        if not reencode and fmt.lossless_copy and _orientation(image) == 1:
            content, digest, (width, height), check = _lossless_jpeg(upload, size, fmt, limits)
            out = fmt
        else:
            data, out = _reencode(upload, image, fmt, limits)
            width, height = Image.open(io.BytesIO(data)).size
            content = ContentFile(data)
            digest = hashlib.sha256(data).hexdigest()
    if check is not None and not defer_check:
        check()
        check = None
    content.content_type = out.content_type  # read by the S3 backend for the Content-Type
    content.sha256 = digest  # sent by the S3 backend as the object's checksum
    return PreparedImage(
        content=content,
        content_type=out.content_type,
        extension=out.extension,
        width=width,
        height=height,
        size=content.size,
        sha256=digest,
        check=check,
    )
