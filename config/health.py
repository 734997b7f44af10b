"""Liveness and readiness endpoints for the platform's health checks.

Served by :class:`HealthCheckMiddleware`, first in the chain, because platform
probes use internal host names (not in ALLOWED_HOSTS) and plain HTTP (which
SECURE_SSL_REDIRECT would bounce).

``/readyz`` runs every check in :data:`READINESS_CHECKS` (add an entry to check
something more) and reports those in :data:`ADVISORY_CHECKS` without letting them
decide readiness. Anonymous callers get the overall status only; staff (session or
API token) and callers sending ``HEALTH_DETAILS_TOKEN`` also get each check's
detail, which names hosts and paths.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.core.cache import caches
from django.db import connection
from django.db.utils import Error as DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from config.checks import sqlite_file_on_local_disk
from config.exceptions import CACHE_OUTAGES
from jobs.heartbeat import worker_status
from media_store.models import StoredFile
from media_store.storage.mirror import backlog as mirror_backlog
from media_store.storage.mirror import mirror_for
from media_store.storage.probes import storage_probe


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


def database_check() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return CheckResult(False, f"error: {exc}")
    local_file = None if settings.DEBUG else sqlite_file_on_local_disk()
    if local_file:  # it works, for now: say so to whoever reads the details
        return CheckResult(
            True,
            f"ok, but SQLite on this machine ({local_file}): lost at the next "
            "redeploy; set DATABASE_URL (config.E001)",
        )
    return CheckResult(True, "ok")


def storage_check() -> CheckResult:
    """The media store (its probe is cached for a few seconds)."""
    probe = storage_probe()
    return CheckResult(probe.ok, probe.detail)


def worker_check() -> CheckResult:
    """A background worker was seen recently (see ``jobs.heartbeat``)."""
    try:
        status = worker_status()
    except DatabaseError:
        return CheckResult(False, "unknown: the database is unavailable")
    return CheckResult(status.ok, status.detail)


def mirror_check() -> CheckResult | None:
    """The mirror store keeps up (see ``media_store.storage.mirror``); None without one."""
    if mirror_for(StoredFile.Visibility.PUBLIC) is None:
        return None
    try:
        return CheckResult(*mirror_backlog())
    except DatabaseError:
        return CheckResult(False, "unknown: the database is unavailable")


def cache_check() -> CheckResult:
    """A round trip to the shared cache (Redis; its client timeouts bound the wait)."""
    try:
        caches["default"].get("readyz-probe")
    except CACHE_OUTAGES as exc:
        return CheckResult(False, f"error: {exc}")
    return CheckResult(True, "ok")


#: Named readiness checks; every one must pass for /readyz to answer 200.
READINESS_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": database_check,
    "storage": storage_check,
}
if settings.REDIS_URL:  # the database cache is covered by the database check
    READINESS_CHECKS["cache"] = cache_check
#: Reported with the details, never a reason to take this instance out of rotation:
#: without a worker the app still serves and accepts uploads (renditions and clean-up
#: wait until one runs).
ADVISORY_CHECKS: dict[str, Callable[[], CheckResult | None]] = {
    "worker": worker_check,
    "mirror": mirror_check,
}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process serves requests. Touches nothing else, so a sick S3 never restarts us."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = {name: check() for name, check in READINESS_CHECKS.items()}
    ready = all(result.ok for result in results.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable"}
    if may_see_details(request):
        advisory = {name: check() for name, check in ADVISORY_CHECKS.items()}
        results |= {name: result for name, result in advisory.items() if result is not None}
        body["checks"] = {
            name: {"ok": result.ok, "detail": result.detail} for name, result in results.items()
        }
    return JsonResponse(body, status=200 if ready else 503)


def may_see_details(request: HttpRequest) -> bool:
    """Staff, or the configured details token as ``Authorization: Bearer <token>``."""
    token = settings.HEALTH_DETAILS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return _staff_by_api_token(request) or _staff_by_session(request)


def _staff_by_api_token(request: HttpRequest) -> bool:
    try:
        authenticated = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return False
    return authenticated is not None and authenticated[0].is_staff


def _staff_by_session(request: HttpRequest) -> bool:
    """This middleware runs before the session middleware: load the session here."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return False
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(request).is_staff


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
