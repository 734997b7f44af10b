"""WebP renditions at a few widths, made by a background task once an image is stored."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from PIL import Image

from media_store.conf import upload_limits

from .decoding import image_errors
from .formats import FORMATS, RENDITION_FORMAT, RENDITION_SAVE_OPTIONS
from .slots import decode_slot


@dataclass(frozen=True)
class RenditionData:
    width: int
    height: int
    content: ContentFile


def make_renditions(content: File, widths: Iterable[int]) -> list[RenditionData]:
    """Downscaled WebP copies for each width narrower than the original (first frame only).

    Stored images are upright (re-encoded, or JPEGs kept only when upright), so no
    orientation is applied here, and a JPEG can be decoded straight at the
    smallest scale that still covers the widest rendition (``draft``): several
    times faster than a full decode, and a fraction of the memory. Any failure to
    read or encode raises :class:`~media_store.errors.InvalidImage`.
    """
    with decode_slot(), image_errors(upload_limits()):
        results = _renditions(content, widths)
    content.seek(0)
    return results


def _renditions(content: File, widths: Iterable[int]) -> list[RenditionData]:
    content.seek(0)
    source = Image.open(content)
    targets = rendition_sizes(*source.size, widths)
    if not targets:
        return []
    source.draft("RGB", targets[-1])
    mode = "RGBA" if _has_alpha(source) else "RGB"
    current = source if source.mode == mode else source.convert(mode)
    del source
    results = []
    # Widest first, each from the previous one: only two images are ever in memory.
    for width, height in reversed(targets):
        current = current.resize((width, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        current.save(buffer, format=RENDITION_FORMAT, **RENDITION_SAVE_OPTIONS)
        rendition = ContentFile(buffer.getvalue())
        rendition.content_type = FORMATS[RENDITION_FORMAT].content_type
        rendition.sha256 = hashlib.sha256(rendition.file.getbuffer()).hexdigest()
        results.append(RenditionData(width, height, rendition))
    results.reverse()
    return results


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def rendition_sizes(width: int, height: int, widths: Iterable[int]) -> list[tuple[int, int]]:
    """(width, height) of each rendition an image of ``width`` x ``height`` gets: narrower only."""
    return [
        (target, max(1, round(height * target / width)))
        for target in sorted(set(widths))
        if target < width
    ]


def rendition_key(key: str, width: int) -> str:
    """The object key of the ``width`` rendition of the object ``key``."""
    return f"{key.rsplit('.', 1)[0]}_w{width}.webp"
