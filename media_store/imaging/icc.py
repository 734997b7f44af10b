"""ICC colour profiles we keep: parsed by littleCMS and written again by it, never copied.

A profile describes a device, not a person, and without it wide-gamut photos change
colour, so re-encoded images and lossless JPEG copies keep it. But the bytes an
upload calls its profile can be anything: a valid profile followed by any amount of
data (its declared size adjusted), or no profile at all. So a profile is kept only if
littleCMS can read it, and what is stored is littleCMS's own serialisation of what it
read (the header and tagged elements: nothing outside them survives), up to
``MEDIA_MAX_ICC_BYTES``.
"""

from __future__ import annotations

import io
import logging

from PIL import ImageCms

logger = logging.getLogger(__name__)


def clean_profile(data: bytes | None, *, max_bytes: int) -> bytes | None:
    """The profile in ``data`` as littleCMS writes it, or None to store none."""
    if not data or len(data) > max_bytes:
        return None
    try:
        cleaned = ImageCms.ImageCmsProfile(io.BytesIO(data)).tobytes()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError) as exc:
        logger.info("colour profile dropped as unreadable: %s", exc)
        return None
    return cleaned if len(cleaned) <= max_bytes else None
