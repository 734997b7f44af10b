"""WebP renditions at a few widths, generated once when an image is stored."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps

WEBP_QUALITY = 80


@dataclass(frozen=True)
class RenditionData:
    width: int
    height: int
    content: ContentFile


def make_renditions(content: File, widths: Iterable[int]) -> list[RenditionData]:
    """Downscaled WebP copies for each width narrower than the original (first frame only).

    Stored images are upright (re-encoded, or JPEGs kept only when upright), so a
    JPEG can be decoded straight at the smallest scale that still covers the
    widest rendition (``draft``): several times faster than a full decode.
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
    image = ImageOps.exif_transpose(source).convert("RGBA" if _has_alpha(source) else "RGB")
    results = []
    for width in targets:
        height = max(1, round(original_height * width / original_width))
        scaled = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        buffer = io.BytesIO()
        scaled.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        rendition = ContentFile(buffer.getvalue())
        rendition.content_type = "image/webp"
        results.append(RenditionData(width, height, rendition))
    content.seek(0)
    return results


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
