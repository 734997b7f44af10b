"""Shop rules: creating products and orders together with their stored images.

Every function validates all images before writing anything, writes objects
before the database transaction and removes them again if it fails
(``media_store.services.staged_uploads``); replaced or deleted images are
removed from the store only after the transaction commits. Images arrive
either as uploaded files or as finalized direct uploads (``PendingUpload``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from media_store.direct import forget_pending, open_pending, release_pending
from media_store.errors import MediaError, StorageUnavailable
from media_store.models import PendingUpload, StoredFile
from media_store.services import prepare_images, staged_uploads

from .models import Order, OrderImage, OrderLine, Product

PRODUCT_IMAGE_PREFIX = "products"
ORDER_IMAGE_PREFIX = "orders"
ORDER_UPLOAD = "order"
PRODUCT_UPLOAD = "product"


def _name_of(upload: IO[bytes]) -> str:
    return getattr(upload, "name", "") or ""


@contextmanager
def _finalizing(pending: Sequence[PendingUpload]) -> Iterator[list[IO[bytes]]]:
    """Open claimed direct uploads as files; drop their staging objects once dealt with.

    Bad content is dropped for good; on any other failure (store or database
    down) the uploads are released, so the same ids can be retried.
    """
    try:
        files = [open_pending(item) for item in pending]
    except BaseException:
        release_pending(pending)
        raise
    try:
        yield files
    except BaseException as exc:
        bad_content = isinstance(exc, MediaError) and not isinstance(exc, StorageUnavailable)
        (forget_pending if bad_content else release_pending)(pending)
        raise
    else:
        transaction.on_commit(lambda: forget_pending(pending))
    finally:
        for file in files:
            file.close()


def unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:180] or "product"
    slug, n = base, 1
    while Product.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def save_product(
    product: Product,
    fields: dict[str, Any],
    *,
    image: IO[bytes] | None = None,
    upload: PendingUpload | None = None,
    remove_image: bool = False,
) -> Product:
    """Create or update ``product``; an ``image`` (or direct ``upload``) replaces the old one,
    ``remove_image`` (without a new one) drops it. Old images' objects go after commit."""
    with _finalizing([upload] if upload else []) as finalized:
        sources = [image] if image is not None else finalized
        prepared = prepare_images(sources, reencode=settings.MEDIA_REENCODE_PUBLIC)
        with staged_uploads() as stage:
            new_image = None
            if prepared:
                new_image = stage.put(
                    prepared[0],
                    visibility=StoredFile.Visibility.PUBLIC,
                    prefix=PRODUCT_IMAGE_PREFIX,
                    original_name=_name_of(sources[0]),
                    rendition_widths=settings.MEDIA_RENDITION_WIDTHS,
                )
            with transaction.atomic():
                for name, value in fields.items():
                    setattr(product, name, value)
                if not product.slug:
                    product.slug = unique_slug(product.name, exclude_pk=product.pk)
                old_image = product.image
                if new_image is not None:
                    product.image = new_image.save()
                elif remove_image:
                    product.image = None
                product.save()
                if old_image is not None and old_image != product.image:
                    old_image.delete()  # its objects go once this commits
    return product


@dataclass(frozen=True)
class LineRequest:
    product: Product
    quantity: int


def place_order(
    owner: AbstractBaseUser,
    *,
    lines: Sequence[LineRequest],
    images: Sequence[IO[bytes]] = (),
    uploads: Sequence[PendingUpload] = (),
    note: str = "",
) -> Order:
    """Create an order with its lines and private images, all or nothing."""
    with _finalizing(uploads) as finalized:
        sources = [*images, *finalized]
        prepared = prepare_images(sources)
        with staged_uploads() as stage:
            staged = [
                stage.put(
                    item,
                    visibility=StoredFile.Visibility.PRIVATE,
                    prefix=ORDER_IMAGE_PREFIX,
                    original_name=_name_of(source),
                )
                for item, source in zip(prepared, sources, strict=True)
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
                OrderImage.objects.bulk_create(
                    OrderImage(order=order, file=item.save(), position=position)
                    for position, item in enumerate(staged)
                )
    return order


def set_order_status(order: Order, status: str) -> Order:
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    return order
