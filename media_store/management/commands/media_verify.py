from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.conf import media_setting
from media_store.errors import ObjectExists, StoreError
from media_store.management.arguments import at_least_one
from media_store.models import StoredFile, storage_for
from media_store.storage.copying import CopyMismatch, copy_object, object_sha256
from media_store.storage.diagnosis import STORE_FAILURES, store_error
from media_store.storage.inventory import Item, iter_objects, referenced_keys, referenced_objects
from media_store.storage.mirror import mirror_for
from media_store.storage.objects import ObjectMissing

STORES = {"primary": storage_for, "mirror": mirror_for}


class Command(BaseCommand):
    help = (
        "Check a store against the database, reading every object: rows whose object is "
        "missing or has another size or SHA-256, and objects no row references (older than "
        "MEDIA_ORPHAN_GRACE_MINUTES: younger ones may be uploads in flight). --store mirror "
        "checks the mirror. --repair-from restores what the checked store lost (or holds "
        "damaged) from the other one, each copy verified before it is written; nothing is "
        "deleted. Exits 1 while anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", choices=sorted(STORES), default="primary")
        parser.add_argument(
            "--repair-from",
            choices=sorted(STORES),
            help="Restore the checked store's missing or damaged objects from this one.",
        )
        parser.add_argument("--jobs", type=at_least_one, default=4, help="Objects read at once.")

    def handle(self, *args: Any, **options: Any) -> None:
        checked, source = options["store"], options["repair_from"]
        if source == checked:
            other = "primary" if checked == "mirror" else "mirror"
            raise CommandError(
                f"--repair-from {source} would repair the {checked} from itself: use "
                f"--store {checked} --repair-from {other}."
            )
        if "mirror" in (checked, source) and mirror_for(StoredFile.Visibility.PUBLIC) is None:
            raise CommandError("No mirror is configured (MEDIA_MIRROR_* variables).")
        store = STORES[checked]
        items = list(referenced_objects())
        with ThreadPoolExecutor(max_workers=options["jobs"]) as pool:
            problems = [p for p in pool.map(lambda i: _problem(store, i), items) if p]
        for item, problem in problems:
            self.stdout.write(f"{problem:14} {item.visibility:7} {item.key}")
        unreferenced = _unreferenced(store, checked)
        for visibility, key in unreferenced:
            self.stdout.write(f"{'unreferenced':14} {visibility:7} {key}")
        self.stdout.write(
            f"{checked}: {len(items)} object(s) checked, {len(problems)} missing or "
            f"damaged, {len(unreferenced)} no row references."
        )
        if source and problems:
            repaired = sum(self._repair(item, STORES[source], store) for item, _ in problems)
            self.stdout.write(f"{repaired} of {len(problems)} restored from the {source}.")
            if repaired == len(problems) and not unreferenced:
                return
        if problems or unreferenced:
            raise CommandError("the store and the database disagree (see above)")

    def _repair(self, item: Item, source: Any, target: Any) -> bool:
        """Copy ``item`` over what the target holds, once the source's copy is verified
        against the row's SHA-256: a bad (or unverifiable) source copy leaves the target
        as it was."""
        if not item.sha256:
            self.stderr.write(
                f"{item.visibility}/{item.key}: not restored: its row keeps no SHA-256 (a "
                "rendition made before they were kept), so no copy of it can be verified"
            )
            return False
        try:  # copy_object checks the source against the SHA-256 before it writes
            copy_object(
                source(item.visibility),
                target(item.visibility),
                item.key,
                sha256=item.sha256,
                replace=True,
            )
        except (ObjectMissing, CopyMismatch, ObjectExists, StoreError) as exc:
            reason = getattr(exc, "fix", "") or exc
            self.stderr.write(f"{item.visibility}/{item.key}: not restored: {reason}")
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


def _unreferenced(store: Any, name: str) -> list[tuple[str, str]]:
    """Objects in ``store`` that no row references (nor a pending direct upload), once
    older than the orphan sweep's grace; a store that cannot be listed is a CommandError
    naming the setting to change."""
    grace = timedelta(minutes=media_setting("MEDIA_ORPHAN_GRACE_MINUTES"))
    cutoff = datetime.now(tz=UTC) - grace
    found = []
    for visibility in StoredFile.Visibility.values:
        required, optional = referenced_keys(visibility)
        try:
            for info in iter_objects(store(visibility)):
                known = info.key in required or info.key in optional
                if not known and info.modified <= cutoff:
                    found.append((visibility, info.key))
        except STORE_FAILURES as exc:
            what = f"the listing of the {name}'s {visibility} bucket"
            raise CommandError(store_error(exc, what=what, mirror=name == "mirror").fix) from exc
    return found
