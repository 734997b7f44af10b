"""A catalogue of products whose image rows exist without objects (for listing only)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def make_catalog(count: int, *, rendition_widths: Sequence[int] = ()) -> None:
    from core.models import Product
    from media_store.models import Rendition, StoredFile

    for n in range(count):
        image = StoredFile.objects.create(
            visibility="public",
            key=f"products/{n:032x}.jpg",
            content_type="image/jpeg",
            size=1,
            width=2000,
            height=1500,
            sha256="0" * 64,
        )
        Rendition.objects.bulk_create(
            Rendition(
                file=image, width=w, height=w * 3 // 4, key=f"products/{n:032x}_w{w}.webp", size=1
            )
            for w in rendition_widths
        )
        Product.objects.create(name=f"P{n}", slug=f"p{n}", price=Decimal("1.00"), image=image)


def post_product_with_image(staff, size: tuple[int, int] = (900, 600)):
    """A product with a JPEG image, created through the API by ``staff`` (201 asserted)."""
    from tests.support.clients import client_for
    from tests.support.images import image_bytes, upload

    response = client_for(staff).post(
        "/api/core/products/",
        {"name": "Mug", "price": "3.00", "image": upload("mug.jpg", image_bytes("JPEG", size))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response
