"""Media limits, read from Django settings so deployments and benchmarks can change them."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

MB = 1024 * 1024


def megabytes(n: int) -> str:
    """``n`` bytes as people read them in error messages: ``"10.0 MB"``."""
    return f"{n / MB:.1f} MB"


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int
    max_files: int


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_bytes=getattr(settings, "MEDIA_MAX_UPLOAD_BYTES", 10 * MB),
        max_pixels=getattr(settings, "MEDIA_MAX_IMAGE_PIXELS", 40_000_000),
        max_files=getattr(settings, "MEDIA_MAX_FILES_PER_REQUEST", 5),
    )
