"""Errors raised while accepting or storing media, each with the HTTP status it deserves.

They carry a message a person can act on; :mod:`media_store.drf` turns them into
JSON responses, and plain Django code can use ``status_code`` the same way.
"""

from __future__ import annotations

from typing import Any

#: Error codes S3-compatible stores use for a missing object or bucket.
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def s3_error_code(exc: Any) -> str:
    """The S3 error code of a botocore ``ClientError`` (``"NoSuchKey"``, ``"403"``...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


class MediaError(Exception):
    status_code = 400
    code = "invalid_media"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidImage(MediaError):
    """Not a usable image: empty, truncated, corrupt, too many pixels."""

    code = "invalid_image"


class UnsupportedMediaType(MediaError):
    """The bytes are of a type we do not accept (SVG, HTML, PDF, ...)."""

    status_code = 415
    code = "unsupported_media_type"


class UploadTooLarge(MediaError):
    status_code = 413
    code = "upload_too_large"


class StorageUnavailable(MediaError):
    """The object store could not be reached or refused us; nothing was saved."""

    status_code = 503
    code = "storage_unavailable"


class DirectUploadsUnavailable(MediaError):
    """Direct-to-bucket uploads need S3; local disk mode takes uploads through the API."""

    status_code = 409
    code = "direct_uploads_unavailable"


class UploadNotAllowed(MediaError):
    status_code = 403
    code = "upload_not_allowed"
