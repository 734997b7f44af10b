from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.errors import StoreError
from media_store.models import StoredFile, storage_for
from media_store.storage.copying import CopyMismatch, copy_object, object_sha256
from media_store.storage.inventory import Item, iter_objects, referenced_keys, referenced_objects
from media_store.storage.mirror import mirror_for
from media_store.storage.objects import ObjectMissing


class Command(BaseCommand):
    help = (
        "Check a store against the database, reading every object: rows whose object is "
        "missing or has another size or SHA-256, and objects no row references. "
        "--store mirror checks the mirror; --repair-from mirror copies what the primary "
        "lost (or holds damaged) back from the mirror, verified. Exits 1 while anything "
        "is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", choices=["primary", "mirror"], default="primary")
        parser.add_argument(
            "--repair-from",
            choices=["mirror"],
            help="Restore the primary's missing or damaged objects from the mirror.",
        )
        parser.add_argument("--jobs", type=int, default=4, help="Objects read at once.")

    def handle(self, *args: Any, **options: Any) -> None:
        mirrored = options["store"] == "mirror" or options["repair_from"]
        if mirrored and mirror_for(StoredFile.Visibility.PUBLIC) is None:
            raise CommandError("No mirror is configured (MEDIA_MIRROR_* variables).")
        store = mirror_for if options["store"] == "mirror" else storage_for
        items = list(referenced_objects())
        with ThreadPoolExecutor(max_workers=max(1, options["jobs"])) as pool:
            problems = [p for p in pool.map(lambda i: _problem(store, i), items) if p]
        for item, problem in problems:
            self.stdout.write(f"{problem:14} {item.visibility:7} {item.key}")
        unreferenced = _unreferenced(store)
        for visibility, key in unreferenced:
            self.stdout.write(f"{'unreferenced':14} {visibility:7} {key}")
        self.stdout.write(
            f"{options['store']}: {len(items)} object(s) checked, {len(problems)} missing or "
            f"damaged, {len(unreferenced)} no row references."
        )
        if options["repair_from"] and problems:
            repaired = sum(self._repair(item) for item, _ in problems)
            self.stdout.write(f"{repaired} of {len(problems)} restored from the mirror.")
            if repaired == len(problems):
                return
        if problems or unreferenced:
            raise CommandError("the store and the database disagree (see above)")

    def _repair(self, item: Item) -> bool:
        primary = storage_for(item.visibility)
        try:
            primary.delete(item.key)  # a damaged copy goes first (writes never overwrite)
            copy_object(mirror_for(item.visibility), primary, item.key, sha256=item.sha256)
        except (ObjectMissing, CopyMismatch, StoreError) as exc:
            self.stderr.write(f"{item.visibility}/{item.key}: not restored: {exc}")
            return False
        return True


def _problem(store: Any, item: Item) -> tuple[Item, str] | None:
    """Why ``item`` is not right in ``store``, or None."""
    try:
        digest, size = object_sha256(store(item.visibility), item.key)
    except ObjectMissing:
        return item, "missing"
    except StoreError:
        return item, "unreadable"
    if size != item.size:
        return item, "wrong size"
    if item.sha256 and digest != item.sha256:
        return item, "wrong sha256"
    return None


def _unreferenced(store: Any) -> list[tuple[str, str]]:
    """Objects in ``store`` that no row references (nor a pending direct upload)."""
    found = []
    for visibility in StoredFile.Visibility.values:
        required, optional = referenced_keys(visibility)
        for info in iter_objects(store(visibility)):
            if info.key not in required and info.key not in optional:
                found.append((visibility, info.key))
    return found
