from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shop: products, orders and their API."""

    name = "core"
    verbose_name = "Shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from media_store.models import StoredFile
        from media_store.signals import delete_stored_files_with
        from media_store.uploads.purposes import register_purpose

        from . import tasks  # noqa: F401  (registers the periodic task)
        from .models import OrderImage, Product
        from .services import ORDER_IMAGES, PRODUCT_IMAGE

        delete_stored_files_with(Product, "image")
        delete_stored_files_with(OrderImage, "file")
        register_purpose(
            ORDER_IMAGES,
            visibility=StoredFile.Visibility.PRIVATE,
            prefix="orders",
            allowed=lambda user: user.is_authenticated,
            max_dimension=lambda: settings.ORDER_IMAGE_MAX_DIMENSION,
        )
        register_purpose(
            PRODUCT_IMAGE,
            visibility=StoredFile.Visibility.PUBLIC,
            prefix="products",
            allowed=lambda user: user.is_staff,
            renditions=True,
        )
