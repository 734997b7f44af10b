"""Refuse chunked request bodies on the API (411), before anything reads them.

Django reads a request body by its ``Content-Length`` only: a body sent with
``Transfer-Encoding: chunked`` has none, so Django would see an empty body and a
PATCH would answer 200 having changed nothing. Reading chunked bodies ourselves
would also bypass the size checks made on the declared length before a body is
read (``DATA_UPLOAD_MAX_MEMORY_SIZE``, the upload limits), so the API asks for a
``Content-Length`` instead, which every ordinary HTTP client sends anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from .error_views import API_PREFIX


class RefuseChunkedBodiesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        encoding = request.META.get("HTTP_TRANSFER_ENCODING", "")
        if request.path.startswith(API_PREFIX) and "chunked" in encoding.lower():
            return JsonResponse(
                {
                    "detail": "Chunked request bodies are not accepted: send the body "
                    "with a Content-Length header.",
                    "code": "length_required",
                },
                status=411,
            )
        return self.get_response(request)
