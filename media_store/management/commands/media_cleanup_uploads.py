from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from media_store.direct import forget_uploads
from media_store.models import PendingUpload


class Command(BaseCommand):
    help = "Delete direct uploads that were never finalized before their window closed."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = list(PendingUpload.objects.filter(expires_at__lte=timezone.now()))
        forget_uploads(expired)
        self.stdout.write(f"{len(expired)} expired upload(s) removed.")
