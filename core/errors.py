"""Errors of the shop's rules, each with the HTTP status and code the API answers with.

Raised by services; they share :class:`media_store.errors.ServiceError`'s shape, and
``config.exceptions`` turns every such error into ``{"detail", "code"}`` JSON.
"""

from __future__ import annotations

from media_store.errors import ServiceError


class ShopError(ServiceError):
    code = "invalid"


class InvalidOrder(ShopError):
    """An order that breaks the shop's rules (its lines or its images)."""

    code = "invalid_order"


class InvalidCredentials(ShopError):
    code = "invalid_credentials"


class SlugTaken(ShopError):
    status_code = 409
    code = "slug_taken"


class ProductInUse(ShopError):
    status_code = 409
    code = "product_in_use"


class IdempotencyKeyInvalid(ShopError):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(ShopError):
    """The key was used for a different request: replaying would answer the wrong thing."""

    status_code = 422
    code = "idempotency_key_reused"


class RequestInProgress(ShopError):
    """A request with the same key is still running; retry once it has finished."""

    status_code = 409
    code = "idempotency_in_progress"
    retry_after = 2


class ResultGone(ShopError):
    """The key's request succeeded, but what it created has since been deleted."""

    status_code = 409
    code = "idempotency_result_gone"
