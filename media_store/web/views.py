"""Views: presigned direct uploads (API) and local private files (development)."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from media_store.conf import media_setting
from media_store.storage.backends import SignedFileSystemStorage
from media_store.storage.config import PRIVATE_ALIAS
from media_store.uploads.direct import issue_upload


class DirectUploadRequest(serializers.Serializer):
    purpose = serializers.CharField(max_length=40)
    content_type = serializers.CharField(max_length=100)
    size = serializers.IntegerField(min_value=0, max_value=2**63 - 1)  # a 64-bit size at most
    filename = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class DirectUploadView(APIView):
    """Authenticated users get a presigned request for one object whose key the server chose."""

    permission_classes = [permissions.IsAuthenticated]

    def get_throttles(self) -> list[Any]:
        """The project's upload throttles (``MEDIA_UPLOAD_THROTTLE_CLASSES``, dotted paths)."""
        return [import_string(path)() for path in media_setting("MEDIA_UPLOAD_THROTTLE_CLASSES")]

    @extend_schema(
        request=DirectUploadRequest,
        responses={
            201: inline_serializer(
                "DirectUpload",
                {
                    "id": serializers.UUIDField(),
                    "method": serializers.ChoiceField(
                        ["POST", "PUT"],
                        help_text="POST: a form with `fields` then the file as `file`. "
                        "PUT: the file as the body, with `headers`.",
                    ),
                    "url": serializers.URLField(),
                    "fields": serializers.DictField(
                        child=serializers.CharField(), required=False, help_text="POST only"
                    ),
                    "headers": serializers.DictField(
                        child=serializers.CharField(), required=False, help_text="PUT only"
                    ),
                    "max_bytes": serializers.IntegerField(),
                    "expires_at": serializers.DateTimeField(),
                },
            )
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DirectUploadRequest(data=request.data)
        data.is_valid(raise_exception=True)
        pending, grant = issue_upload(request.user, **data.validated_data)
        sent = {"fields": grant.fields} if grant.method == "POST" else {"headers": grant.headers}
        return Response(
            {
                "id": pending.id,
                "method": grant.method,
                "url": grant.url,
                **sent,
                "max_bytes": pending.max_bytes,
                "expires_at": pending.expires_at,
            },
            status=201,
        )


def private_file(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a local private file (development mode) for a valid, unexpired signed token."""
    storage = storages[PRIVATE_ALIAS]
    if not isinstance(storage, SignedFileSystemStorage):
        raise Http404
    try:
        name = storage.name_from_token(token)
    except signing.SignatureExpired:
        return _forbidden("This link has expired; reload the page for a fresh one.", "link_expired")
    except signing.BadSignature:
        return _forbidden("This link is not valid.", "link_invalid")
    if not storage.exists(name):
        raise Http404
    response = FileResponse(
        storage.open(name, "rb"), content_type=storage.content_type_for(name), as_attachment=True
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _forbidden(message: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=403)
