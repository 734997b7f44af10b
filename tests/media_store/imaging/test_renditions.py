"""Which rendition formats an image gets: AVIF only where it is smaller, and opaque."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image

from media_store.imaging.formats import RENDITION_FORMATS
from media_store.imaging.renditions import make_renditions
from tests.support.images import image_bytes, photo_jpeg


def kinds(made) -> list[tuple[int, str]]:
    return sorted((image.width, image.content_type) for image in made.images)


def test_a_photo_gets_avif_smaller_than_webp_and_a_placeholder():
    made = make_renditions(
        ContentFile(photo_jpeg(2600, 1950, megabytes=2)), [640, 1280], RENDITION_FORMATS
    )
    assert kinds(made) == [
        (640, "image/avif"),
        (640, "image/webp"),
        (1280, "image/avif"),
        (1280, "image/webp"),
    ]
    size = {(i.width, i.content_type): i.content.size for i in made.images}
    assert size[(1280, "image/avif")] < size[(1280, "image/webp")]
    assert not made.dropped and made.placeholder and made.color.startswith("#")


def test_an_image_whose_widest_avif_is_not_smaller_gets_none():
    made = make_renditions(
        ContentFile(image_bytes("JPEG", (400, 300))), [100, 200], RENDITION_FORMATS
    )
    assert kinds(made) == [(100, "image/webp"), (200, "image/webp")]
    assert made.dropped == {"image/avif"}


def test_a_transparent_image_gets_no_avif_and_no_placeholder():
    # A photo whose AVIFs would be smaller: only its transparency keeps AVIF out.
    photo = Image.open(io.BytesIO(photo_jpeg(1600, 1200, megabytes=1))).convert("RGBA")
    photo.putalpha(Image.linear_gradient("L").resize(photo.size))
    png = io.BytesIO()
    photo.save(png, format="PNG")
    made = make_renditions(ContentFile(png.getvalue()), [640, 1280], RENDITION_FORMATS)
    assert kinds(made) == [(640, "image/webp"), (1280, "image/webp")]
    assert made.dropped == {"image/avif"} and made.placeholder == "" and made.color == ""


def test_a_16_bit_greyscale_png_keeps_its_tones():
    # Mid-grey in 16 bits (30000 of 65535): about 117 in 8 bits, not white.
    png = io.BytesIO()
    Image.new("I;16", (400, 300), 30000).save(png, format="PNG")
    made = make_renditions(ContentFile(png.getvalue()), [200], RENDITION_FORMATS)
    rendition = Image.open(io.BytesIO(made.images[0].content.read())).convert("L")
    assert abs(rendition.getpixel((100, 100)) - 117) <= 2
    assert made.color in ("#737373", "#747474", "#757575", "#767676")
