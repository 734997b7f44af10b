"""The rules every order follows, whoever creates it: its lines and its images.

Lines: how many, quantities, one line per product, orderable products. Images: at
least one, at most :func:`image_limit`. Limits come from settings
(``ORDER_MAX_LINES``, ``ORDER_MAX_QUANTITY``, ``ORDER_MAX_IMAGES``). With the largest
price a product can have (``Product.price``: 10 digits, 2 decimals) the largest order
total is price x quantity x lines, which the API renders without a digit limit, so
every order that can be saved can also be read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from media_store.conf import upload_limits

from .errors import InvalidOrder
from .models import Product


@dataclass(frozen=True)
class LineRequest:
    product: Product
    quantity: int


def check_line_count(count: int) -> None:
    """Refuse an empty order or one over ``ORDER_MAX_LINES`` (before looking at any line)."""
    if count == 0:
        raise InvalidOrder("An order needs at least one line.", field="lines")
    if count > settings.ORDER_MAX_LINES:
        raise InvalidOrder(
            f"An order may have at most {settings.ORDER_MAX_LINES} lines; this one has {count}.",
            field="lines",
        )


def resolve_lines(requested: Sequence[tuple[int, int]]) -> list[LineRequest]:
    """(product id, quantity) pairs -> checked lines, with all products fetched in one query."""
    check_line_count(len(requested))
    ids = [product_id for product_id, _ in requested]
    if len(ids) != len(set(ids)):
        raise InvalidOrder("Each product may appear on one line only.", field="lines")
    products = Product.objects.in_bulk(ids)
    unknown = sorted({pid for pid, _ in requested if pid not in products})
    if unknown:
        raise InvalidOrder(f"Unknown product id(s): {', '.join(map(str, unknown))}.", field="lines")
    lines = [LineRequest(products[pid], quantity) for pid, quantity in requested]
    check_lines(lines)
    return lines


def check_lines(lines: Sequence[LineRequest]) -> None:
    """The rules every order's lines follow.

    (One line per product is also a database constraint, so it holds for every caller.)
    """
    check_line_count(len(lines))
    limit = settings.ORDER_MAX_QUANTITY
    for line in lines:
        if not 1 <= line.quantity <= limit:
            raise InvalidOrder(f"Quantities run from 1 to {limit} per line.", field="lines")
        if line.product.archived:
            raise InvalidOrder(f"{line.product.name} is no longer sold.", field="lines")


def image_limit() -> int:
    """Images one order may carry: ``ORDER_MAX_IMAGES``, within what one request may store."""
    return min(upload_limits().max_files, settings.ORDER_MAX_IMAGES)


def check_image_count(count: int) -> None:
    """At least one image (what the order is about), at most :func:`image_limit`."""
    if count == 0:
        raise InvalidOrder("An order needs at least one image.", field="images")
    limit = image_limit()
    if count > limit:
        raise InvalidOrder(f"At most {limit} images per order.", field="images")
