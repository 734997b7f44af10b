"""Refuse oversized uploads while the body is still arriving, not after it is on disk."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.parsers import MultiPartParser

from media_store.conf import megabytes, upload_limits
from media_store.errors import UploadTooLarge

#: Room for multipart boundaries and ordinary form fields beside the files.
FORM_OVERHEAD_BYTES = 256 * 1024


class FileSizeLimitHandler(FileUploadHandler):
    """Aborts the upload as soon as one file grows past ``max_bytes``."""

    def __init__(self, max_bytes: int, request: Any = None) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            raise UploadTooLarge(
                f"{self.file_name!r} is larger than the {megabytes(self.max_bytes)} limit. "
                "Upload a smaller image.",
                field=self.field_name,
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


class LimitedMultiPartParser(MultiPartParser):
    """Multipart parser that answers 413 early.

    A body whose declared length cannot fit the allowed files is refused before
    reading it; otherwise each file is cut off at the first chunk over the limit.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        request = parser_context["request"]
        limits = upload_limits()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        allowed = limits.max_bytes * limits.max_files + FORM_OVERHEAD_BYTES
        if declared > allowed:
            raise UploadTooLarge(
                f"The request is {megabytes(declared)}; at most {limits.max_files} files of "
                f"{megabytes(limits.max_bytes)} each are accepted."
            )
        request.upload_handlers.insert(0, FileSizeLimitHandler(limits.max_bytes, request))
        return super().parse(stream, media_type, parser_context)
