"""Object deletion follows row deletion, but only once the transaction has committed.

The delete is a queued task (written in the same transaction with the default
backend), retried while the store is down: nothing is lost if the transaction rolls
back, and nothing is orphaned if the store is unreachable at that moment.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import MirrorChange, Rendition, StoredFile
from .storage import mirror
from .tasks import delete_objects_later


@receiver(post_delete, sender=StoredFile)
def _delete_object_after_commit(sender: type, instance: StoredFile, **_: Any) -> None:
    delete_objects_later(instance.visibility, [instance.key])
    mirror.record(instance.visibility, [instance.key], MirrorChange.Action.DELETE)


@receiver(post_delete, sender=Rendition)
def _delete_rendition_after_commit(sender: type, instance: Rendition, **_: Any) -> None:
    delete_objects_later(instance.file.visibility, [instance.key])
    mirror.record(instance.file.visibility, [instance.key], MirrorChange.Action.DELETE)


def delete_stored_files_with(model: type[models.Model], *field_names: str) -> None:
    """When a ``model`` row is deleted, delete the StoredFile rows its fields point at.

    For one-to-one/foreign keys *to* StoredFile, whose deletion would otherwise
    leave the file behind.
    """

    def _cascade(sender: type, instance: models.Model, **_: Any) -> None:
        ids = [getattr(instance, f"{name}_id") for name in field_names]
        StoredFile.objects.filter(pk__in=[pk for pk in ids if pk]).delete()

    post_delete.connect(
        _cascade, sender=model, weak=False, dispatch_uid=f"media:{model._meta.label}"
    )
