"""Errors raised while accepting or storing media, each with the HTTP status it deserves.

They carry a message a person can act on; :mod:`media_store.web.exceptions` turns
them into JSON responses, and plain Django code can use ``status_code`` the same way.
"""

from __future__ import annotations


class MediaError(Exception):
    status_code = 400
    code = "invalid_media"
    default_message = "The file could not be accepted."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.field = field


class InvalidImage(MediaError):
    """Not a usable image: empty, truncated, corrupt, too many pixels."""

    code = "invalid_image"


class EmptyFile(InvalidImage):
    default_message = "The file is empty (0 bytes). Choose an image file and try again."


class UnknownUpload(MediaError):
    """A direct upload id that is not the caller's, has expired, was used, or never arrived."""

    code = "unknown_upload"


class UnknownPurpose(MediaError):
    """An upload purpose nobody registered."""

    code = "unknown_purpose"


class UnsupportedMediaType(MediaError):
    """The bytes are of a type we do not accept (SVG, HTML, PDF, ...)."""

    status_code = 415
    code = "unsupported_media_type"


class UploadTooLarge(MediaError):
    status_code = 413
    code = "upload_too_large"


class StorageUnavailable(MediaError):
    """The object store could not be reached or refused us; nothing was recorded.

    ``may_have_landed``: a write reached the store but got no answer, so the object
    may still appear (its key is then deleted later; see ``UploadStage.put``).
    ``timed_out``: the store did not answer in time (see :mod:`media_store.breaker`).
    """

    status_code = 503
    code = "storage_unavailable"
    may_have_landed = False
    timed_out = False
    default_message = (
        "The file store is unavailable right now, so nothing was saved. Try again in a minute."
    )


class DirectUploadsUnavailable(MediaError):
    """Direct-to-bucket uploads need S3; local disk mode takes uploads through the API."""

    status_code = 409
    code = "direct_uploads_unavailable"


class UploadNotAllowed(MediaError):
    status_code = 403
    code = "upload_not_allowed"


class TooManyFiles(MediaError):
    code = "too_many_files"
