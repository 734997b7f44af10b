"""The shop's API: each action validates its input and calls one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from media_store.web.parsers import LimitedMultiPartParser

from . import selectors, services
from .models import Order, Product
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

    permission_classes = [StaffWriteOrReadOnly]
    parser_classes = UPLOAD_PARSERS
    serializer_class = ProductSerializer

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list()

    def get_serializer_class(self) -> type:
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        return ProductSerializer

    def _respond(self, product: Product, status_code: int) -> Response:
        body = ProductSerializer(product, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(user=request.user, **data.validated_data)
        return self._respond(product, status.HTTP_201_CREATED)

    @extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        data = ProductWriteSerializer(
            instance=product, data=request.data, partial=kwargs.get("partial", False)
        )
        data.is_valid(raise_exception=True)
        product = services.product_update(user=request.user, product=product, **data.validated_data)
        return self._respond(product, status.HTTP_200_OK)


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
        return selectors.order_list(user=self.request.user)

    def get_permissions(self) -> list[Any]:
        if self.action in ("partial_update", "destroy"):
            return [permissions.IsAdminUser()]
        return super().get_permissions()

    def _respond(self, order: Order, status_code: int) -> Response:
        order = self.get_queryset().get(pk=order.pk)
        body = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_create(user=request.user, **data.validated_data)
        return self._respond(order, status.HTTP_201_CREATED)

    @extend_schema(request=OrderStatusSerializer, responses={200: OrderSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        data = OrderStatusSerializer(order, data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_set_status(order=order, **data.validated_data)
        return self._respond(order, status.HTTP_200_OK)
