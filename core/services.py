"""Shop rules: creating products and orders together with their stored images.

Every function validates all images before writing anything, writes objects
before the database transaction and removes them again if it fails
(``media_store.services.staged_uploads``); replaced or deleted images are
removed from the store only after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from media_store.models import StoredFile
from media_store.services import prepare_images, staged_uploads

from .models import Order, OrderImage, OrderLine, Product

PRODUCT_IMAGE_PREFIX = "products"
ORDER_IMAGE_PREFIX = "orders"


def _name_of(upload: IO[bytes]) -> str:
    return getattr(upload, "name", "") or ""


def unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:180] or "product"
    slug, n = base, 1
    while Product.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def save_product(
    product: Product, fields: dict[str, Any], *, image: IO[bytes] | None = None
) -> Product:
    """Create or update ``product`` with ``fields``; an ``image`` replaces the old one."""
    prepared = prepare_images([image]) if image is not None else []
    with staged_uploads() as stage:
        new_image = None
        if prepared:
            new_image = stage.put(
                prepared[0],
                visibility=StoredFile.Visibility.PUBLIC,
                prefix=PRODUCT_IMAGE_PREFIX,
                original_name=_name_of(image),
            )
        with transaction.atomic():
            for name, value in fields.items():
                setattr(product, name, value)
            if not product.slug:
                product.slug = unique_slug(product.name, exclude_pk=product.pk)
            old_image = product.image if new_image is not None else None
            if new_image is not None:
                new_image.save()
                product.image = new_image
            product.save()
            if old_image is not None:
                old_image.delete()  # its object goes once this commits
    return product


def remove_product_image(product: Product) -> Product:
    with transaction.atomic():
        if product.image is not None:
            old, product.image = product.image, None
            product.save(update_fields=["image", "updated_at"])
            old.delete()
    return product


@dataclass(frozen=True)
class LineRequest:
    product: Product
    quantity: int


def place_order(
    owner: AbstractBaseUser,
    *,
    lines: Sequence[LineRequest],
    images: Sequence[IO[bytes]],
    note: str = "",
) -> Order:
    """Create an order with its lines and private images, all or nothing."""
    prepared = prepare_images(list(images))
    with staged_uploads() as stage:
        stored = [
            stage.put(
                item,
                visibility=StoredFile.Visibility.PRIVATE,
                prefix=ORDER_IMAGE_PREFIX,
                original_name=_name_of(upload),
            )
            for item, upload in zip(prepared, images, strict=True)
        ]
        with transaction.atomic():
            order = Order.objects.create(owner=owner, note=note)
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    product=line.product,
                    quantity=line.quantity,
                    unit_price=line.product.price,
                )
                for line in lines
            )
            for position, file in enumerate(stored):
                file.save()
                OrderImage.objects.create(order=order, file=file, position=position)
    return order


def set_order_status(order: Order, status: str) -> Order:
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    return order
