"""Minimal HTTP client for talking to the app under gunicorn, as any API client would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiResponse:
    status: int
    body: bytes
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def encode_multipart(
    fields: dict[str, str], files: list[tuple[str, str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    for field_name, filename, data, content_type in files:
        header = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(header.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    fields: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes, str]] | None = None,
    timeout: float = 60,
) -> ApiResponse:
    import time

    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Token {token}"
    if files is not None or fields is not None:
        data, headers["Content-Type"] = encode_multipart(fields or {}, files or [])
    elif json_body is not None:
        data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    started = time.monotonic()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            body = response.read()
            return ApiResponse(
                response.status, body, time.monotonic() - started, dict(response.headers)
            )
    except urllib.error.HTTPError as err:
        body = err.read()
        return ApiResponse(err.code, body, time.monotonic() - started, dict(err.headers))
