"""Errors a request can be answered with, and those raised while accepting or storing media.

:class:`ServiceError` is the one shape every app's rules raise (this app's media
errors, and the project's own, such as the shop's): an HTTP status, a machine-readable
``code``, a message a person can act on, the input ``field`` it is about, and, for
errors a retry resolves, ``Retry-After`` seconds. The project's API exception handler
answers all of them the same way (``{"detail", "code", "field"}``); plain Django code
can use ``status_code`` likewise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds an outage's 503 asks the client to wait before retrying.
OUTAGE_RETRY_AFTER = 30


class ServiceError(Exception):
    status_code = 400
    code = "invalid"
    default_message = "The request could not be processed."
    #: Seconds to send as ``Retry-After``, for errors a retry will resolve.
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.field = field


class MediaError(ServiceError):
    code = "invalid_media"
    default_message = "The file could not be accepted."


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


class StoreError(MediaError):
    """The store, not what was sent, is the problem: nothing was saved, and what the user
    sent (a direct upload, say) is kept for another try."""

    #: For operators (management commands print it): what failed, the store's answer and
    #: the setting to change. Users get the message, never this.
    fix = ""


class StorageUnavailable(StoreError):
    """The object store could not be reached or failed to answer; nothing was recorded.

    ``may_have_landed``: a write reached the store but got no answer, so the object
    may still appear, or a multipart write failed and may have left its parts (the
    key is then cleaned up later; see ``UploadStage.put``).
    ``timed_out``: the store did not answer in time (see :mod:`media_store.storage.breaker`).
    """

    status_code = 503
    code = "storage_unavailable"
    retry_after = OUTAGE_RETRY_AFTER
    may_have_landed = False
    timed_out = False
    default_message = (
        "The file store is unavailable right now, so nothing was saved. Try again in a minute."
    )


class StorageMisconfigured(StoreError):
    """The store refused the request for good (a header it does not implement, a wrong key
    or region): no retry helps until a setting changes, which the server log names
    (:mod:`media_store.storage.diagnosis`)."""

    status_code = 500
    code = "storage_misconfigured"
    default_message = (
        "The file store refused this request because of how the site is set up, so nothing "
        "was saved. Retrying will not help until that is fixed; the site's operators have "
        "the details."
    )


class DirectUploadsUnavailable(MediaError):
    """Direct-to-bucket uploads need S3; local disk mode takes uploads through the API."""

    status_code = 409
    code = "direct_uploads_unavailable"


class ObjectExists(FileExistsError):
    """The store already holds an object under this key (keys are random: a bug, or a
    retried write of our own)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"An object named {key!r} already exists.")


class UploadNotAllowed(MediaError):
    status_code = 403
    code = "upload_not_allowed"


class TooManyFiles(MediaError):
    code = "too_many_files"


@contextmanager
def naming_the_file(name: str) -> Iterator[None]:
    """A refusal of a file's content starts with the file's name: one request may send
    several, and the person needs to know which one to replace. Store errors are
    about the store, not the file, and pass unchanged."""
    try:
        yield
    except StoreError:
        raise
    except MediaError as exc:
        if name and not exc.message.startswith(f"{name}: "):
            exc.message = f"{name}: {exc.message}"
            exc.args = (exc.message,)
        raise
