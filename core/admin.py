from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from media_store.admin import image_preview
from media_store.imaging.formats import ACCEPTED_DESCRIPTION
from media_store.web.forms import ImageUploadField

from . import selectors, services
from .accounts import revoke_tokens
from .models import Order, OrderImage, OrderLine, Product


class ProductAdminForm(forms.ModelForm):
    upload = ImageUploadField(
        purpose=services.PRODUCT_IMAGE,
        required=False,
        label="New image",
        help_text=f"{ACCEPTED_DESCRIPTION}; replaces the current image.",
    )

    class Meta:
        model = Product
        fields = list(Product.EDITABLE_FIELDS)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["thumbnail", "name", "slug", "price", "archived", "updated_at"]
    list_filter = ["archived"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["thumbnail"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return selectors.product_list(include_archived=True)

    @admin.display(description="Current image")
    def thumbnail(self, obj: Product) -> str:
        return image_preview(obj.image, height=60)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        # Through the service; the form field already validated the image (once).
        fields = {name: form.cleaned_data[name] for name in Product.EDITABLE_FIELDS}
        image = form.cleaned_data.get("upload")
        services.product_update(user=request.user, product=obj, image=image, **fields)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["product", "quantity", "unit_price"]
    can_delete = False


class OrderImageInline(admin.TabularInline):
    model = OrderImage
    extra = 0
    fields = ["preview", "position"]
    readonly_fields = ["preview", "position"]
    can_delete = False

    @admin.display(description="Image")
    def preview(self, obj: OrderImage) -> str:
        return image_preview(obj.file, height=120)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["owner__username", "note"]
    readonly_fields = ["owner", "note", "created_at", "updated_at"]
    fields = ["owner", "status", "note", "created_at", "updated_at"]
    inlines = [OrderLineInline, OrderImageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return selectors.order_list(user=request.user)


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class ShopUserAdmin(UserAdmin):
    actions = ["revoke_api_tokens"]

    @admin.action(description="Revoke all API tokens of the selected users")
    def revoke_api_tokens(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        revoked = sum(revoke_tokens(user) for user in queryset)
        self.message_user(request, f"{revoked} API token(s) revoked.", messages.SUCCESS)
