"""Small facts about S3 storages and their errors.

Kept free of the ORM and of Pillow, so the health probe and the error handler can
import it cheaply.
"""

from __future__ import annotations

import base64
from typing import Any

from django.core.files.storage import Storage

#: Error codes S3-compatible stores use for a missing object or bucket.
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
#: Those that mean the object is missing (a missing bucket is a misconfiguration).
NO_SUCH_OBJECT = NOT_FOUND_CODES - {"NoSuchBucket"}


def base64_digest(hex_digest: str) -> str:
    """A hex digest in the base64 form S3's headers take (``Content-MD5``,
    ``x-amz-checksum-sha256``)."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def s3_error_code(exc: Any) -> str:
    """The S3 error code of a botocore ``ClientError`` (``"NoSuchKey"``, ``"403"``...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name")


def s3_key(storage: Storage, key: str) -> str:
    """The full object key in the bucket for a storage-relative ``key``."""
    location = getattr(storage, "location", "")
    return f"{location}/{key}" if location else key
