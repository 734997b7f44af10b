from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from .models import StoredFile


def image_preview(stored: StoredFile | None, *, height: int = 80) -> str:
    """An <img> for admin pages; private files get a fresh signed URL."""
    if stored is None:
        return "—"
    return format_html(
        '<img src="{}" alt="{}" style="max-height:{}px;max-width:200px">',
        stored.url(),
        stored.original_name,
        height,
    )


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ["preview", "original_name", "visibility", "content_type", "size", "created_at"]
    list_filter = ["visibility", "content_type"]
    search_fields = ["original_name", "key", "sha256"]
    readonly_fields = [
        "preview",
        "visibility",
        "key",
        "original_name",
        "content_type",
        "size",
        "width",
        "height",
        "sha256",
        "created_at",
    ]

    @admin.display(description="Preview")
    def preview(self, obj: StoredFile) -> str:
        return image_preview(obj)

    def has_add_permission(self, request: object) -> bool:
        return False  # files arrive through the upload services only
