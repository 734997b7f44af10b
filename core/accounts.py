"""Accounts: expiring API tokens (django-rest-knox) and the login lockout answer (django-axes).

``POST /api/auth/token/`` keeps the shape clients already use (``username`` and
``password`` in, ``{"token", "expiry"}`` out, ``Authorization: Token ...``), but the
token is stored hashed and expires. Credentials are checked with
``authenticate(request=...)`` so django-axes counts failures and refuses locked-out
clients; its middleware then answers with :func:`lockout_response`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from knox.models import AuthToken
from knox.views import LoginView, LogoutAllView, LogoutView
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response


class Credentials(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenLoginView(LoginView):
    """Exchange a username and password for an expiring API token."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=Credentials,
        responses={
            200: inline_serializer(
                "ApiToken",
                {"token": serializers.CharField(), "expiry": serializers.DateTimeField()},
            )
        },
    )
    def post(self, request: Request, format: Any = None) -> Response:
        credentials = Credentials(data=request.data)
        credentials.is_valid(raise_exception=True)
        # The Django request, so django-axes records the attempt and flags a lockout on it.
        user = authenticate(request=request._request, **credentials.validated_data)
        if user is None or not user.is_active:
            raise ValidationError({"detail": "Unable to sign in with these credentials."})
        request.user = user
        return super().post(request, format=format)


@extend_schema_view(post=extend_schema(request=None, responses={204: None}))
class TokenLogoutView(LogoutView):
    """Revoke the token this request was made with."""


@extend_schema_view(post=extend_schema(request=None, responses={204: None}))
class TokenLogoutAllView(LogoutAllView):
    """Revoke every token of this user (all of their API clients are signed out)."""


def revoke_tokens(user: Any) -> int:
    """Delete every API token of ``user`` (signs out all of their API clients)."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """What a locked-out client gets: 429 JSON on the API, a page saying so elsewhere."""
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = int(cool_off.total_seconds())
    minutes = max(1, round(seconds / 60))
    message = (
        "Too many failed sign-in attempts for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response
