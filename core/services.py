"""Shop rules: creating products and orders together with their stored images.

Images come in as uploaded files or direct-upload ids and go through
:func:`media_store.uploads.intake.accept_images`, which validates them all and writes
them while its block records them in one transaction, committed only once every
object is stored, and removes them again if anything fails; replaced or deleted
images are removed from the store only after the transaction commits.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from media_store.uploads.intake import ImageSource, accept_images

from . import order_rules
from .errors import InvalidOrder, ProductInUse, SlugTaken
from .idempotency import NO_CLAIM, Claim, Outcome, fingerprint, run_once
from .models import Order, OrderImage, OrderLine, Product
from .order_rules import LineRequest

#: Upload purposes (registered in ``CoreConfig.ready``).
ORDER_IMAGES = "order"
PRODUCT_IMAGE = "product"


#: Slugs made from a name before giving up: the first few are the next free ones
#: (``mug``, ``mug-2``, ...), the rest get a random suffix, which a concurrent request
#: cannot have taken too.
SLUG_ATTEMPTS = 8
SEQUENTIAL_SLUG_ATTEMPTS = 3


def slug_in_use(slug: str, *, exclude_pk: int | None = None) -> bool:
    return Product.objects.filter(slug=slug).exclude(pk=exclude_pk).exists()


def unique_slug(name: str, *, exclude_pk: int | None = None, attempt: int = 0) -> str:
    """A free slug made from ``name``; ``attempt`` counts clashes with concurrent requests."""
    base = slugify(name)[:180] or "product"
    if attempt >= SEQUENTIAL_SLUG_ATTEMPTS:
        return f"{base}-{secrets.token_hex(3)}"
    taken = set(
        Product.objects.filter(slug__startswith=base, slug__regex=rf"^{re.escape(base)}(-[0-9]+)?$")
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )  # one query, however many products share the name
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def product_create(
    *,
    user: Any,
    name: str,
    price: Decimal,
    description: str = "",
    slug: str = "",
    archived: bool = False,
    image: ImageSource | None = None,
    upload: uuid.UUID | None = None,
    remove_image: bool = False,
    claim: Claim = NO_CLAIM,
) -> Product:
    """Create a product, with an image from a file or a direct ``upload`` id."""
    fields = {
        "name": name,
        "price": price,
        "description": description,
        "slug": slug,
        "archived": archived,
    }
    return _save_product(Product(), fields, user=user, image=image, upload=upload, claim=claim)


def product_create_once(*, user: Any, idempotency_key: str | None, **data: Any) -> Outcome[Product]:
    """:func:`product_create`, once per ``idempotency_key`` (when one is given)."""
    return run_once(
        user=user,
        key=idempotency_key,
        scope="product.create",
        fingerprint=lambda: fingerprint(**data),
        create=lambda claim: product_create(user=user, claim=claim, **data),
        load=lambda pk: Product.objects.filter(pk=pk).first(),
    )


def product_update(
    *,
    user: Any,
    product: Product,
    image: ImageSource | None = None,
    upload: uuid.UUID | None = None,
    remove_image: bool = False,
    **fields: Any,
) -> Product:
    """Save ``product`` (existing, or new as in the admin's add form) with ``fields``.

    A new image replaces the old one, ``remove_image`` drops it; the old image's
    objects are removed once the change has committed.
    """
    return _save_product(
        product, fields, user=user, image=image, upload=upload, remove_image=remove_image
    )


def _save_product(
    product: Product,
    fields: dict[str, Any],
    *,
    user: Any,
    image: ImageSource | None,
    upload: uuid.UUID | None,
    remove_image: bool = False,
    claim: Claim = NO_CLAIM,
) -> Product:
    for name, value in fields.items():
        setattr(product, name, value)
    if product.price == 0:
        product.price = abs(product.price)  # "-0" is zero, never shown as "-0.00"
    chosen_slug = bool(product.slug)
    if chosen_slug:
        check_slug_free(product.slug, exclude_pk=product.pk)
    files = [image] if image is not None else []
    uploads = [upload] if upload is not None else []
    try:
        with accept_images(
            owner=user, purpose=PRODUCT_IMAGE, files=files, upload_ids=uploads
        ) as new:
            old_image = product.image
            if new:
                product.image = new[0].save()
            elif remove_image:
                product.image = None
            if chosen_slug:
                product.save()
            else:
                _save_with_generated_slug(product)
            if old_image is not None and old_image != product.image:
                old_image.delete()  # its objects go once this commits
            claim.record(product)
    except IntegrityError:
        if chosen_slug:  # another request took it between the check and the insert
            check_slug_free(product.slug, exclude_pk=product.pk)
        raise
    return product


def _save_with_generated_slug(product: Product) -> None:
    """Save with a slug made from the name; when a concurrent request takes it first
    (the insert hits the unique constraint), try again with another one."""
    for attempt in range(SLUG_ATTEMPTS):
        product.slug = unique_slug(product.name, exclude_pk=product.pk, attempt=attempt)
        try:
            with transaction.atomic():  # a savepoint: a clash undoes this save only
                product.save()
            return
        except IntegrityError:
            if attempt == SLUG_ATTEMPTS - 1 or not slug_in_use(product.slug, exclude_pk=product.pk):
                raise


def check_slug_free(slug: str, *, exclude_pk: int | None = None) -> None:
    if slug_in_use(slug, exclude_pk=exclude_pk):
        raise SlugTaken(
            f"A product with the slug {slug!r} already exists. Choose another slug, "
            "or leave it out to have one made from the name.",
            field="slug",
        )


def product_delete(*, product: Product) -> None:
    """Delete a product that is on no order; one that is must be archived instead."""
    orders = OrderLine.objects.filter(product=product).values("order").distinct().count()
    if orders:
        on_orders = f"{product.name} is on {orders} order{'s' if orders != 1 else ''}"
        if product.archived:
            raise ProductInUse(
                f"{on_orders} and cannot be deleted. It is already archived: it is hidden "
                "from the shop and stays on its orders."
            )
        raise ProductInUse(
            f"{on_orders} and cannot be deleted. Archive it instead "
            '(PATCH {"archived": true}): it disappears from the shop and the orders keep it.'
        )
    product.delete()


def order_create_once(
    *,
    user: Any,
    idempotency_key: str | None,
    lines: Sequence[LineRequest],
    note: str = "",
    images: Sequence[IO[bytes]] = (),
    uploads: Sequence[uuid.UUID] = (),
) -> Outcome[Order]:
    """:func:`order_create`, once per ``idempotency_key`` (when one is given)."""
    return run_once(
        user=user,
        key=idempotency_key,
        scope="order.create",
        fingerprint=lambda: fingerprint(lines=lines, note=note, images=images, uploads=uploads),
        create=lambda claim: order_create(
            user=user, lines=lines, note=note, images=images, uploads=uploads, claim=claim
        ),
        load=lambda pk: Order.objects.filter(pk=pk, owner=user).first(),
    )


def order_create(
    *,
    user: Any,
    lines: Sequence[LineRequest],
    note: str = "",
    images: Sequence[IO[bytes]] = (),
    uploads: Sequence[uuid.UUID] = (),
    claim: Claim = NO_CLAIM,
) -> Order:
    """Create an order with its lines and private images, all or nothing."""
    order_rules.check_lines(lines)
    order_rules.check_image_count(len(images) + len(uploads))
    with accept_images(owner=user, purpose=ORDER_IMAGES, files=images, upload_ids=uploads) as new:
        hold_products_still_sold(lines)
        order = Order.objects.create(owner=user, note=note)
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
            OrderImage(order=order, file=image.save(), position=position)
            for position, image in enumerate(new)
        )
        claim.record(order)
    return order


def hold_products_still_sold(lines: Sequence[LineRequest]) -> None:
    """Lock the ordered products until this transaction ends, and check they are still sold.

    The order's images are written while its rows are, so its transaction lasts as long
    as the upload. Locked ``FOR SHARE``, its products cannot be archived or deleted
    until the order has committed or rolled back (those changes wait for it); one
    archived or deleted since the lines were checked is refused by name.
    """
    ids = sorted({line.product.pk for line in lines})
    still_sold = Product.objects.filter(pk__in=ids, archived=False).order_by("pk")
    query, params = still_sold.values_list("pk").query.sql_with_params()
    if connection.features.has_select_for_update:  # SQLite: one writer at a time anyway
        query += " FOR SHARE"  # a row being archived is waited for, then read again
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        sold = {pk for (pk,) in cursor.fetchall()}
    for line in lines:
        if line.product.pk not in sold:
            raise InvalidOrder(f"{line.product.name} is no longer sold.", field="lines")


def order_set_status(*, order: Order, status: str) -> Order:
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    return order
