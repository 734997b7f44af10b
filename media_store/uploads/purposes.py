"""What an image is for: where it is stored, who may store it, what is made from it.

The project registers its purposes once (``AppConfig.ready``) with
:func:`register_purpose`; everything in media_store then works from the purpose's
name, so this app knows nothing of the project's own models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from media_store.conf import UploadLimits, media_setting, upload_limits
from media_store.errors import UnknownPurpose, UploadNotAllowed
from media_store.models import StoredFile

from .keys import validate_prefix


@dataclass(frozen=True)
class Purpose:
    name: str
    #: ``StoredFile.Visibility``: public images get plain URLs, private ones signed URLs.
    visibility: str
    #: Key prefix of stored objects (``<prefix>/<uuid>.<ext>``).
    prefix: str
    #: Who may store images for this purpose (gets the user).
    allowed: Callable[[Any], bool]
    #: Make renditions (``MEDIA_RENDITION_WIDTHS``) for srcsets.
    renditions: bool = False
    #: Longest side kept, when smaller than ``MEDIA_MAX_STORED_DIMENSION`` (a callable,
    #: so a setting changed at run time counts). Pages downscale to it before sending.
    max_dimension: Callable[[], int] | None = None

    @property
    def is_public(self) -> bool:
        return self.visibility == StoredFile.Visibility.PUBLIC

    @property
    def reencode(self) -> bool:
        """Private images are always re-encoded; public ones per ``MEDIA_REENCODE_PUBLIC``."""
        return not self.is_public or bool(media_setting("MEDIA_REENCODE_PUBLIC"))

    def limits(self) -> UploadLimits:
        """The upload limits, with this purpose's own longest side where it keeps less."""
        limits = upload_limits()
        if self.max_dimension is None:
            return limits
        return replace(limits, max_dimension=min(limits.max_dimension, self.max_dimension()))

    def check_allowed(self, owner: Any) -> None:
        """Raise :class:`UploadNotAllowed` unless ``owner`` may store images for this purpose."""
        if not self.allowed(owner):
            raise UploadNotAllowed("You may not upload files for this purpose.")

    def rendition_widths(self) -> tuple[int, ...]:
        return tuple(media_setting("MEDIA_RENDITION_WIDTHS")) if self.renditions else ()


_PURPOSES: dict[str, Purpose] = {}


def register_purpose(
    name: str,
    *,
    visibility: str,
    prefix: str,
    allowed: Callable[[Any], bool],
    renditions: bool = False,
    max_dimension: Callable[[], int] | None = None,
) -> Purpose:
    if visibility not in StoredFile.Visibility.values:
        raise ValueError(f"visibility must be one of {StoredFile.Visibility.values}")
    validate_prefix(prefix)
    purpose = Purpose(name, visibility, prefix, allowed, renditions, max_dimension)
    _PURPOSES[name] = purpose
    return purpose


def get_purpose(name: str) -> Purpose:
    try:
        return _PURPOSES[name]
    except KeyError:
        raise UnknownPurpose(
            f"Unknown upload purpose {name!r}; expected one of: {', '.join(sorted(_PURPOSES))}.",
            field="purpose",
        ) from None
