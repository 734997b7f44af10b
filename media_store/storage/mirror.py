"""A second store that follows the first: every write and delete repeated there, later.

With ``MEDIA_MIRROR_*`` set, ``build_storages`` defines the mirror's two aliases
(:data:`MIRROR_ALIASES`). Every object we write (originals, renditions, direct uploads
once finalized) and every delete is recorded as a :class:`MirrorChange` in the
transaction that records it, and the background worker repeats it on the mirror
(:func:`sync_mirror`): never in the request, so a mirror outage never fails an upload.
While the mirror is down the changes wait (retried with backoff, and swept every few
minutes); their number is the backlog ``/readyz`` and ``storage_check`` report. Reads
always come from the primary. Switching stores is swapping the primary and mirror
settings: the old store then follows the new one, as the way back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from media_store.errors import ObjectExists, StorageMisconfigured
from media_store.models import MirrorChange, Rendition, StoredFile, storage_for

from .copying import CopyMismatch, copy_object
from .diagnosis import STORE_FAILURES, store_error
from .objects import ObjectMissing

logger = logging.getLogger(__name__)

MIRROR_ALIASES = {
    StoredFile.Visibility.PUBLIC: "mirror-public",
    StoredFile.Visibility.PRIVATE: "mirror-private",
}
#: How long a change the mirror refused (not an outage: a damaged source, say) waits.
REFUSED_RETRY = timedelta(minutes=30)


def mirror_for(visibility: str) -> Storage | None:
    """The mirror's storage for ``visibility``, or None when no mirror is configured."""
    alias = MIRROR_ALIASES[visibility]
    return storages[alias] if alias in settings.STORAGES else None


def record(visibility: str, keys: Iterable[str], action: str) -> None:
    """Note writes (``copy``) or deletes to repeat on the mirror, in the caller's
    transaction, and have the worker do them once it commits."""
    if mirror_for(visibility) is None:
        return
    MirrorChange.objects.bulk_create(
        MirrorChange(visibility=visibility, key=key, action=action) for key in keys
    )
    from media_store.tasks import sync_mirror_later

    sync_mirror_later()


#: A backlog whose oldest change waits longer than this is worth a warning.
STALE_BACKLOG = timedelta(minutes=15)


def backlog() -> tuple[bool, str]:
    """Whether the mirror keeps up, and the backlog in words (for /readyz, storage_check)."""
    if mirror_for(StoredFile.Visibility.PUBLIC) is None:
        return True, "no mirror configured"
    waiting = MirrorChange.objects.count()
    if not waiting:
        return True, "in sync (0 changes waiting)"
    oldest = MirrorChange.objects.order_by("created_at").values_list("created_at", flat=True)[0]
    age = timezone.now() - oldest
    refused = MirrorChange.objects.exclude(last_error="")
    refused_count = refused.count()
    detail = f"{waiting} change(s) waiting, the oldest for {int(age.total_seconds())} s"
    if refused_count:
        last = refused.order_by("-id").values_list("last_error", flat=True)[0]
        detail += f"; {refused_count} refused, the last: {last}"
    return age < STALE_BACKLOG and not refused_count, detail


def sync_mirror(limit: int | None = None) -> int:
    """Repeat waiting changes on the mirror, oldest first; returns how many were done.

    Each change is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``, so workers share
    the backlog. An outage of either store stops the run (a ``StoreError``: the
    task retries later); a change the mirror cannot take now waits ``REFUSED_RETRY``
    and is reported.
    """
    done = 0
    while limit is None or done < limit:
        with transaction.atomic():
            change = (
                MirrorChange.objects.select_for_update(skip_locked=True)
                .exclude(not_before__gt=timezone.now())
                .order_by("id")
                .first()
            )
            if change is None:
                return done
            try:
                _apply(change)
            except (CopyMismatch, ObjectExists, StorageMisconfigured) as exc:
                # Refused for good (a damaged source, other bytes on the mirror, a wrong
                # bucket or key): it waits, and the others go on.
                reason = getattr(exc, "fix", "") or str(exc)
                logger.error("the mirror could not take %s: %s", change, reason)
                change.attempts += 1
                change.not_before = timezone.now() + REFUSED_RETRY
                change.last_error = reason[:2000]
                change.save(update_fields=["attempts", "not_before", "last_error"])
                continue
            change.delete()
            done += 1
    return done


def _apply(change: MirrorChange) -> None:
    mirror = mirror_for(change.visibility)
    if mirror is None:  # the mirror was switched off: nothing to follow
        return
    if change.action == MirrorChange.Action.DELETE:
        if expected_sha256(change.key) is not None:  # a row references it again (or still)
            logger.warning("%s is referenced again; its mirror copy stays", change.key)
            return
        _delete(mirror, change.key)
        return
    try:
        copy_object(
            storage_for(change.visibility),
            mirror,
            change.key,
            sha256=expected_sha256(change.key) or "",
        )
    except ObjectMissing:  # deleted meanwhile: its delete is (or was) in the backlog too
        logger.info("%s is gone from the primary; nothing to mirror", change.key)
        return
    if expected_sha256(change.key) is None:
        # Its row went while we copied, and its delete may have run on the mirror
        # already (another worker took it): delete the copy we just made.
        _delete(mirror, change.key)


def _delete(mirror: Storage, key: str) -> None:
    try:
        mirror.delete(key)
    except STORE_FAILURES as exc:
        raise store_error(exc, what=f"the delete of {key} on the mirror", mirror=True) from exc


def expected_sha256(key: str) -> str | None:
    """The SHA-256 a row holds for ``key``: empty when its row does not say, None when no
    row references the key."""
    for model in (StoredFile, Rendition):
        found = model.objects.filter(key=key).values_list("sha256", flat=True).first()
        if found is not None:
            return found
    return None
