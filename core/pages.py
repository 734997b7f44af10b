"""Server-rendered storefront pages (templates + vanilla JS, no build step)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from media_store.conf import upload_limits

from .models import Order, OrderImage, Product


def storefront(request: HttpRequest) -> HttpResponse:
    products = Product.objects.select_related("image").prefetch_related("image__renditions")
    orders = Order.objects.none()
    if request.user.is_authenticated:
        orders = Order.objects.filter(owner=request.user).prefetch_related(
            Prefetch("images", queryset=OrderImage.objects.select_related("file"))
        )[:10]
    limits = upload_limits()
    return render(
        request,
        "core/storefront.html",
        {
            "products": products[:60],
            "orders": orders,
            "max_bytes": limits.max_bytes,
            "max_files": min(limits.max_files, settings.ORDER_MAX_IMAGES),
        },
    )
