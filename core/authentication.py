"""How API clients prove who they are: knox's expiring tokens.

Its own module: DRF imports it from ``DEFAULT_AUTHENTICATION_CLASSES`` while its views
are still being imported, so it must not import any view itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions
from rest_framework.request import Request


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's expiring tokens, sent as ``Authorization: Token <token>``. A token sent as
    ``Bearer`` (as many clients do by habit) is told how to send it, instead of being
    ignored as if no credentials had been sent."""

    def authenticate(self, request: Request) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("bearer "):
            raise exceptions.AuthenticationFailed(
                "Send the API token as 'Authorization: Token <token>' (not Bearer)."
            )
        return super().authenticate(request)


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI schema describes it as knox's ``Token`` scheme."""

    target_class = "core.authentication.TokenAuthentication"
    name = "apiToken"
