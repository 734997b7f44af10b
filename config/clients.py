"""Who is calling: the client's address, behind a known number of trusted proxies.

Each proxy appends the address it received the request from to ``X-Forwarded-For``,
so with ``trusted_proxies`` proxies in front of the app the client is the
``trusted_proxies``-th entry from the right: what the outermost trusted proxy saw.
Anything further left was written by the client and proves nothing. A header with
fewer entries did not pass through all of them (or was mangled), so it is not
trusted and the connection's own address (``REMOTE_ADDR``) is used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any


def client_address(meta: Mapping[str, Any], trusted_proxies: int) -> str | None:
    """The client's address from a WSGI environ (``request.META``)."""
    remote = meta.get("REMOTE_ADDR")
    if trusted_proxies <= 0:
        return remote
    entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < trusted_proxies:
        return remote
    candidate = entries[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # not an address: no trusted proxy wrote it
        return remote
