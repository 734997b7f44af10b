"""The API's exception handler: shop and media errors, request limits and database failures.

Database errors are told apart: only a failure of the database itself (connection,
operational or internal error) is a 503 ("try again"); a constraint violation is a
409 and a value out of range a 400, so a client is never told to retry something that
can never succeed. Programming errors stay 500s.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, IntegrityError, InterfaceError, InternalError, OperationalError
from django.http.multipartparser import MultiPartParserError
from rest_framework.response import Response

from core.errors import ShopError
from media_store.web.exceptions import exception_handler as media_exception_handler

logger = logging.getLogger(__name__)

#: Django's own request limits (raised while the body is parsed), as status and message.
REQUEST_LIMITS: list[tuple[type[Exception], int, str, str]] = [
    (RequestDataTooBig, 413, "request_too_large", "The request body is too large."),
    (TooManyFilesSent, 400, "too_many_files", "The request has too many files."),
    (TooManyFieldsSent, 400, "too_many_fields", "The request has too many form fields."),
    (MultiPartParserError, 400, "malformed_multipart", "The multipart body could not be read."),
    (SuspiciousOperation, 400, "bad_request", "The request could not be processed."),
]


def _error(status: int, code: str, detail: str, **extra: Any) -> Response:
    headers = {"Retry-After": "30"} if status == 503 else None
    return Response({"detail": detail, "code": code, **extra}, status=status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ShopError):
        extra = {"field": exc.field} if exc.field else {}
        return _error(exc.status_code, exc.code, exc.message, **extra)
    for kind, status, code, detail in REQUEST_LIMITS:
        if isinstance(exc, kind):
            return _error(status, code, f"{detail} ({exc})" if str(exc) else detail)
    if isinstance(exc, RecursionError):  # a parsed body nested too deeply to validate
        return _error(400, "too_deep", "The request is nested too deeply to process.")
    if isinstance(exc, IntegrityError):
        logger.warning("integrity error during %s: %s", context.get("view"), exc)
        return _error(
            409, "conflict", "This change conflicts with data already saved, so nothing was saved."
        )
    if isinstance(exc, DataError):
        logger.warning("data error during %s: %s", context.get("view"), exc)
        return _error(400, "out_of_range", "A value is out of the range the shop can store.")
    if isinstance(exc, OperationalError | InterfaceError | InternalError):
        logger.exception("database unavailable during %s", context.get("view"))
        return _error(
            503,
            "database_unavailable",
            "The database is unavailable right now, so nothing was saved. Try again in a minute.",
        )
    return media_exception_handler(exc, context)
