"""DRF exception handling: media errors (and raw store errors) as ``{"detail", "code"}`` JSON."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import MediaError, StorageUnavailable


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus media errors (400/413/415/503) as ``{"detail", "code"}``."""
    if isinstance(exc, BotoCoreError | ClientError):
        exc = StorageUnavailable()
    if isinstance(exc, MediaError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        headers = {"Retry-After": "30"} if exc.status_code == 503 else None
        return Response(body, status=exc.status_code, headers=headers)
    return drf_exception_handler(exc, context)
