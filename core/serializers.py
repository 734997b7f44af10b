from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media_store.web.fields import StoredImageField

from . import order_rules
from .models import Order, OrderImage, OrderLine, Product
from .order_rules import LineRequest

#: The largest id a row can have (a 64-bit primary key): no integer the API accepts
#: is larger, so none can overflow the database.
MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.STR)
class CurrencyField(serializers.Field):
    """The shop's currency (``SHOP_CURRENCY``), beside every price."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value: Any) -> str:
        return settings.SHOP_CURRENCY


class ProductSerializer(serializers.ModelSerializer):
    image = StoredImageField(allow_null=True)
    currency = CurrencyField()

    class Meta:
        model = Product
        fields = [
            "id", *Product.EDITABLE_FIELDS, "currency", "image", "created_at", "updated_at",
        ]  # fmt: skip


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
        fields = [*Product.EDITABLE_FIELDS, "image", "upload", "remove_image"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("image") is not None and attrs.get("upload") is not None:
            raise serializers.ValidationError(
                "Send either an image file or an upload id, not both."
            )
        return attrs


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
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    images = OrderImageSerializer(many=True, read_only=True)
    # No digit limit: any total of saved lines can be rendered (see core.lines).
    total = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)
    currency = CurrencyField()

    class Meta:
        model = Order
        fields = [
            "id",
            "owner",
            "status",
            "status_display",
            "note",
            "lines",
            "total",
            "currency",
            "images",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["status"]
        extra_kwargs = {"status": {"required": True}}  # the model's default is for new orders


class LineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    # The rules (core.order_rules) say the real limit; this keeps any integer finite.
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_ID)


LINES_EXAMPLE = 'Send lines as a JSON list, e.g. [{"product": 1, "quantity": 2}].'


@extend_schema_field(LineInputSerializer(many=True))
class JSONLinesField(serializers.Field):
    """Order lines as a list, or as a JSON string (how multipart forms can send a list).

    Only the shape is checked here; :mod:`core.order_rules` holds the rules. The line
    count is checked before any line is, so a huge list costs nothing.
    """

    def to_internal_value(self, data: Any) -> list[LineRequest]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise serializers.ValidationError(LINES_EXAMPLE) from exc
        if not isinstance(data, list):
            raise serializers.ValidationError(LINES_EXAMPLE)
        order_rules.check_line_count(len(data))
        if not all(isinstance(line, dict) and _flat(line) for line in data):
            raise serializers.ValidationError(LINES_EXAMPLE)
        lines = LineInputSerializer(data=data, many=True)
        lines.is_valid(raise_exception=True)
        return order_rules.resolve_lines(
            [(line["product"], line["quantity"]) for line in lines.validated_data]
        )

    def to_representation(self, value: Any) -> Any:  # pragma: no cover - write only
        return value


def _flat(line: dict[str, Any]) -> bool:
    return not any(isinstance(value, dict | list) for value in line.values())


class OrderCreateSerializer(serializers.Serializer):
    """Multipart with ``lines`` (JSON), ``note`` and ``images`` (files), or JSON with
    ``uploads`` (ids of direct uploads) instead of files (how many: :mod:`core.order_rules`)."""

    lines = JSONLinesField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )
    uploads = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(set(attrs["uploads"])) != len(attrs["uploads"]):
            raise serializers.ValidationError({"uploads": ["Each upload may be used once."]})
        return attrs
