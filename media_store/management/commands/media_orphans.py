from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.conf import media_setting
from media_store.storage.diagnosis import STORE_FAILURES, diagnose
from media_store.storage.inventory import find_orphans
from media_store.storage.objects import delete_object


class Command(BaseCommand):
    help = (
        "Find objects that no database row references (orphans) and rows whose object is "
        "missing. --delete removes the orphans; --check exits 1 if anything is found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="Delete orphan objects.")
        parser.add_argument("--check", action="store_true", help="Exit 1 if anything is found.")
        parser.add_argument(
            "--min-age-minutes",
            type=float,
            default=media_setting("MEDIA_ORPHAN_GRACE_MINUTES"),
            help="Skip younger objects: an upload in flight has no row yet "
            "(default MEDIA_ORPHAN_GRACE_MINUTES, %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            found = find_orphans(min_age=timedelta(minutes=options["min_age_minutes"]))
        except STORE_FAILURES as exc:
            diagnosis = diagnose(exc)
            raise CommandError(
                f"The store could not be listed ({diagnosis.detail}). Fix: {diagnosis.fix}"
            ) from exc
        orphans, missing = found.orphans, found.missing
        for visibility, key in orphans:
            self.stdout.write(f"orphan object  {visibility:7} {key}")
        for visibility, key in missing:
            self.stdout.write(f"missing object {visibility:7} {key}  (a row points at nothing)")
        deleted = 0
        if options["delete"]:
            deleted = sum(delete_object(visibility, key) for visibility, key in orphans)
        self.stdout.write(
            f"{len(orphans)} orphan object(s), {len(missing)} row(s) with a missing object"
            + (f", {deleted} orphan(s) deleted" if options["delete"] else "")
        )
        remaining = len(orphans) - deleted
        if options["check"] and (remaining or missing):
            raise CommandError("media store and database disagree (see above)")
