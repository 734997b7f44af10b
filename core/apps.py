from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shop: products, orders and their API."""

    name = "core"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_store.signals import delete_stored_files_with

        from .models import OrderImage, Product

        delete_stored_files_with(Product, "image")
        delete_stored_files_with(OrderImage, "file")
