"""Request body parsers for the API with Django's own body limits applied.

DRF's JSON and form parsers read the whole body whatever its size, and a deeply
nested JSON document makes ``json.load`` raise ``RecursionError`` (a 500). These
refuse a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with a 413 and answer nesting
too deep to parse with a 400, both as JSON.
"""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser


def read_bounded(stream: IO[bytes] | None) -> bytes:
    """The body, or ``RequestDataTooBig`` as soon as it passes the limit (declared or sent)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
    if limit is not None and len(body) > limit:
        raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return body


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        body = io.BytesIO(read_bounded(stream))
        try:
            return super().parse(body, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc


class BoundedFormParser(FormParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return super().parse(io.BytesIO(read_bounded(stream)), media_type, parser_context)
