"""Errors of the shop's rules, each with the HTTP status and code the API answers with.

Raised by services; ``config.exceptions`` turns them into ``{"detail", "code"}`` JSON.
"""

from __future__ import annotations


class ShopError(Exception):
    status_code = 400
    code = "invalid"
    #: Seconds to send as ``Retry-After``, for errors a retry will resolve.
    retry_after: int | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
