"""``{% picture %}``: AVIF, then WebP, then the original; sizes, placeholder, priority."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template

from media_store.models import Rendition, StoredFile

pytestmark = pytest.mark.django_db


def stored(placeholder: str = "") -> StoredFile:
    image = StoredFile.objects.create(
        visibility="public",
        key="products/abc.jpg",
        content_type="image/jpeg",
        size=1,
        width=2000,
        height=1500,
        sha256="0" * 64,
        placeholder=placeholder,
        color="#336699" if placeholder else "",
    )
    for width in (320, 640):
        for content_type, extension in (("image/webp", "webp"), ("image/avif", "avif")):
            Rendition.objects.create(
                file=image,
                width=width,
                height=width * 3 // 4,
                content_type=content_type,
                key=f"products/abc_w{width}.{extension}",
                state=Rendition.State.READY,
            )
    Rendition.objects.create(  # not made yet: not offered
        file=image, width=1280, height=960, key="products/abc_w1280.webp"
    )
    return image


def render(image: StoredFile, first: bool) -> str:
    template = Template("{% load media_images %}{% picture image 'A lamp' '50vw' first %}")
    return template.render(Context({"image": image, "first": first}))


def test_avif_then_webp_then_the_original_with_its_size():
    html = render(stored(), first=False)
    sources = re.findall(r'<source type="([^"]+)" srcset="([^"]+)" sizes="50vw">', html)
    assert [kind for kind, _ in sources] == ["image/avif", "image/webp"]
    assert sources[0][1].endswith("abc_w320.avif 320w, /media/products/abc_w640.avif 640w")
    assert "1280" not in html
    assert re.search(r'<img src="[^"]+abc\.jpg" width="2000" height="1500" alt="A lamp"', html)
    assert 'loading="lazy"' in html and "fetchpriority" not in html and "style=" not in html


def test_the_first_image_loads_at_once_over_its_placeholder():
    html = render(stored(placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj"), first=True)
    assert 'fetchpriority="high"' in html and "loading=" not in html
    style = re.search(r'style="([^"]+)"', html)[1]
    assert style.startswith("background: #336699 url(data:image/png;base64,")
