"""Media settings: their defaults (the only place they are written) and typed readers.

``config/settings.py`` reads these defaults when the environment does not set a
value; code reads the settings through the helpers here, so a project that omits
a setting gets the same default, and tests and benchmarks can change any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

MB = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "MEDIA_MAX_UPLOAD_BYTES": 10 * MB,
    "MEDIA_MAX_IMAGE_PIXELS": 40_000_000,
    "MEDIA_MAX_FILES_PER_REQUEST": 5,
    "MEDIA_SIGNED_URL_EXPIRE": 600,
    # Product (public) JPEGs keep their pixels and lose only metadata unless this is on;
    # private uploads are always re-encoded.
    "MEDIA_REENCODE_PUBLIC": False,
    # Renditions made per image of a purpose that asks for them, served as a srcset, in
    # these formats ("webp", and "avif" beside it: see media_store.imaging.formats).
    "MEDIA_RENDITION_WIDTHS": (320, 640, 1280),
    "MEDIA_RENDITION_FORMATS": ("avif", "webp"),
    # Periodic sweeps run by the background worker: direct uploads never finalized, and
    # objects no row references (older than the grace period: uploads in flight have no
    # row yet).
    "MEDIA_UPLOAD_SWEEP_MINUTES": 10,
    "MEDIA_ORPHAN_SWEEP_HOURS": 6,
    "MEDIA_ORPHAN_GRACE_MINUTES": 60,
    # Bounded work per upload (see media_store.imaging.decoding): frames of an animation, scans
    # of a JPEG, memory the decoders and encoders may hold at once, and decodes running
    # at the same time in one process.
    "MEDIA_MAX_FRAMES": 300,
    "MEDIA_MAX_JPEG_SCANS": 24,
    "MEDIA_MAX_DECODE_MEMORY": 200 * MB,
    "MEDIA_DECODE_CONCURRENCY": 2,
    # Re-encoded images are stored at most this many pixels wide and high (JPEGs are
    # decoded straight at 1/2, 1/4 or 1/8 scale when that is enough).
    "MEDIA_MAX_STORED_DIMENSION": 4096,
    # ICC colour profiles are kept up to this size (media_store.imaging.icc): device profiles
    # are a few KB (sRGB 3 KB, Display P3 0.5 KB).
    "MEDIA_MAX_ICC_BYTES": 64 * 1024,
    # Throttles of the direct-upload grant view (dotted paths of DRF throttle classes):
    # the project decides how uploads are rate-limited.
    "MEDIA_UPLOAD_THROTTLE_CLASSES": (),
}


def media_setting(name: str) -> Any:
    """The value of a ``MEDIA_*`` setting, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def megabytes(n: int) -> str:
    """``n`` bytes as people read them in error messages: ``"10.0 MB"``."""
    return f"{n / MB:.1f} MB"


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int
    max_files: int
    max_frames: int = DEFAULTS["MEDIA_MAX_FRAMES"]
    max_scans: int = DEFAULTS["MEDIA_MAX_JPEG_SCANS"]
    max_decode_memory: int = DEFAULTS["MEDIA_MAX_DECODE_MEMORY"]
    max_dimension: int = DEFAULTS["MEDIA_MAX_STORED_DIMENSION"]
    max_icc_bytes: int = DEFAULTS["MEDIA_MAX_ICC_BYTES"]


def upload_limits() -> UploadLimits:
    return UploadLimits(
        max_bytes=media_setting("MEDIA_MAX_UPLOAD_BYTES"),
        max_pixels=media_setting("MEDIA_MAX_IMAGE_PIXELS"),
        max_files=media_setting("MEDIA_MAX_FILES_PER_REQUEST"),
        max_frames=media_setting("MEDIA_MAX_FRAMES"),
        max_scans=media_setting("MEDIA_MAX_JPEG_SCANS"),
        max_decode_memory=media_setting("MEDIA_MAX_DECODE_MEMORY"),
        max_dimension=media_setting("MEDIA_MAX_STORED_DIMENSION"),
        max_icc_bytes=media_setting("MEDIA_MAX_ICC_BYTES"),
    )
