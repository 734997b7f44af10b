"""Deployment checks: nothing that must survive a redeploy may live on the app's own disk.

Media go to the bucket (``media_store.E001`` refuses local disk on platforms whose disk
is wiped); the rows that point at them must go to a database that survives too. A
SQLite file in the app's folder is fine for development, and lost with every product
and order at the next redeploy on Koyeb, Heroku, Render or Fly (while their images stay
in the bucket). Tagged ``durability`` so ``manage.py storage_check`` reports it too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from media_store.checks import ephemeral_platform

DURABILITY = "durability"


def sqlite_file_on_local_disk() -> str | None:
    """The default database's SQLite file (or memory), when it lives on this machine and
    nobody said it sits on a volume that survives redeploys (``DATABASE_ON_VOLUME``)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return None
    if getattr(settings, "DATABASE_ON_VOLUME", False):
        return None
    name = str(database["NAME"])
    return "memory, a database per process" if name in ("", ":memory:") else name


def _database_lost_at_redeploy() -> list[Error]:
    path = sqlite_file_on_local_disk()
    if path is None:
        return []
    return [
        Error(
            f"The database is SQLite on this machine ({path}): every product "
            "and order in it is lost at the next redeploy (their images stay in the bucket).",
            hint="Set DATABASE_URL to a managed PostgreSQL (Koyeb's own database service, or "
            "any) and run `python manage.py migrate` before the web process starts "
            "(KOYEB_QUICK_FIX.md, step 3). If the file is on a volume that survives "
            "redeploys, set DATABASE_ON_VOLUME=True.",
            id="config.E001",
        )
    ]


@register(DURABILITY)
def check_database_on_ephemeral_platform(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """On a platform known to wipe its disk, always (``manage.py check``, every start)."""
    return _database_lost_at_redeploy() if ephemeral_platform() else []


@register(DURABILITY, deploy=True)
def check_database_in_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Anywhere else, with ``check --deploy`` in production (``DEBUG`` off)."""
    if settings.DEBUG or ephemeral_platform():
        return []
    return _database_lost_at_redeploy()
