"""The one table of image formats we accept, and what each becomes when stored.

Everything else reads this table: the content sniffer, the re-encoder, direct-upload
requests, form help texts and the storefront's file picker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def is_iso_media(head: bytes) -> bool:
    """An ISO base media file (``ftyp`` box first): HEIF/HEIC photos, but also MP4 videos."""
    return head[4:8] == b"ftyp"


@dataclass(frozen=True)
class RenditionFormat:
    """A format renditions are made in (made once by the worker, downloaded many times)."""

    #: Pillow's name for the format.
    name: str
    content_type: str
    extension: str
    #: Encoder options by width: ``(up to this width, options)``, narrowest first; the
    #: last entry applies to every wider rendition too.
    save_options: tuple[tuple[int, Mapping[str, Any]], ...]

    def options(self, width: int) -> Mapping[str, Any]:
        return next(
            (o for up_to, o in self.save_options if width <= up_to), self.save_options[-1][1]
        )


#: Every format renditions can be made in, in the order a ``<picture>`` offers them;
#: ``MEDIA_RENDITION_FORMATS`` picks which are made (both by default).
#:
#: AVIF at the encoder's fast end (``speed`` 9: AVIF and WebP together cost under twice
#: WebP alone, bench/bench_renditions.py) and a quality per width chosen so each AVIF
#: is at least as close to the original (SSIM, luma) as the WebP of that width on a
#: smooth and a grainy photo (bench/RESULTS.md; bench/bench_storefront.py measures it on
#: the catalog). So set, AVIF is about a fifth smaller than WebP at 640 and 1280 px on a
#: smooth photo, but larger on a grainy one and on small flat images; the slower
#: settings that win more cost 3 to 6 times WebP's time. An image whose widest AVIF is
#: not smaller than its WebP gets none, nor does a transparent one (its alpha plane
#: doubles AVIF's work): :func:`~.renditions.make_renditions`. WebP at quality 80 with
#: the default effort (``method`` 4).
RENDITION_FORMATS: tuple[RenditionFormat, ...] = (
    RenditionFormat(
        "AVIF",
        "image/avif",
        "avif",
        (
            (400, {"quality": 80, "speed": 9}),
            (800, {"quality": 72, "speed": 9}),
            (1 << 31, {"quality": 70, "speed": 9}),
        ),
    ),
    RenditionFormat("WEBP", "image/webp", "webp", ((1 << 31, {"quality": 80, "method": 4}),)),
)


def rendition_formats(names: Iterable[str]) -> tuple[RenditionFormat, ...]:
    """The formats named (``MEDIA_RENDITION_FORMATS``: "avif", "webp"), in picture order."""
    wanted = {name.strip().upper() for name in names}
    unknown = wanted - {fmt.name for fmt in RENDITION_FORMATS}
    if unknown:
        known = ", ".join(fmt.extension for fmt in RENDITION_FORMATS)
        raise ValueError(f"unknown rendition format(s) {sorted(unknown)}; known: {known}")
    return tuple(fmt for fmt in RENDITION_FORMATS if fmt.name in wanted)


@dataclass(frozen=True)
class ImageFormat:
    #: Pillow's name for the format.
    name: str
    #: How people call it in messages.
    label: str
    #: Declared types accepted for it; the first is what we store it as.
    content_types: tuple[str, ...]
    #: File-name extensions it comes with (browsers sometimes send no type).
    file_extensions: tuple[str, ...]
    #: Whether the first bytes of a file say it is this format.
    matches: Callable[[bytes], bool]
    #: The format we write: HEIC/HEIF photos are stored as JPEG.
    stored_as: str
    #: What our encoder is told when it writes this format (stills and animations).
    save_options: Mapping[str, Any] = field(default_factory=dict)
    #: May hold several frames (animated GIF, WebP, APNG); they are kept when re-encoding.
    can_animate: bool = False
    #: The decoder can decode at 1/2, 1/4 or 1/8 scale (JPEG DCT scaling), which
    #: validation and renditions use to touch every byte with a fraction of the memory.
    scaled_decoding: bool = False
    #: Its metadata can be dropped without re-encoding (a segment copy, for JPEG).
    lossless_copy: bool = False
    #: Bytes per pixel its decoder holds outside Pillow's image, and still holds while
    #: the image is written again (measured by bench/bench_bombs.py): libwebp's
    #: canvases and the copy Pillow reads from (12), plus the WebP encoder's own
    #: picture and buffers at ``method=0`` (9, for noise with alpha, the worst case);
    #: libheif's RGB buffer, which Pillow then copies (4).
    working_bytes_per_pixel: int = 0
    #: More bytes per pixel when the image has an alpha channel: libwebp's encoder
    #: compresses the alpha plane losslessly, with its own buffers (16 for noise).
    alpha_working_bytes_per_pixel: int = 0
    #: What each pixel of an animation's frames counts for against the pixel limit of
    #: all frames together: encoding WebP frames costs about 2.5 times the CPU that GIF
    #: or APNG frames do (bench/bench_bombs.py), so its animations may hold fewer.
    frame_pixel_weight: float = 1.0

    @property
    def content_type(self) -> str:
        return self.content_types[0]

    @property
    def extension(self) -> str:
        """Extension of stored objects in this format."""
        return self.file_extensions[0].lstrip(".")


FORMATS: dict[str, ImageFormat] = {
    fmt.name: fmt
    for fmt in (
        ImageFormat(
            "JPEG",
            "JPEG",
            ("image/jpeg",),
            (".jpg", ".jpeg"),
            lambda head: head.startswith(b"\xff\xd8\xff"),
            stored_as="JPEG",
            save_options={"quality": 90},
            scaled_decoding=True,
            lossless_copy=True,
        ),
        ImageFormat(
            "PNG",
            "PNG",
            ("image/png",),
            (".png",),
            lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
            stored_as="PNG",
            can_animate=True,
        ),
        ImageFormat(
            "WEBP",
            "WebP",
            ("image/webp",),
            (".webp",),
            lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
            stored_as="WEBP",
            # method 0: a quarter of the encoder's memory and half its CPU of method 4
            # (bench/bench_bombs.py), for images a request re-encodes while the user waits.
            save_options={"quality": 90, "method": 0},
            can_animate=True,
            working_bytes_per_pixel=21,
            alpha_working_bytes_per_pixel=16,
            frame_pixel_weight=2.5,
        ),
        ImageFormat(
            "GIF",
            "GIF",
            ("image/gif",),
            (".gif",),
            lambda head: head[:6] in (b"GIF87a", b"GIF89a"),
            stored_as="GIF",
            can_animate=True,
        ),
        ImageFormat(
            "HEIF",
            "HEIC",
            ("image/heic", "image/heif"),
            (".heic", ".heif"),
            lambda head: is_iso_media(head) and head[8:12] in _HEIF_BRANDS,
            stored_as="JPEG",
            working_bytes_per_pixel=4,
        ),
    )
}

#: "JPEG, PNG, WebP, GIF or HEIC", for messages and help texts.
ACCEPTED_DESCRIPTION = (
    ", ".join(fmt.label for fmt in list(FORMATS.values())[:-1])
    + f" or {list(FORMATS.values())[-1].label}"
)
ACCEPTED_CONTENT_TYPES = frozenset(t for fmt in FORMATS.values() for t in fmt.content_types)


def sniff(head: bytes) -> ImageFormat | None:
    """The accepted format named by a file's first bytes, or None."""
    return next((fmt for fmt in FORMATS.values() if fmt.matches(head)), None)


def stored_format(fmt: ImageFormat) -> ImageFormat:
    return FORMATS[fmt.stored_as]


def content_types_by_extension() -> dict[str, str]:
    """``{".heic": "image/heic", ...}``: what a browser should declare for a typeless file."""
    return {ext: fmt.content_type for fmt in FORMATS.values() for ext in fmt.file_extensions}


def accept_attribute() -> str:
    """Value for ``<input type=file accept=...>``."""
    return ",".join(
        [*sorted(ACCEPTED_CONTENT_TYPES), *(e for f in FORMATS.values() for e in f.file_extensions)]
    )
