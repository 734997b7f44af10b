"""Liveness and readiness endpoints for the platform's health checks."""

from __future__ import annotations

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from media_store.probes import storage_probe


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process serves requests. Touches nothing else, so a sick S3 never restarts us."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and media store reachable (the store check is cached for a few seconds)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"error: {exc}"
    probe = storage_probe()
    checks["storage"] = "ok" if probe.ok else f"error: {probe.detail}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
    )
