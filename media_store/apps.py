from django.apps import AppConfig


class MediaStoreConfig(AppConfig):
    """Everything about stored media: storages, keys, validation, URLs, checks."""

    name = "media_store"
    verbose_name = "Stored media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signals, sweeps  # noqa: F401  (checks, receivers, periodic tasks)
