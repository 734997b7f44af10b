"""A read-only serializer field for stored images: absolute URLs plus the facts in the database."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from media_store.models import Rendition, StoredFile


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
            "srcset": {
                "type": "string",
                "description": "Ready WebP renditions, `url <width>w, ...` (empty until made)",
            },
            "placeholder": {
                "type": "object",
                "nullable": True,
                "description": "Shown until the image loads (null until the renditions are made)",
                "properties": {
                    "blurhash": {"type": "string"},
                    "color": {"type": "string", "description": "average colour, `#rrggbb`"},
                },
            },
            "renditions": {
                "type": "array",
                "description": "Every rendition with its state; `url` is null until ready.",
                "items": {
                    "type": "object",
                    "properties": {
                        "width": {"type": "integer"},
                        "height": {"type": "integer"},
                        "content_type": {"type": "string", "enum": ["image/avif", "image/webp"]},
                        "state": {"type": "string", "enum": ["pending", "ready", "failed"]},
                        "url": {"type": "string", "format": "uri", "nullable": True},
                    },
                },
            },
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
        renditions = [
            {
                "width": r.width,
                "height": r.height,
                "content_type": r.content_type,
                "state": r.state,
                "url": absolute(r.url()) if r.state == Rendition.State.READY else None,
            }
            for r in value.renditions.all()
        ]
        srcset = ", ".join(
            f"{r['url']} {r['width']}w"
            for r in renditions
            if r["url"] and r["content_type"] == "image/webp"
        )
        placeholder = (
            {"blurhash": value.placeholder, "color": value.color} if value.placeholder else None
        )
        return {
            "url": absolute(value.url()),
            "width": value.width,
            "height": value.height,
            "size": value.size,
            "content_type": value.content_type,
            "name": value.original_name,
            "sha256": value.sha256,
            "srcset": srcset,
            "placeholder": placeholder,
            "renditions": renditions,
        }
