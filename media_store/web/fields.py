"""A read-only serializer field for stored images: absolute URLs plus the facts in the database."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import StoredFile


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "size": {"type": "integer"},
            "content_type": {"type": "string"},
            "name": {"type": "string"},
            "sha256": {"type": "string"},
            "srcset": {"type": "string", "description": "WebP renditions, `url <width>w, ...`"},
        },
        "nullable": True,
    }
)
class StoredImageField(serializers.Field):
    """Represents a StoredFile as an absolute URL plus the facts kept in the database."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: StoredFile) -> dict[str, Any]:
        request = self.context.get("request")

        def absolute(url: str) -> str:
            return request.build_absolute_uri(url) if request is not None else url

        # renditions are expected to be prefetched: one query for a whole page
        srcset = ", ".join(f"{absolute(r.url())} {r.width}w" for r in value.renditions.all())
        return {
            "url": absolute(value.url()),
            "width": value.width,
            "height": value.height,
            "size": value.size,
            "content_type": value.content_type,
            "name": value.original_name,
            "sha256": value.sha256,
            "srcset": srcset,
        }
