from django.conf import settings
from django.db import models

from media_store.models import StoredFile


class Attachment(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file = models.OneToOneField(StoredFile, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return str(self.file)
