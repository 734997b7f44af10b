"""API paths answer with or without their trailing slash.

Django's ``APPEND_SLASH`` cannot redirect a POST (it would lose the body: in
development it raises, an HTML 500; in production it answers a redirect the client
follows with a GET). An API client that leaves the slash out (``POST
/api/core/orders``) means the endpoint, so the path is completed in place instead.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import is_valid_path

from .error_views import API_PREFIX


class ApiTrailingSlashMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        return self.get_response(request)
