from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shop: products, orders and their API."""

    name = "core"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_store.direct import register_purpose
        from media_store.signals import delete_stored_files_with

        from .models import OrderImage, Product
        from .services import ORDER_UPLOAD, PRODUCT_UPLOAD

        delete_stored_files_with(Product, "image")
        delete_stored_files_with(OrderImage, "file")
        register_purpose(ORDER_UPLOAD, allowed=lambda user: user.is_authenticated)
        register_purpose(PRODUCT_UPLOAD, allowed=lambda user: user.is_staff)
