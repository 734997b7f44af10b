from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def client_for(user: Any = None) -> APIClient:
    """An API client, authenticated as ``user`` when one is given."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def session_client(user: Any) -> APIClient:
    """Signed in with a session and CSRF checks on, as the storefront is."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")  # sets the CSRF cookie
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client
