"""Storage backends: S3 that never overwrites, and a local private store with signed URLs."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from typing import Any
from urllib.parse import quote

import boto3.session
import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from .conf import media_setting
from .s3 import s3_error_code

_IF_NONE_MATCH_OPERATIONS = ("PutObject", "CompleteMultipartUpload")


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


def _refuse_overwrite(params: dict[str, Any], **_: Any) -> None:
    params.setdefault("IfNoneMatch", "*")


class NoOverwriteS3Storage(S3Storage):
    """S3 storage with ``file_overwrite=False`` semantics and no HEAD per save.

    django-storages implements ``file_overwrite=False`` by sending a HEAD request
    for every save and inventing a new name on a hit. Our keys are random UUIDs
    chosen by the server, so a clash can only be a bug; instead of asking first,
    each write carries ``If-None-Match: *`` and the bucket itself refuses to
    replace an existing object (412), which we raise as ``FileExistsError``.
    ``conditional_writes=False`` turns the header off for stores that reject it.

    Each single PUT also carries the SHA-256 of its body (``checksums``, see
    :meth:`_put_object`); ``checksums=False`` leaves it out.
    """

    conditional_writes = True
    checksums = True

    def get_default_settings(self) -> dict[str, Any]:
        defaults = super().get_default_settings()
        defaults["conditional_writes"] = True
        defaults["checksums"] = True
        return defaults

    @property
    def connection(self) -> Any:
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            connection = super().connection
            if self.conditional_writes and not self.file_overwrite:
                events = connection.meta.client.meta.events
                for operation in _IF_NONE_MATCH_OPERATIONS:
                    events.register(f"before-parameter-build.s3.{operation}", _refuse_overwrite)
        return connection

    def _create_session(self) -> boto3.session.Session:
        if self.session_profile:
            return super()._create_session()
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        return boto3.session.Session(
            botocore_session=core,
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
        try:
            if self._single_put(content):
                return self._put_object(name, content)
            return super()._save(name, content)
        except ClientError as err:
            if s3_error_code(err) == "PreconditionFailed":
                raise FileExistsError(f"An object named {name!r} already exists.") from err
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

        The request carries the body's SHA-256 (``x-amz-checksum-sha256``): the one
        computed when the bytes were made and validated (``content.sha256``, hex),
        else one computed here. S3 refuses the write if what arrived differs. Over
        TLS the client config then skips payload signing, which would hash the whole
        body again (see ``media_store.storage_config``).
        """
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        if self.checksums:
            params["ChecksumSHA256"] = _base64_sha256(content)
        content.seek(0)
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name, Key=key, Body=content, **params
        )
        return cleaned


def _base64_sha256(content: Any) -> str:
    digest = getattr(content, "sha256", None)
    if digest is None:
        hasher = hashlib.sha256()
        for chunk in content.chunks():
            hasher.update(chunk)
        digest = hasher.hexdigest()
    return base64.b64encode(bytes.fromhex(digest)).decode()


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
    exposes them; :func:`media_store.views.private_file` checks the signature.
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
