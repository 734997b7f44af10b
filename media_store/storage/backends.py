"""Storage backends: S3 that never overwrites, and a local private store with signed URLs."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import boto3.session
import botocore.loaders
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from media_store.conf import media_setting
from media_store.errors import ObjectExists

from .payload_hash import hash_bodies_once, md5_where_checksums_are_required
from .s3 import base64_digest, s3_error_code

#: Operations whose success creates an object: each carries ``If-None-Match: *``, and
#: each may leave an object behind when its answer is lost.
_WRITE_OPERATIONS = ("PutObject", "CompleteMultipartUpload")


class _SearchPaths(list):
    """A loader's search paths; boto3 appends its data directory for every session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


#: One botocore data loader per process. django-storages makes a boto3 session per
#: thread, and each session would load and keep its own copy of the S3 service model
#: and endpoint rules (about 14 MB, so over 100 MB for gunicorn's 2 workers x 4
#: threads); the loader only reads those files and caches what it read.
_LOADER = botocore.loaders.Loader(extra_search_paths=_SearchPaths())


def load_store_models() -> None:
    """Parse the S3 model files into the process's shared loader now.

    Called by a server that imports the app once and then forks its workers (gunicorn
    ``--preload``, ``config/wsgi.py``): the workers then share those parsed models
    (about 10 MB) instead of each parsing its own copy at its first upload. Making a
    resource reads what django-storages' will; unsigned and without an endpoint, so no
    credentials are looked up and nothing is sent, and nothing of it is kept but the
    loader's cache.
    """
    session = boto3.session.Session(botocore_session=_botocore_session())
    session.resource("s3", region_name="us-east-1", config=Config(signature_version=UNSIGNED))


def _botocore_session() -> botocore.session.Session:
    """A botocore session that reads its model files through the process's one loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return core


#: Set (in this thread or task) by :func:`overwriting`.
_overwriting: ContextVar[bool] = ContextVar("overwriting", default=False)


@contextmanager
def overwriting() -> Iterator[None]:
    """Writes in this block may replace an object: only a repair, with bytes it verified."""
    token = _overwriting.set(True)
    try:
        yield
    finally:
        _overwriting.reset(token)


def _refuse_overwrite(params: dict[str, Any], **_: Any) -> None:
    if not _overwriting.get():
        params.setdefault("IfNoneMatch", "*")


#: Per thread: whether an attempt of the write in progress may have reached the store.
_write_attempts = threading.local()


def _note_attempt(
    caught_exception: Exception | None = None, response: Any = None, **_: Any
) -> None:
    """After each attempt (botocore retries inside one call): could it have landed?

    Only a connection that was never made sends nothing; a definite 4xx answer
    refused the write. Anything else (a timeout or a dropped connection after the
    request went out, a 5xx) may have been completed by the store.
    """
    if isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError)):
        return
    if caught_exception is None and response is not None and response[0].status_code < 500:
        return
    _write_attempts.reached = True


class NoOverwriteS3Storage(S3Storage):
    """S3 storage with ``file_overwrite=False`` semantics and no HEAD per save.

    django-storages implements ``file_overwrite=False`` by sending a HEAD request
    for every save and inventing a new name on a hit. Our keys are random UUIDs
    chosen by the server, so a clash can only be a bug; instead of asking first,
    each write carries ``If-None-Match: *`` and the bucket itself refuses to
    replace an existing object (412), which we raise as ``FileExistsError``.
    ``conditional_writes=False`` turns the header off for stores that reject it.

    Each single PUT also carries the SHA-256 of its body, checked by the store
    (:meth:`_put_object`). ``provider`` and ``direct_upload`` say which store this
    is and how browsers upload to it (:mod:`media_store.storage.providers`).
    """

    #: Our options, beside django-storages' own (``build_storages`` sets them all).
    OPTIONS = {
        "provider": "generic",
        #: "primary", or "mirror" (:mod:`media_store.storage.mirror`).
        "role": "primary",
        "conditional_writes": True,
        "checksums": True,
        "direct_upload": "put",
    }

    def get_default_settings(self) -> dict[str, Any]:
        return {**super().get_default_settings(), **self.OPTIONS}

    @property
    def connection(self) -> Any:
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            connection = super().connection
            events = connection.meta.client.meta.events
            if self.conditional_writes and not self.file_overwrite:
                for operation in _WRITE_OPERATIONS:
                    events.register(f"before-parameter-build.s3.{operation}", _refuse_overwrite)
            hash_bodies_once(events)
            if not self.checksums:
                md5_where_checksums_are_required(events)
            for operation in _WRITE_OPERATIONS:
                events.register(f"needs-retry.s3.{operation}", _note_attempt)
        return connection

    def _create_session(self) -> boto3.session.Session:
        if self.session_profile:
            return super()._create_session()
        return boto3.session.Session(
            botocore_session=_botocore_session(),
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.security_token,
        )

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = clean_name(name)
        if max_length is not None and len(name) > max_length:
            raise ValueError(f"Storage key {name!r} is longer than {max_length} characters.")
        return name

    def _save(self, name: str, content: Any) -> str:
        """Write ``content``; a failure says whether the object may exist anyway.

        Every exception raised carries ``may_have_landed``: True when an attempt may
        have reached the store (its answer lost), or when a multipart write failed
        (its parts may be in the store, unfinished, even if s3transfer could not abort
        it), so the caller can have the key cleaned up later. When botocore's retry of
        a write is refused because the key now exists, the object is the one our lost
        attempt wrote (keys are random and ours): the write succeeded.
        """
        _write_attempts.reached = False
        single = self._single_put(content)
        try:
            if single:
                return self._put_object(name, content)
            return super()._save(name, content)
        except Exception as exc:
            exc.may_have_landed = _write_attempts.reached or not single
            if isinstance(exc, ClientError) and s3_error_code(exc) == "PreconditionFailed":
                if exc.may_have_landed and _retried(exc):
                    return clean_name(name)
                raise ObjectExists(name) from exc
            raise

    def _single_put(self, content: Any) -> bool:
        size = getattr(content, "size", None)
        threshold = self.transfer_config.multipart_threshold if self.transfer_config else 0
        return size is not None and size < threshold and not self.gzip

    def _put_object(self, name: str, content: Any) -> str:
        """One ``PutObject`` for a body below the multipart threshold.

        django-storages hands every save to s3transfer, which builds a transfer
        manager, futures and progress wrappers per call: about 3 ms per upload
        (bench/bench_upload.py) for what is a single request anyway.

        The request carries the body's SHA-256: the one computed when the bytes were
        made and validated (``content.sha256``, hex), else one computed here. It is
        sent as ``x-amz-checksum-sha256`` with ``checksums``, and signs the payload
        either way, so the store refuses the write if what arrived differs and the
        body is never hashed twice (:mod:`media_store.storage.payload_hash`).
        """
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        digest = _content_sha256(content)
        params["Metadata"] = {**params.get("Metadata", {}), "sha256": digest}
        if self.checksums:
            params["ChecksumSHA256"] = base64_digest(digest)
        content.seek(0)
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name, Key=key, Body=content, **params
        )
        return cleaned


def _retried(err: ClientError) -> bool:
    return err.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0


def _content_sha256(content: Any) -> str:
    digest = getattr(content, "sha256", None)
    if digest is None:
        content.seek(0)
        digest = hashlib.file_digest(content, "sha256").hexdigest()
    return digest


class PublicS3Storage(NoOverwriteS3Storage):
    """Public media: plain (unsigned) URLs; keys never change, so caches keep them forever.

    ``url()`` asks botocore once for the bucket's base URL and then only appends
    keys: botocore's unsigned URL builder costs about 70 µs per call, which made a
    100-product page (400 URLs with renditions) markedly slower than local disk.
    """

    querystring_auth = False
    object_parameters = {
        "CacheControl": "public, max-age=31536000, immutable",
        "ContentDisposition": "inline",
    }
    _PROBE = "url-base-probe"

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        if parameters or http_method or self.custom_domain:
            return super().url(name, parameters, expire, http_method)
        base = self.__dict__.get("_url_base")
        if base is None:
            probe = super().url(self._PROBE)
            base = self.__dict__["_url_base"] = probe[
                : -len(quote(self._normalize_name(self._PROBE)))
            ]
        return base + quote(self._normalize_name(clean_name(name)), safe="/~")


class PrivateS3Storage(NoOverwriteS3Storage):
    """Private media: readable only through short-lived signed URLs, never cached.

    ``custom_domain`` stays unset: a CDN domain would serve unsigned URLs.
    ``attachment`` keeps a browser from rendering the object as a page on the
    bucket's origin if a signed URL is opened directly.
    """

    querystring_auth = True
    custom_domain = None
    object_parameters = {
        "CacheControl": "private, no-store",
        "ContentDisposition": "attachment",
    }


PRIVATE_URL_SALT = "media_store.private-file"


class SignedFileSystemStorage(FileSystemStorage):
    """Local private files (development only), reachable only through signed, expiring URLs.

    The files live outside ``MEDIA_ROOT`` so the development media server never
    exposes them; :func:`media_store.web.views.private_file` checks the signature.
    """

    def url(self, name: str | None) -> str:
        token = signing.dumps(name, salt=PRIVATE_URL_SALT, compress=True)
        return reverse("media_store:private-file", args=[token])

    @staticmethod
    def name_from_token(token: str) -> str:
        """Return the file name a token was issued for; raises ``signing.BadSignature``."""
        max_age = media_setting("MEDIA_SIGNED_URL_EXPIRE")
        return signing.loads(token, salt=PRIVATE_URL_SALT, max_age=max_age)

    @staticmethod
    def content_type_for(name: str) -> str:
        return mimetypes.guess_type(name)[0] or "application/octet-stream"
