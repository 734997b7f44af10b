"""The API's one exception handler: every app's rule errors, request limits and outages.

Rule errors (the shop's and media_store's) all derive from
:class:`media_store.errors.ServiceError` and are answered from what they carry.

Database errors are told apart: only a failure of the database itself (connection,
operational or internal error) is a 503 ("try again"); a constraint violation is a
409 and a value out of range a 400, so a client is never told to retry something that
can never succeed. An unreachable cache (Redis) is a 503 too. Programming errors stay
500s (JSON on API paths, see :mod:`config.error_views`).

Every error is ``{"detail", "code"}``; DRF's own errors (401, 403, 404, 405, 429, ...)
get the code DRF gives them, and validation errors keep DRF's per-field format.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, IntegrityError, InterfaceError, InternalError, OperationalError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from media_store.errors import OUTAGE_RETRY_AFTER, ServiceError
from media_store.storage.diagnosis import STORE_FAILURES, store_error

logger = logging.getLogger(__name__)

#: Django's own request limits (raised while the body is parsed), as status and message.
REQUEST_LIMITS: list[tuple[type[Exception], int, str, str]] = [
    (RequestDataTooBig, 413, "request_too_large", "The request body is too large."),
    (TooManyFilesSent, 400, "too_many_files", "The request has too many files."),
    (TooManyFieldsSent, 400, "too_many_fields", "The request has too many form fields."),
    (MultiPartParserError, 400, "malformed_multipart", "The multipart body could not be read."),
    (SuspiciousOperation, 400, "bad_request", "The request could not be processed."),
]


#: The shared cache (Redis) cannot be reached: an outage, like the database's.
CACHE_OUTAGES = (RedisConnectionError, RedisTimeoutError)


def _error(
    status: int, code: str, detail: str, *, retry_after: int | None = None, **extra: Any
) -> Response:
    if status == 503 and retry_after is None:
        retry_after = OUTAGE_RETRY_AFTER
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response({"detail": detail, "code": code, **extra}, status=status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):  # as DRF's own handler does, so they get a code too
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = _handle(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        _add_code(response, exc)
    return response


def _add_code(response: Response, exc: exceptions.APIException) -> None:
    """``{"detail": ...}`` from DRF gets its ``code`` (``not_authenticated``, ``throttled``...)."""
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        response.data["code"] = getattr(exc.detail, "code", None) or exc.default_code


def _handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, STORE_FAILURES):
        exc = store_error(exc, what=f"a request during {context.get('view')}")
    if isinstance(exc, ServiceError):
        extra = {"field": exc.field} if exc.field else {}
        return _error(exc.status_code, exc.code, exc.message, retry_after=exc.retry_after, **extra)
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
    if isinstance(exc, CACHE_OUTAGES):
        logger.exception("cache unavailable during %s", context.get("view"))
        return _error(
            503,
            "cache_unavailable",
            "The shared cache is unavailable right now, so nothing was saved. "
            "Try again in a minute.",
        )
    return drf_exception_handler(exc, context)
