from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media_store.conf import upload_limits
from media_store.web.fields import StoredImageField

from .models import Order, OrderImage, OrderLine, Product
from .services import LineRequest


class ProductSerializer(serializers.ModelSerializer):
    image = StoredImageField(allow_null=True)

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "price", "image", "created_at", "updated_at"]


class ProductWriteSerializer(serializers.ModelSerializer):
    """Multipart (or JSON without a file) input for creating/updating a product."""

    slug = serializers.SlugField(max_length=200, required=False)
    image = serializers.FileField(required=False, allow_empty_file=True, write_only=True)
    upload = serializers.UUIDField(
        required=False, write_only=True, help_text="id of a finalized-to-be direct upload"
    )
    remove_image = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta:
        model = Product
        fields = ["name", "slug", "description", "price", "image", "upload", "remove_image"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("image") is not None and attrs.get("upload") is not None:
            raise serializers.ValidationError(
                "Send either an image file or an upload id, not both."
            )
        return attrs

    def validate_slug(self, value: str) -> str:
        clash = Product.objects.filter(slug=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("A product with this slug already exists.")
        return value


class OrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = OrderLine
        fields = ["product", "product_name", "quantity", "unit_price"]


class OrderImageSerializer(serializers.ModelSerializer):
    image = StoredImageField(source="file")

    class Meta:
        model = OrderImage
        fields = ["id", "position", "image"]


class OrderSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    images = OrderImageSerializer(many=True, read_only=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "owner",
            "status",
            "note",
            "lines",
            "total",
            "images",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["status"]


class LineInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=1000)


@extend_schema_field(LineInputSerializer(many=True))
class JSONLinesField(serializers.Field):
    """Order lines as a list, or as a JSON string (how multipart forms can send a list)."""

    def to_internal_value(self, data: Any) -> list[LineRequest]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise serializers.ValidationError(
                    'Send lines as JSON, e.g. [{"product": 1, "quantity": 2}].'
                ) from exc
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError("An order needs at least one line.")
        lines = LineInputSerializer(data=data, many=True)
        lines.is_valid(raise_exception=True)
        products = [line["product"].pk for line in lines.validated_data]
        if len(products) != len(set(products)):
            raise serializers.ValidationError("Each product may appear on one line only.")
        return [LineRequest(**line) for line in lines.validated_data]

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - write only
        return value


class OrderCreateSerializer(serializers.Serializer):
    """Multipart with ``lines`` (JSON), ``note`` and ``images`` (files), or JSON with
    ``uploads`` (ids of direct uploads) instead of files; at least one image either way."""

    lines = JSONLinesField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )
    uploads = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(set(attrs["uploads"])) != len(attrs["uploads"]):
            raise serializers.ValidationError({"uploads": ["Each upload may be used once."]})
        count = len(attrs["images"]) + len(attrs["uploads"])
        if count == 0:
            raise serializers.ValidationError({"images": ["An order needs at least one image."]})
        limit = min(upload_limits().max_files, settings.ORDER_MAX_IMAGES)
        if count > limit:
            raise serializers.ValidationError({"images": [f"At most {limit} images per order."]})
        return attrs
