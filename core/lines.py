"""Order line rules: how many lines, quantities, one line per product, orderable products.

Limits come from settings (``ORDER_MAX_LINES``, ``ORDER_MAX_QUANTITY``). With the
largest price a product can have (``Product.price``: 10 digits, 2 decimals) the
largest order total is price x quantity x lines, which the API renders without a
digit limit, so every order that can be saved can also be read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from .models import Product


@dataclass(frozen=True)
class LineRequest:
    product: Product
    quantity: int


def check_count(count: int) -> None:
    """Refuse an empty order or one over ``ORDER_MAX_LINES`` (before looking at any line)."""
    if count == 0:
        raise ValidationError("An order needs at least one line.")
    if count > settings.ORDER_MAX_LINES:
        raise ValidationError(
            f"An order may have at most {settings.ORDER_MAX_LINES} lines; this one has {count}."
        )


def resolve(requested: Sequence[tuple[int, int]]) -> list[LineRequest]:
    """(product id, quantity) pairs -> checked lines, with all products fetched in one query."""
    check_count(len(requested))
    ids = [product_id for product_id, _ in requested]
    if len(ids) != len(set(ids)):
        raise ValidationError("Each product may appear on one line only.")
    products = Product.objects.in_bulk(ids)
    unknown = sorted({pid for pid, _ in requested if pid not in products})
    if unknown:
        raise ValidationError(f"Unknown product id(s): {', '.join(map(str, unknown))}.")
    lines = [LineRequest(products[pid], quantity) for pid, quantity in requested]
    check(lines)
    return lines


def check(lines: Sequence[LineRequest]) -> None:
    """The rules every order's lines follow, whoever creates the order.

    (One line per product is also a database constraint, so it holds for every caller.)
    """
    check_count(len(lines))
    limit = settings.ORDER_MAX_QUANTITY
    for line in lines:
        if not 1 <= line.quantity <= limit:
            raise ValidationError(f"Quantities run from 1 to {limit} per line.")
        if line.product.archived:
            raise ValidationError(f"{line.product.name} is no longer sold.")
