"""Accounts: expiring API tokens (django-rest-knox) and the login lockout answer (django-axes).

``POST /api/auth/token/`` keeps the shape clients already use (``username`` and
``password`` in, ``{"token", "expiry"}`` out, ``Authorization: Token ...``), but the
token is stored hashed and expires. Credentials are checked with
``authenticate(request=...)`` so django-axes counts failures and refuses locked-out
clients; its middleware then answers with :func:`lockout_response`.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from knox.models import AuthToken
from knox.views import LoginView, LogoutAllView, LogoutView
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from config.clients import client_address

from .errors import InvalidCredentials


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
            raise InvalidCredentials("Unable to sign in with these credentials.")
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


def client_ip(request: HttpRequest) -> str | None:
    """The address sign-in failures are counted against (``AXES_CLIENT_IP_CALLABLE``)."""
    return client_address(request.META, settings.TRUSTED_PROXY_COUNT)


def lockout_remaining(request: HttpRequest, credentials: Any) -> timedelta:
    """How long the lockout on this request's username or address still lasts.

    django-axes counts, per lockout parameter (username, address), the failures
    recorded within the cool-off (each row holds its latest failure's time). A
    parameter is free again once the rows holding its newest ``limit`` failures
    have aged out, i.e. at the cool-off after the row that reached the limit.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    limit = get_failure_limit(request, credentials)
    handler = AxesProxyHandler.get_implementation()
    now, ends = timezone.now(), []
    for attempts in handler.get_user_attempts(request, credentials):
        counted = 0
        for failures, attempt_time in attempts.order_by("-attempt_time").values_list(
            "failures_since_start", "attempt_time"
        ):
            counted += failures
            if counted >= limit:
                ends.append(attempt_time + cool_off)
                break
    return max(max(ends, default=now + cool_off) - now, timedelta(0))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """What a locked-out client gets: 429 JSON on the API, a page saying so elsewhere.

    Both say how long is left (``Retry-After``, rounded up to whole seconds; the
    message in whole minutes, rounded up).
    """
    seconds = max(1, math.ceil(lockout_remaining(request, credentials).total_seconds()))
    minutes = math.ceil(seconds / 60)
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
