from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from media_store.uploads.direct import forget_expired_uploads


class Command(BaseCommand):
    help = (
        "Delete direct uploads that were never finalized before their window closed "
        "(the background worker does this every MEDIA_UPLOAD_SWEEP_MINUTES; this runs it now)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{forget_expired_uploads()} expired upload(s) removed.")
