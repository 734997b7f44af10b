"""Renditions at a few widths (AVIF and WebP) and a placeholder, made by a background
task once an image is stored."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import blurhash
from django.core.files.base import ContentFile, File
from PIL import Image

from media_store.conf import media_setting, upload_limits

from .decoding import image_errors
from .formats import RenditionFormat, rendition_formats
from .slots import decode_slot

#: Blurhash components across and down: a few soft blobs of colour, about 30 characters.
PLACEHOLDER_COMPONENTS = (4, 3)
#: The hash is made from (and drawn back at) this many pixels on the longest side.
PLACEHOLDER_PIXELS = 32


@dataclass(frozen=True)
class RenditionData:
    width: int
    height: int
    content: ContentFile

    @property
    def content_type(self) -> str:
        return self.content.content_type


@dataclass(frozen=True)
class Renditions:
    """What :func:`make_renditions` made: each width in each format, and a placeholder."""

    images: list[RenditionData] = field(default_factory=list)
    #: A blurhash of the image, and its average colour as ``#rrggbb`` (empty: none made).
    placeholder: str = ""
    color: str = ""
    #: Content types left out: AVIF for a transparent image, or one whose widest AVIF
    #: came out no smaller than its WebP.
    dropped: frozenset[str] = frozenset()


def make_renditions(
    content: File,
    widths: Iterable[int],
    formats: Sequence[RenditionFormat] | None = None,
) -> Renditions:
    """Downscaled copies for each width narrower than the original (first frame only),
    in each of ``formats`` (``MEDIA_RENDITION_FORMATS`` by default; AVIF only for opaque
    images whose widest AVIF is smaller than its WebP), and a placeholder from the
    smallest of them.

    Stored images are upright (re-encoded, or JPEGs kept only when upright), so no
    orientation is applied here, and a JPEG can be decoded straight at the
    smallest scale that still covers the widest rendition (``draft``): several
    times faster than a full decode, and a fraction of the memory. Any failure to
    read or encode raises :class:`~media_store.errors.InvalidImage`.
    """
    if formats is None:
        formats = formats_in_use()
    with decode_slot(), image_errors(upload_limits()):
        results = _renditions(content, widths, formats)
    content.seek(0)
    return results


def formats_in_use() -> tuple[RenditionFormat, ...]:
    """The formats ``MEDIA_RENDITION_FORMATS`` names (``ValueError`` for an unknown one)."""
    return rendition_formats(media_setting("MEDIA_RENDITION_FORMATS"))


def _renditions(
    content: File, widths: Iterable[int], formats: Sequence[RenditionFormat]
) -> Renditions:
    content.seek(0)
    source = Image.open(content)
    targets = rendition_sizes(*source.size, widths)
    if not targets:
        return Renditions()
    source.draft("RGB", targets[-1])
    mode = "RGBA" if _has_alpha(source) else "RGB"
    current = _eight_bit(source)
    current = current if current.mode == mode else current.convert(mode)
    del source
    # Transparent images get no AVIF: its alpha plane is a second encode (the costliest
    # uploads, bench/bench_bombs.py), and WebP keeps transparency.
    kept = [fmt for fmt in formats if not (fmt.name == "AVIF" and mode == "RGBA")]
    dropped = {fmt.content_type for fmt in formats if fmt not in kept}
    images = []
    # Widest first, each from the previous one: only two images are ever in memory.
    for width, height in reversed(targets):
        current = current.resize((width, height), Image.Resampling.LANCZOS)
        made = [RenditionData(width, height, _encode(current, fmt, width)) for fmt in kept]
        if width == targets[-1][0] and _avif_not_smaller(made):
            # The widest (what phones fetch) decides, and nothing more is spent on AVIF.
            made = [image for image in made if image.content_type != "image/avif"]
            kept = [fmt for fmt in kept if fmt.name != "AVIF"]
            dropped.add("image/avif")
        images.extend(made)
    images.reverse()
    # Behind a transparent image a placeholder would stay visible: those get none.
    placeholder = _placeholder(current) if mode == "RGB" else ("", "")
    return Renditions(images, *placeholder, dropped=frozenset(dropped))


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale (PNG) scaled to 8 bits; Pillow's ``convert`` would clip every
    value above 255, so a mid-grey photo would come out white."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    return image


def _avif_not_smaller(made: list[RenditionData]) -> bool:
    """Whether the AVIF of one width is no smaller than its WebP (grainy photos, flat
    small images): a browser would download more for no better image."""
    sizes = {image.content_type: image.content.size for image in made}
    return "image/avif" in sizes and sizes["image/avif"] >= sizes.get("image/webp", 1 << 62)


def _encode(image: Image.Image, fmt: RenditionFormat, width: int) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt.name, **fmt.options(width))
    encoded = ContentFile(buffer.getvalue())
    encoded.content_type = fmt.content_type
    encoded.sha256 = hashlib.sha256(encoded.file.getbuffer()).hexdigest()
    return encoded


def _placeholder(image: Image.Image) -> tuple[str, str]:
    """A blurhash and the average colour of ``image`` (already small: the narrowest rendition)."""
    tiny = image.copy()
    tiny.thumbnail((PLACEHOLDER_PIXELS, PLACEHOLDER_PIXELS), Image.Resampling.BOX)
    red, green, blue = tiny.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return blurhash.encode(tiny, *PLACEHOLDER_COMPONENTS), f"#{red:02x}{green:02x}{blue:02x}"


def placeholder_data_url(placeholder: str, width: int, height: int) -> str:
    """A tiny PNG drawn from a blurhash, as a ``data:`` URL: the page shows it, stretched
    (the browser's scaling blurs it), until the image itself has loaded."""
    scale = PLACEHOLDER_PIXELS / max(width, height, 1)
    size = max(1, round(width * scale // 4)), max(1, round(height * scale // 4))
    buffer = io.BytesIO()
    blurhash.decode(placeholder, *size).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def rendition_sizes(width: int, height: int, widths: Iterable[int]) -> list[tuple[int, int]]:
    """(width, height) of each rendition an image of ``width`` x ``height`` gets: narrower only."""
    return [
        (target, max(1, round(height * target / width)))
        for target in sorted(set(widths))
        if target < width
    ]


def rendition_key(key: str, width: int, fmt: RenditionFormat) -> str:
    """The object key of the ``width`` rendition of the object ``key`` in ``fmt``."""
    return f"{key.rsplit('.', 1)[0]}_w{width}.{fmt.extension}"
