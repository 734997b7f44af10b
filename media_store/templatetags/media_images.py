"""``{% picture %}``: a stored image as ``<picture>`` with its renditions and placeholder."""

from __future__ import annotations

from typing import Any

from django import template

from media_store.imaging.formats import RENDITION_FORMATS
from media_store.imaging.renditions import placeholder_data_url
from media_store.models import StoredFile

register = template.Library()


@register.inclusion_tag("media_store/picture.html")
def picture(
    image: StoredFile, alt: str, sizes: str = "100vw", first: bool = False
) -> dict[str, Any]:
    """One ``<source>`` per rendition format (AVIF, then WebP), the original as ``<img>``.

    The ``<img>`` has its width and height (nothing shifts while it loads) and a blurred
    placeholder behind it. ``first``: the image most likely to be the largest on screen
    loads at once with high priority; the others load lazily, as they scroll into view.
    """
    ready = image.ready_renditions()
    sources = [
        {
            "type": fmt.content_type,
            "srcset": ", ".join(
                f"{r.url()} {r.width}w" for r in ready if r.content_type == fmt.content_type
            ),
        }
        for fmt in RENDITION_FORMATS
    ]
    background = ""
    if image.placeholder:
        data_url = placeholder_data_url(image.placeholder, image.width, image.height)
        background = f"background: {image.color} url({data_url}) center / cover no-repeat"
    return {
        "image": image,
        "alt": alt,
        "sizes": sizes,
        "first": first,
        "sources": [source for source in sources if source["srcset"]],
        "background": background,
    }
