from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from media_store.errors import (
    ObjectExists,
    StorageMisconfigured,
    StorageUnavailable,
    StoreError,
)
from media_store.management.arguments import at_least_one, rate
from media_store.models import CopiedObject, StoredFile, storage_for
from media_store.storage.copying import CopyMismatch, copy_object, object_sha256
from media_store.storage.diagnosis import STORE_FAILURES
from media_store.storage.inventory import Item, referenced_objects
from media_store.storage.mirror import expected_sha256, mirror_for
from media_store.storage.objects import ObjectMissing
from media_store.storage.s3 import is_s3


def store_label(storage: Any) -> str:
    return f"{storage.endpoint_url or 'aws'}/{storage.bucket_name}"


class RateLimit:
    """At most ``per_second`` starts per second, across threads (0: no limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second if per_second else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        time.sleep(max(0.0, start - now))


#: What a copy can end in ("gone": its row was deleted meanwhile), besides "not started"
#: (the run was stopping).
OUTCOMES = ("copied", "already there", "failed", "gone")


class Halt:
    """Whether the run should stop: at the first refusal no retry fixes (a wrong key or
    bucket: every object would fail the same way, after its download), or after
    ``OUTAGE_LIMIT`` outages in a row (the store is down: run again later)."""

    OUTAGE_LIMIT = 5

    def __init__(self) -> None:
        self.reason = ""
        self.outages = 0
        self.lock = threading.Lock()

    def after(self, exc: BaseException | None) -> None:
        with self.lock:
            if isinstance(exc, StorageMisconfigured):
                self.reason = self.reason or exc.fix
            elif isinstance(exc, StorageUnavailable):
                self.outages += 1
                if self.outages >= self.OUTAGE_LIMIT and not self.reason:
                    self.reason = f"{self.outages} store failures in a row; the last: {exc.fix}"
            else:
                self.outages = 0


class Command(BaseCommand):
    help = (
        "Copy every object the database references (public and private, every rendition) "
        "from the primary store to the mirror (MEDIA_MIRROR_*), streamed, a few at a time, "
        "each verified against the SHA-256 its row holds. Resumable: a checkpoint in the "
        "database records what is done, so a second run (after a crash, or kill -9) copies "
        "only what is missing. The store copies by itself when both are on one store. "
        "Database work stays in the main thread; the threads only talk to the stores."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what to copy.")
        parser.add_argument(
            "--jobs", type=at_least_one, default=4, help="Copies at once (default 4)."
        )
        parser.add_argument(
            "--max-rate", type=rate, default=0, help="Objects started per second (0: no limit)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_s3(storage_for(StoredFile.Visibility.PUBLIC)):
            raise CommandError(
                "USE_S3 is off: there is no primary store to copy from (and the "
                "MEDIA_MIRROR_* variables are ignored)."
            )
        if mirror_for(StoredFile.Visibility.PUBLIC) is None:
            raise CommandError(
                "No mirror is configured: set MEDIA_MIRROR_BUCKET_NAME and the other "
                "MEDIA_MIRROR_* variables (KOYEB_S3_SETUP.md, moving stores)."
            )
        target = {v: store_label(mirror_for(v)) for v in StoredFile.Visibility.values}
        done = {
            (visibility, key)
            for visibility, key in CopiedObject.objects.filter(
                done=True, target__in=target.values()
            ).values_list("visibility", "key")
        }
        started = {
            (visibility, key)
            for visibility, key in CopiedObject.objects.filter(
                done=False, target__in=target.values()
            ).values_list("visibility", "key")
        }
        todo = [item for item in referenced_objects() if (item.visibility, item.key) not in done]
        self.stdout.write(
            f"{len(todo)} object(s) to copy, {len(done)} already copied (checkpoint)."
        )
        if options["dry_run"] or not todo:
            return
        counts = {outcome: 0 for outcome in (*OUTCOMES, "not started")} | {"bytes": 0}
        limit = RateLimit(options["max_rate"])
        self.halt = Halt()
        # Rich draws the bar (rate and time left) on a terminal, and plain lines elsewhere.
        console = Console(file=getattr(self.stderr, "_out", self.stderr), width=100)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:.1f} objects/s"),
            TimeRemainingColumn(),
        )
        started_at = time.monotonic()
        with (
            Progress(*columns, console=console, refresh_per_second=2) as progress,
            ThreadPoolExecutor(max_workers=options["jobs"]) as pool,
        ):
            bar = progress.add_task("copying", total=len(todo), rate=0.0)
            pending: dict[Future, CopiedObject] = {}  # each copy, and its checkpoint
            for item in todo:
                if self.halt.reason:
                    break
                limit.wait()
                checkpoint = self._checkpoint(item, target[item.visibility])
                resume = (item.visibility, item.key) in started
                pending[pool.submit(self._copy, item, resume)] = checkpoint
                if len(pending) >= 2 * options["jobs"]:  # bounded: never all queued at once
                    pending = self._collect(pending, counts, progress, bar, started_at)
            while pending:
                pending = self._collect(pending, counts, progress, bar, started_at)
        self.stdout.write(
            f"{counts['copied']} copied ({counts['bytes']:,} bytes), {counts['already there']} "
            f"already there (verified), {counts['failed']} failed"
            + (f", {counts['gone']} deleted meanwhile." if counts["gone"] else ".")
        )
        if self.halt.reason:
            raise CommandError(
                f"stopped early, {len(todo) - sum(counts[k] for k in OUTCOMES)} object(s) "
                f"not tried: {self.halt.reason}. What was copied is kept; run again once "
                "it is fixed."
            )
        if counts["failed"]:
            raise CommandError("some objects were not copied (see above); run again to retry")

    def _collect(
        self,
        pending: dict[Future, CopiedObject],
        counts: dict,
        progress: Progress,
        bar: Any,
        started: float,
    ) -> dict[Future, CopiedObject]:
        """Wait for a copy to end; check it off (here, in the main thread) when it worked."""
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            checkpoint = pending.pop(future)
            outcome, size = future.result()
            if expected_sha256(checkpoint.key) is None:
                # Its row was deleted while the run went on: nothing to keep on the mirror
                # (its delete there may have run before our copy ended).
                outcome, size = "gone", 0
                checkpoint.delete()
                self._remove_from_mirror(checkpoint)
            elif outcome == "missing":
                self.stderr.write(f"{checkpoint.visibility}/{checkpoint.key}: {MISSING}")
                outcome = "failed"
            if outcome in ("copied", "already there"):
                checkpoint.done = True
                checkpoint.save(update_fields=["done", "copied_at"])
            counts[outcome] += 1
            counts["bytes"] += size if outcome == "copied" else 0
            done = sum(counts[k] for k in (*OUTCOMES, "not started"))
            progress.update(bar, advance=1, rate=done / max(time.monotonic() - started, 1e-6))
        return pending

    def _copy(self, item: Item, resume: bool) -> tuple[str, int]:
        """Copy one object, verified (in a worker thread: store requests only); never raises."""
        if self.halt.reason:
            return "not started", 0
        source, mirror = storage_for(item.visibility), mirror_for(item.visibility)
        try:
            if resume and self._already_there(mirror, item):
                return "already there", 0
            copied = copy_object(source, mirror, item.key, sha256=item.sha256)
        except ObjectMissing:  # its row may have gone meanwhile: _collect tells
            self.halt.after(None)
            return "missing", 0
        except (CopyMismatch, ObjectExists, StoreError) as exc:
            self.halt.after(exc)
            self.stderr.write(f"{item.visibility}/{item.key}: {_reason(exc)}")
            return "failed", 0
        self.halt.after(None)
        return ("already there" if copied.already_there else "copied"), copied.size

    def _remove_from_mirror(self, checkpoint: CopiedObject) -> None:
        try:
            mirror_for(checkpoint.visibility).delete(checkpoint.key)
        except STORE_FAILURES as exc:  # an orphan there; media_verify --store mirror lists it
            self.stderr.write(f"{checkpoint.visibility}/{checkpoint.key}: not removed: {exc}")

    @staticmethod
    def _checkpoint(item: Item, target: str) -> CopiedObject:
        """Note the copy as under way before it starts (a run killed now resumes it)."""
        try:
            checkpoint, _ = CopiedObject.objects.get_or_create(
                target=target, visibility=item.visibility, key=item.key
            )
        except IntegrityError:  # another run took it first
            checkpoint = CopiedObject.objects.get(
                target=target, visibility=item.visibility, key=item.key
            )
        return checkpoint

    @staticmethod
    def _already_there(mirror: Any, item: Item) -> bool:
        """A copy under way when the last run stopped: is it on the mirror, whole?"""
        try:
            digest, _ = object_sha256(mirror, item.key)
        except (ObjectMissing, StoreError):  # not there (or unreadable): copy it again
            return False
        return not item.sha256 or digest == item.sha256


MISSING = "missing from the primary store (manage.py media_verify)"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StoreError):
        return exc.fix or str(exc)
    if isinstance(exc, ObjectExists):
        return "the mirror holds other bytes under this key; left alone"
    return str(exc)
