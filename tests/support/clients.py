from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def client_for(user: Any = None) -> APIClient:
    """An API client, authenticated as ``user`` when one is given."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
