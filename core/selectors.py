"""Read-side queries for the shop, with the prefetches their pages and responses need.

Used by the API, the storefront page and the admin alike, so a list never costs one
query per row and every reader sees the same rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Order, OrderImage, OrderLine, Product


def product_list(*, include_archived: bool = False) -> QuerySet[Product]:
    """Products on sale; ``include_archived`` adds archived ones (staff, admin)."""
    products = Product.objects.select_related("image").prefetch_related("image__renditions")
    return products if include_archived else products.filter(archived=False)


def order_list(*, user: Any, own_only: bool = False) -> QuerySet[Order]:
    """Orders ``user`` may see: staff see everyone's unless ``own_only``."""
    orders = Order.objects.select_related("owner").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
        Prefetch(
            "images",
            queryset=OrderImage.objects.select_related("file").prefetch_related("file__renditions"),
        ),
    )
    if user.is_staff and not own_only:
        return orders
    return orders.filter(owner=user)
