"""The project's settings plus a test-only app that uses media_store without the shop."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.media_store.testapp"]  # noqa: F405
