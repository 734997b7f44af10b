"""The API's exception handler: media errors, and database failures as 503 JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from rest_framework.response import Response

from media_store.web.exceptions import exception_handler as media_exception_handler

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DatabaseError):
        logger.exception("database error during %s", context.get("view"))
        return Response(
            {
                "detail": "The database is unavailable right now, so nothing was saved. "
                "Try again in a minute.",
                "code": "database_unavailable",
            },
            status=503,
            headers={"Retry-After": "30"},
        )
    return media_exception_handler(exc, context)
