from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from media_store.direct import claim_pending
from media_store.upload_limits import LimitedMultiPartParser

from . import services
from .models import Order, OrderImage, OrderLine, Product
from .permissions import StaffWriteOrReadOnly
from .serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    ProductSerializer,
    ProductWriteSerializer,
)

UPLOAD_PARSERS = [LimitedMultiPartParser, FormParser, JSONParser]


class UploadThrottleMixin:
    """Throttle only the requests that upload (scope ``uploads``)."""

    throttle_scope = "uploads"
    upload_actions = ("create", "update", "partial_update")

    def get_throttles(self) -> list[Any]:
        if getattr(self, "action", None) in self.upload_actions:
            return [ScopedRateThrottle()]
        return []


class ProductViewSet(UploadThrottleMixin, viewsets.ModelViewSet):
    """Products: anyone reads, staff write (multipart with an optional ``image`` file)."""

    queryset = Product.objects.select_related("image").prefetch_related("image__renditions")
    permission_classes = [StaffWriteOrReadOnly]
    parser_classes = UPLOAD_PARSERS
    serializer_class = ProductSerializer

    def get_serializer_class(self) -> type:
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        return ProductSerializer

    def _save(self, request: Request, product: Product, *, partial: bool) -> Response:
        write = ProductWriteSerializer(
            instance=product if product.pk else None, data=request.data, partial=partial
        )
        write.is_valid(raise_exception=True)
        fields = dict(write.validated_data)
        image = fields.pop("image", None)
        upload_id = fields.pop("upload", None)
        remove_image = fields.pop("remove_image", False)
        upload = None
        if upload_id is not None:
            [upload] = claim_pending(request.user, [upload_id], purpose=services.PRODUCT_UPLOAD)
        product = services.save_product(
            product, fields, image=image, upload=upload, remove_image=remove_image
        )
        created = write.instance is None
        body = ProductSerializer(product, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, Product(), partial=False)

    @extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=kwargs.get("partial", False))


class OrderViewSet(
    UploadThrottleMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Orders: customers create and see their own; staff see all and change status."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = UPLOAD_PARSERS
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        queryset = Order.objects.select_related("owner").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
            Prefetch(
                "images",
                queryset=OrderImage.objects.select_related("file").prefetch_related(
                    "file__renditions"
                ),
            ),
        )
        if self.request.user.is_staff:
            return queryset
        return queryset.filter(owner=self.request.user)

    def get_permissions(self) -> list[Any]:
        if self.action in ("partial_update", "destroy"):
            return [permissions.IsAdminUser()]
        return super().get_permissions()

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        uploads = claim_pending(
            request.user, data.validated_data["uploads"], purpose=services.ORDER_UPLOAD
        )
        order = services.place_order(
            request.user,
            lines=data.line_requests(),
            images=data.validated_data["images"],
            uploads=uploads,
            note=data.validated_data["note"],
        )
        order = self.get_queryset().get(pk=order.pk)
        body = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderStatusSerializer, responses={200: OrderSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        data = OrderStatusSerializer(order, data=request.data)
        data.is_valid(raise_exception=True)
        services.set_order_status(order, data.validated_data["status"])
        order = self.get_queryset().get(pk=order.pk)
        return Response(OrderSerializer(order, context=self.get_serializer_context()).data)
