from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.media_store.testapp"
    label = "media_testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_store.signals import delete_stored_files_with
        from media_store.uploads.purposes import register_purpose

        from .models import Attachment
        from .services import BANNER, PRIVATE_NOTE

        delete_stored_files_with(Attachment, "file")
        register_purpose(
            PRIVATE_NOTE,
            visibility="private",
            prefix="notes",
            allowed=lambda user: user.is_authenticated,
        )
        register_purpose(
            BANNER,
            visibility="public",
            prefix="banners",
            allowed=lambda user: user.is_staff,
            renditions=True,
        )
