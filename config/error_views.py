"""Django's own error responses (``handler400/403/404/500``): JSON on the API, HTML elsewhere.

DRF answers errors raised inside its views; these cover what happens outside them,
such as a path no URL matches (``/api/nothing/``) or an unhandled exception (500),
so an API client always gets ``{"detail", "code"}``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _json_on_api(
    status: int, code: str, detail: str, page: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": detail, "code": code}, status=status)
        return page(request) if exception is None else page(request, exception)

    return view


bad_request = _json_on_api(
    400, "bad_request", "The request could not be processed.", defaults.bad_request
)
permission_denied = _json_on_api(
    403,
    "permission_denied",
    "You do not have permission to perform this action.",
    defaults.permission_denied,
)
page_not_found = _json_on_api(
    404,
    "not_found",
    "There is no API endpoint at this address (see /api/docs/).",
    defaults.page_not_found,
)
server_error = _json_on_api(
    500,
    "server_error",
    "Something went wrong on our side; it has been logged. Try again later.",
    defaults.server_error,
)
