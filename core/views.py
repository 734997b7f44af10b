"""The shop's API: each action validates its input and calls one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from config.parsers import BoundedFormParser, BoundedJSONParser
from config.throttles import UploadThrottle
from media_store.web.parsers import LimitedMultiPartParser

from . import selectors, services
from .idempotency import Outcome, completed
from .models import Order, Product
from .permissions import StaffWriteOrReadOnly
from .serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    ProductSerializer,
    ProductWriteSerializer,
)

UPLOAD_PARSERS = [LimitedMultiPartParser, BoundedFormParser, BoundedJSONParser]
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID) per intended request: sending the same "
    "request again with it (within IDEMPOTENCY_WINDOW_HOURS) returns the first response "
    "and creates nothing; the same key with another request is a 422.",
)


class UploadThrottleMixin:
    """Throttle only the requests that may upload (:class:`UploadThrottle`).

    A creation whose ``Idempotency-Key`` names a result this user already has is a
    replay: it creates nothing, so it is not counted, and a client that lost the
    answer gets it even when over its quota.
    """

    upload_actions: tuple[str, ...] = ("create", "update", "partial_update")

    def get_throttles(self) -> list[Any]:
        action = getattr(self, "action", None)
        if action not in self.upload_actions:
            return []
        user, key = self.request.user, self.request.headers.get("Idempotency-Key")
        if action == "create" and key and user.is_authenticated and completed(user, key):
            return []
        return [UploadThrottle()]


def created(outcome: Outcome[Any], body: Any) -> Response:
    """201 for a new object; a replayed one says so (``Idempotent-Replayed: true``)."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class ProductViewSet(UploadThrottleMixin, viewsets.ModelViewSet):
    """Products: anyone reads, staff write (multipart with an optional ``image`` file)."""

    permission_classes = [StaffWriteOrReadOnly]
    parser_classes = UPLOAD_PARSERS
    serializer_class = ProductSerializer

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list(include_archived=self.request.user.is_staff)

    def get_serializer_class(self) -> type:
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        return ProductSerializer

    def _body(self, product: Product) -> Any:
        return ProductSerializer(product, context=self.get_serializer_context()).data

    @extend_schema(
        request=ProductWriteSerializer,
        responses={201: ProductSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.product_create_once(
            user=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            **data.validated_data,
        )
        return created(outcome, self._body(outcome.result))

    @extend_schema(request=ProductWriteSerializer, responses={200: ProductSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        data = ProductWriteSerializer(
            instance=product, data=request.data, partial=kwargs.get("partial", False)
        )
        data.is_valid(raise_exception=True)
        product = services.product_update(user=request.user, product=product, **data.validated_data)
        return Response(self._body(product))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


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
    upload_actions = ("create",)  # a status change uploads nothing

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def get_permissions(self) -> list[Any]:
        if self.action in ("partial_update", "destroy"):
            return [permissions.IsAdminUser()]
        return super().get_permissions()

    def _body(self, order: Order) -> Any:
        order = self.get_queryset().get(pk=order.pk)
        return OrderSerializer(order, context=self.get_serializer_context()).data

    @extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.order_create_once(
            user=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            **data.validated_data,
        )
        return created(outcome, self._body(outcome.result))

    @extend_schema(request=OrderStatusSerializer, responses={200: OrderSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        data = OrderStatusSerializer(order, data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_set_status(order=order, **data.validated_data)
        return Response(self._body(order))
