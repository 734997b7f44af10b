from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models

from media_store.storage.config import PRIVATE_ALIAS, PUBLIC_ALIAS


class StoredFile(models.Model):
    """One object in the media store, described well enough that reads never ask the store.

    ``key`` is relative to the storage's location (``media/`` or ``private/`` in
    the bucket). The uploader's file name is kept for display only.
    """

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visibility = models.CharField(max_length=10, choices=Visibility.choices)
    key = models.CharField(max_length=255, unique=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    #: A blurhash the page shows until the image loads, and the image's average colour
    #: (``#rrggbb``); made with the renditions, empty for images without them.
    placeholder = models.CharField(max_length=100, blank=True)
    color = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["visibility", "created_at"])]

    def __str__(self) -> str:
        return self.original_name or self.key

    @property
    def storage(self) -> Storage:
        return storage_for(self.visibility)

    def url(self) -> str:
        """Public URL, or a short-lived signed one for private files (no request to the store)."""
        return self.storage.url(self.key)

    def ready_renditions(self) -> list[Rendition]:
        """Renditions that exist in the store (uses prefetched renditions when there are)."""
        return [r for r in self.renditions.all() if r.state == Rendition.State.READY]


def storage_for(visibility: str) -> Storage:
    alias = PRIVATE_ALIAS if visibility == StoredFile.Visibility.PRIVATE else PUBLIC_ALIAS
    return storages[alias]


class Rendition(models.Model):
    """A variant of a stored image at a given width in one format (AVIF or WebP), made
    in the background after upload.

    The row exists from the upload on (``pending``), so the API can say what is coming;
    ``srcset``s use ``ready`` ones only and fall back to the original.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="renditions")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    key = models.CharField(max_length=255, unique=True)
    content_type = models.CharField(max_length=100, default="image/webp")
    size = models.PositiveBigIntegerField(default=0)
    #: Of the stored bytes, once ready (empty for renditions made before it was kept).
    sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)

    class Meta:
        ordering = ["width", "content_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["file", "width", "content_type"], name="one_rendition_per_width_and_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file} @ {self.width}w {self.content_type} ({self.state})"

    def url(self) -> str:
        return self.file.storage.url(self.key)


class PendingUpload(models.Model):
    """A presigned direct upload the browser may still be sending to the bucket.

    The object lands in the private staging prefix under a key chosen here; it
    becomes a StoredFile only after the finalize step has validated it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=40)
    key = models.CharField(max_length=255, unique=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    max_bytes = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    #: Set while a request finalizes the upload, so two requests cannot both use it.
    claim = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} upload {self.id}"


class MirrorChange(models.Model):
    """A write or delete of the primary store still to be repeated on the mirror.

    Recorded in the transaction that records the write (or the row's deletion), so a
    committed change is never forgotten, and done by the background worker
    (:func:`media_store.storage.mirror.sync_mirror`); what is here is the mirror's
    backlog. A change the mirror refused waits until ``not_before`` to be tried again.
    """

    class Action(models.TextChoices):
        COPY = "copy", "Copy"
        DELETE = "delete", "Delete"

    visibility = models.CharField(max_length=10, choices=StoredFile.Visibility.choices)
    key = models.CharField(max_length=255)
    action = models.CharField(max_length=10, choices=Action.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["not_before"])]

    def __str__(self) -> str:
        return f"{self.action} {self.visibility}/{self.key}"


class CopiedObject(models.Model):
    """``manage.py media_migrate``'s checkpoint: an object copied to ``target`` (a store
    named by endpoint and bucket) and verified there, or being copied (``done`` off)."""

    target = models.CharField(max_length=255)
    visibility = models.CharField(max_length=10, choices=StoredFile.Visibility.choices)
    key = models.CharField(max_length=255)
    done = models.BooleanField(default=False)
    copied_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "visibility", "key"], name="one_checkpoint_per_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.visibility}/{self.key} -> {self.target}"
