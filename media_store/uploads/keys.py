"""Object keys are chosen by the server, never by the uploader."""

from __future__ import annotations

import re
import uuid

_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


def validate_prefix(prefix: str) -> None:
    if not _PREFIX.match(prefix):
        raise ValueError(f"Invalid key prefix {prefix!r}")


def new_key(prefix: str, extension: str) -> str:
    """Return ``<prefix>/<random uuid>.<extension>``: unique, unguessable, no user text."""
    validate_prefix(prefix)
    if not extension.isalnum():
        raise ValueError(f"Invalid extension {extension!r}")
    return f"{prefix}/{uuid.uuid4().hex}.{extension.lower()}"
