"""Django form glue: uploads made through forms and the admin get the API's checks, once."""

from __future__ import annotations

from typing import Any

from django import forms

from media_store.errors import MediaError
from media_store.imaging.formats import ACCEPTED_DESCRIPTION, accept_attribute
from media_store.imaging.prepare import PreparedImage
from media_store.uploads.intake import prepare_for
from media_store.uploads.purposes import get_purpose


class ImageUploadField(forms.FileField):
    """A file field that validates an image by the rules of ``purpose``.

    Its cleaned value is the :class:`PreparedImage` (validated, metadata removed),
    which :func:`media_store.uploads.intake.accept_images` stores without checking again.
    """

    def __init__(self, *, purpose: str, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", f"{ACCEPTED_DESCRIPTION}.")
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": accept_attribute()}))
        super().__init__(**kwargs)
        self.purpose = purpose

    def clean(self, data: object, initial: object = None) -> PreparedImage | None:
        upload = super().clean(data, initial)
        if not upload or upload is initial:
            return None
        try:
            return prepare_for(get_purpose(self.purpose), upload)
        except MediaError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
