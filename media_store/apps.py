from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class MediaStoreConfig(AppConfig):
    """Everything about stored media: storages, keys, validation, URLs, checks."""

    name = "media_store"
    verbose_name = "Stored media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_store.imaging.slots import tune_allocator

        from . import checks, signals, sweeps  # noqa: F401  (checks, receivers, periodic tasks)

        tune_allocator()
        _apply_pillow_limits()
        setting_changed.connect(_pixel_limit_changed, dispatch_uid="media_store.pillow_limits")


def _apply_pillow_limits() -> None:
    from media_store.imaging.decoding import apply_pillow_limits

    from .conf import media_setting

    apply_pillow_limits(media_setting("MEDIA_MAX_IMAGE_PIXELS"))


def _pixel_limit_changed(*, setting: str, **_: Any) -> None:
    if setting == "MEDIA_MAX_IMAGE_PIXELS":
        _apply_pillow_limits()
