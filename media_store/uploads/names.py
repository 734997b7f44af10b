"""Uploader file names, kept for display only and cleaned the same way wherever they come from.

Names arrive with multipart uploads (Django's parser has already unescaped them) and
with direct-upload requests (JSON, untouched by any parser). Both go through
:func:`clean_filename`: no path parts, no control or invisible formatting characters
(a right-to-left override turns ``photo\\u202egnp.exe`` into what reads as
``photoexe.png``), no surrounding spaces, at most 255 characters with the extension kept.
"""

from __future__ import annotations

MAX_LENGTH = 255


def clean_filename(name: str) -> str:
    """``name`` safe to show and store; ``""`` when nothing usable is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # str.isprintable() is False for control, format (bidi overrides, zero-width),
    # surrogate, private-use, unassigned and separator characters other than space.
    name = "".join(char for char in name if char.isprintable()).strip()
    if name in ("", ".", ".."):
        return ""
    if len(name) > MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) < 16:
            return stem[: MAX_LENGTH - len(extension) - 1] + "." + extension
        return name[:MAX_LENGTH]
    return name
