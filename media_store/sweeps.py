"""Periodic upkeep run by the background worker, with no cron: every sweep is idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from jobs.tasks import background_task
from media_store.storage import mirror
from media_store.storage.inventory import find_orphans
from media_store.storage.objects import delete_object
from media_store.uploads.direct import forget_expired_uploads

from .conf import media_setting
from .errors import StorageUnavailable
from .models import Rendition, StoredFile
from .tasks import make_renditions_later


@background_task(every=timedelta(minutes=media_setting("MEDIA_UPLOAD_SWEEP_MINUTES")))
def sweep_expired_uploads() -> int:
    """Remove direct uploads that were never finalized before their window closed."""
    return forget_expired_uploads()


@background_task(every=timedelta(hours=media_setting("MEDIA_ORPHAN_SWEEP_HOURS")))
def sweep_orphans() -> int:
    """Delete objects no row references, once older than ``MEDIA_ORPHAN_GRACE_MINUTES``."""
    grace = timedelta(minutes=media_setting("MEDIA_ORPHAN_GRACE_MINUTES"))
    orphans = find_orphans(min_age=grace).orphans
    for visibility, key in orphans:
        if not delete_object(visibility, key):
            raise StorageUnavailable()
    return len(orphans)


@background_task(every=timedelta(hours=1))
def requeue_stuck_renditions() -> int:
    """Queue again the renditions still pending an hour after their upload.

    Their task gave up (the store was down through every retry) or was lost (a
    backend without transactional enqueue); the task skips what is already done.
    """
    cutoff = timezone.now() - timedelta(hours=1)
    stuck = (
        StoredFile.objects.filter(renditions__state=Rendition.State.PENDING, created_at__lt=cutoff)
        .distinct()
        .only("pk")
    )
    for stored in stuck:
        make_renditions_later(stored)
    return len(stuck)


@background_task(every=timedelta(minutes=5))
def sweep_mirror_backlog() -> int:
    """Repeat on the mirror what is still waiting (after an outage longer than the
    retries of its own tasks); nothing to do without a mirror."""
    return mirror.sync_mirror()
