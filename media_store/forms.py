"""Django form glue: the same content checks for uploads made through forms and the admin."""

from __future__ import annotations

from django import forms

from .conf import upload_limits
from .errors import MediaError
from .images import prepare_image


class ImageUploadField(forms.FileField):
    """A file field that accepts only what the API would accept, with the same messages."""

    def clean(self, data: object, initial: object = None) -> object:
        upload = super().clean(data, initial)
        if upload and upload is not initial:
            try:
                prepare_image(upload, limits=upload_limits())
            except MediaError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
            upload.seek(0)
        return upload
