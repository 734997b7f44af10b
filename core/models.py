from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from media_store.models import StoredFile


class Product(models.Model):
    #: What staff edit (API and admin); the image is handled beside them.
    EDITABLE_FIELDS = ("name", "slug", "description", "price", "archived")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    image = models.OneToOneField(
        StoredFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(
        default=False,
        help_text="Hidden from the shop and no longer orderable; kept for the orders it is on.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines.all()), Decimal("0.00"))


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="one_line_per_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"


class OrderImage(models.Model):
    """An image the customer uploaded with an order; always private."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="images")
    file = models.OneToOneField(StoredFile, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Image {self.position + 1} of {self.order}"


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` a user sent, claimed before the work runs (see core.idempotency).

    ``result_id`` is set in the same transaction that creates the result, so a record
    without it after ``claimed_at`` + the claim timeout belongs to a request that died
    and created nothing.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=40)
    fingerprint = models.CharField(max_length=64)
    result_id = models.BigIntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_record_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} by {self.user_id}"
