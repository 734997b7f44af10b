"""WebP renditions at a few widths, generated once when an image is stored."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from PIL import Image

WEBP_QUALITY = 80


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
    times faster than a full decode, and a fraction of the memory.
    """
    content.seek(0)
    source = Image.open(content)
    original_width, original_height = source.size
    targets = [width for width in sorted(set(widths)) if width < original_width]
    if not targets:
        content.seek(0)
        return []
    widest = targets[-1]
    source.draft("RGB", (widest, max(1, original_height * widest // original_width)))
    mode = "RGBA" if _has_alpha(source) else "RGB"
    current = source if source.mode == mode else source.convert(mode)
    del source
    results = []
    # Widest first, each from the previous one: only two images are ever in memory.
    for width in reversed(targets):
        height = max(1, round(original_height * width / original_width))
        current = current.resize((width, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        current.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        rendition = ContentFile(buffer.getvalue())
        rendition.content_type = "image/webp"
        results.append(RenditionData(width, height, rendition))
    results.reverse()
    content.seek(0)
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
