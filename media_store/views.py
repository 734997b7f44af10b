from __future__ import annotations

from django.core import signing
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse

from .backends import SignedFileSystemStorage
from .storage_config import PRIVATE_ALIAS


def private_file(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a local private file (development mode) for a valid, unexpired signed token."""
    storage = storages[PRIVATE_ALIAS]
    if not isinstance(storage, SignedFileSystemStorage):
        raise Http404
    try:
        name = storage.name_from_token(token)
    except signing.SignatureExpired:
        return _forbidden("This link has expired; reload the page for a fresh one.")
    except signing.BadSignature:
        return _forbidden("This link is not valid.")
    if not storage.exists(name):
        raise Http404
    response = FileResponse(
        storage.open(name, "rb"), content_type=storage.content_type_for(name), as_attachment=True
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _forbidden(message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=403)
