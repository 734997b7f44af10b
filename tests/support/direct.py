"""Direct uploads as a browser makes them: ask the API for a grant, POST to the bucket."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from tests.support.clients import client_for
from tests.support.multipart import encode_multipart


def issue(user: Any, *, purpose: str, size: int = 1000, content_type: str = "image/jpeg") -> Any:
    return client_for(user).post(
        "/api/media/uploads/",
        {"purpose": purpose, "content_type": content_type, "size": size, "filename": "photo.jpg"},
        format="json",
    )


def send(
    grant: dict, data: bytes, *, content_type: str | None = None, **override: str
) -> tuple[int, bytes]:
    """POST ``data`` to the bucket with the grant's fields (``override`` replaces some)."""
    fields = {**grant["fields"], **override}
    if content_type:
        fields["Content-Type"] = content_type
    body, header = encode_multipart(fields, [("file", "photo.jpg", data, fields["Content-Type"])])
    req = urllib.request.Request(
        grant["url"], data=body, method="POST", headers={"Content-Type": header}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
