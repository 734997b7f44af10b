"""Server-rendered storefront pages (templates + vanilla JS, no build step)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from media_store.imaging.formats import (
    ACCEPTED_DESCRIPTION,
    accept_attribute,
    content_types_by_extension,
)
from media_store.models import StoredFile, storage_for
from media_store.storage.s3 import is_s3
from media_store.uploads.purposes import get_purpose

from . import order_rules, selectors, services
from .models import Order


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on every page: the shop's icon."""
    return redirect(static("core/favicon.svg"), permanent=True)


#: Products per catalog page (the order form offers the ones on the page shown).
CATALOG_PAGE_SIZE = 60


def catalog_page(raw: str | None) -> str | None:
    """``?page=`` for ``Paginator.get_page``, which shows the first page for a missing
    or non-numeric one and the last for one out of range: below 1 means the first."""
    try:
        return "1" if raw is not None and int(raw) < 1 else raw
    except ValueError:
        return raw


def storefront(request: HttpRequest) -> HttpResponse:
    products = Paginator(selectors.product_list(), CATALOG_PAGE_SIZE).get_page(
        catalog_page(request.GET.get("page"))
    )
    orders = Order.objects.none()
    if request.user.is_authenticated:
        orders = selectors.order_list(user=request.user, own_only=True)[:10]
    limits = get_purpose(services.ORDER_IMAGES).limits()
    return render(
        request,
        "core/storefront.html",
        {
            "products": products,
            "orders": orders,
            "max_bytes": limits.max_bytes,
            "max_files": order_rules.image_limit(),
            "max_dimension": limits.max_dimension,
            "currency": settings.SHOP_CURRENCY,
            # Straight to the bucket with S3; through the API on local disk.
            "direct_uploads": is_s3(storage_for(StoredFile.Visibility.PRIVATE)),
            "accepted": ACCEPTED_DESCRIPTION,
            "accept": accept_attribute(),
            "types_by_extension": json.dumps(content_types_by_extension()),
        },
    )
