"""Direct uploads as a browser makes them: ask the API for a grant, send to the bucket."""

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
    """Send ``data`` to the bucket as the grant says: a form POST with its fields, or a PUT
    with its headers (``content_type`` and ``override`` replace some of them)."""
    if grant.get("method") == "PUT":
        headers = {**grant["headers"], **override}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(grant["url"], data=data, method="PUT", headers=headers)
    else:
        fields = {**grant["fields"], **override}
        if content_type:
            fields["Content-Type"] = content_type
        body, header = encode_multipart(
            fields, [("file", "photo.jpg", data, fields["Content-Type"])]
        )
        req = urllib.request.Request(
            grant["url"], data=body, method="POST", headers={"Content-Type": header}
        )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
