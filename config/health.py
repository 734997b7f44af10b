"""Liveness and readiness endpoints for the platform's health checks.

Served by :class:`HealthCheckMiddleware`, first in the chain, because platform
probes use internal host names (not in ALLOWED_HOSTS) and plain HTTP (which
SECURE_SSL_REDIRECT would bounce).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from jobs.heartbeat import worker_status
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
    # Without a worker the app still serves and accepts uploads (renditions and clean-up
    # wait), so a missing worker is reported but does not make this instance unready.
    checks["worker"] = _worker_detail()
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
    )


def _worker_detail() -> str:
    try:
        status = worker_status()
    except DatabaseError:
        return "unknown: the database is unavailable"
    return status.detail if status.ok else f"warning: {status.detail}"


class HealthCheckMiddleware:
    routes: dict[str, Callable[[HttpRequest], JsonResponse]] = {
        "/healthz": healthz,
        "/readyz": readyz,
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.routes.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
