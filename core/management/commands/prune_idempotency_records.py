from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.idempotency import prune_idempotency_records


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_WINDOW (run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prune_idempotency_records()
        self.stdout.write(f"{deleted} expired idempotency record(s) deleted.")
