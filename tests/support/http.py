from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Fetched:
    status: int
    body: bytes
    headers: dict[str, str]


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    """Plain anonymous HTTP request (no AWS credentials), as a browser would make it."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as err:
        return Fetched(err.code, err.read(), dict(err.headers))
