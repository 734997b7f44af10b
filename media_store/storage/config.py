"""Build Django's ``STORAGES`` setting for local disk or an S3-compatible bucket.

Three aliases are always defined:

* ``default``     public media (product images), key prefix ``media/``;
* ``private``     private uploads (order images), key prefix ``private/``, served only
  through short-lived signed URLs;
* ``staticfiles`` collected static files, key prefix ``static/`` on S3, or whitenoise.

Settings call :func:`build_storages` once; tests call it again to point the same
configuration at a fresh bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from media_store.conf import DEFAULTS

from .providers import POST, PUT, Provider, default_region, detect, get_provider

PUBLIC_ALIAS = "default"
PRIVATE_ALIAS = "private"

PUBLIC_LOCATION = "media"
PRIVATE_LOCATION = "private"
STATIC_LOCATION = "static"


@dataclass(frozen=True)
class S3Settings:
    """Connection facts for one bucket; every value comes from the environment.

    ``None`` means "what the store does": the provider profile
    (:mod:`media_store.storage.providers`, named by ``provider`` or found from the
    endpoint's host) decides it; :meth:`resolved` fills those in.
    """

    bucket_name: str
    #: Optional separate bucket for private files, for stores that can only make a
    #: whole bucket public (Cloudflare R2, Backblaze B2).
    private_bucket_name: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    #: ``aws``, ``r2``, ``b2``, ``spaces``, ``minio``, ``ceph`` or ``generic``.
    provider: str | None = None
    region_name: str | None = None
    endpoint_url: str | None = None
    custom_domain: str | None = None
    addressing_style: str | None = None
    # A hanging store fails an upload after about max_attempts x read_timeout seconds
    # (22 s at these defaults, with botocore's 1 s wait for "100 Continue" per attempt):
    # under common router timeouts (30 s) and gunicorn's (60 s), so the client gets
    # our 503 and the thread is freed.
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 2
    signed_url_expire: int = DEFAULTS["MEDIA_SIGNED_URL_EXPIRE"]
    #: Send ``If-None-Match: *`` so the bucket refuses to replace an object.
    conditional_writes: bool | None = None
    #: Send each single PUT's SHA-256 as ``x-amz-checksum-sha256`` (and, over HTTPS,
    #: leave the payload unsigned); otherwise the same SHA-256 signs the payload.
    checksums: bool | None = None
    #: How browsers upload straight to the bucket: ``post`` (a POST policy) or ``put``.
    direct_upload: str | None = None
    # Large objects go up in 5 MB parts (S3's minimum), one at a time, with at most
    # ``max_concurrency`` parts read into memory: s3transfer otherwise reads ten
    # parts ahead (50 MB) per upload. See bench/bench_memory.py. Every part but the
    # last has the same size, as R2 requires.
    multipart_threshold: int = 8 * 1024 * 1024
    multipart_chunksize: int = 5 * 1024 * 1024
    max_concurrency: int = 1

    @property
    def profile(self) -> Provider:
        return get_provider(self.provider) if self.provider else detect(self.endpoint_url)

    def resolved(self) -> S3Settings:
        """These settings with what the provider decides filled in where they are unset."""
        profile = self.profile
        direct_upload = (self.direct_upload or profile.direct_upload).lower()
        if direct_upload not in (POST, PUT):
            raise ValueError(f"AWS_S3_DIRECT_UPLOAD must be {POST!r} or {PUT!r}.")
        return replace(
            self,
            provider=profile.name,
            region_name=self.region_name or default_region(profile, self.endpoint_url),
            addressing_style=self.addressing_style or ("path" if self.endpoint_url else "virtual"),
            conditional_writes=_or(self.conditional_writes, profile.conditional_writes),
            checksums=_or(self.checksums, profile.checksum_header),
            direct_upload=direct_upload,
        )


def _or(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _client_config(s3: S3Settings) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=s3.connect_timeout,
        read_timeout=s3.read_timeout,
        # botocore's "max_attempts" counts retries; "total_max_attempts" counts attempts.
        retries={"total_max_attempts": s3.max_attempts, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": s3.addressing_style},
        # Newer boto3 adds CRC checksums to every upload by default; many
        # S3-compatible stores (R2, B2, older Ceph/MinIO) reject or mishandle them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _transfer_config(s3: S3Settings) -> Any:
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=s3.multipart_threshold,
        multipart_chunksize=s3.multipart_chunksize,
        max_concurrency=s3.max_concurrency,
        use_threads=s3.max_concurrency > 1,
    )
    # An s3transfer option boto3's constructor does not expose.
    config.max_in_memory_upload_chunks = s3.max_concurrency
    return config


def s3_options(s3: S3Settings, *, location: str, bucket_name: str | None = None) -> dict[str, Any]:
    """OPTIONS shared by every S3 alias of one bucket."""
    options: dict[str, Any] = {
        "bucket_name": bucket_name or s3.bucket_name,
        "location": location,
        "region_name": s3.region_name,
        "endpoint_url": s3.endpoint_url,
        "client_config": _client_config(s3),
        "transfer_config": _transfer_config(s3),
        "default_acl": None,  # privacy comes from the bucket policy, never object ACLs
    }
    if s3.access_key:
        options["access_key"] = s3.access_key
        options["secret_key"] = s3.secret_key
    if s3.endpoint_url and s3.endpoint_url.startswith("http://"):
        options["url_protocol"] = "http:"
    return options


def build_storages(
    *,
    use_s3: bool,
    s3: S3Settings | None = None,
    media_root: Path,
    private_root: Path,
    static_on_s3: bool = True,
    mirror: S3Settings | None = None,
) -> dict[str, dict[str, Any]]:
    """Return a complete ``STORAGES`` dict (with the mirror's two aliases when ``mirror``
    is given: :mod:`media_store.storage.mirror`)."""
    built = _primary_storages(
        use_s3=use_s3, s3=s3, media_root=media_root, private_root=private_root,
        static_on_s3=static_on_s3,
    )  # fmt: skip
    if mirror is not None:
        public, private = _s3_aliases(mirror.resolved())
        for alias in (public, private):
            alias["OPTIONS"]["role"] = "mirror"  # its errors name MEDIA_MIRROR_* settings
        built["mirror-public"], built["mirror-private"] = public, private
    return built


def _primary_storages(
    *,
    use_s3: bool,
    s3: S3Settings | None,
    media_root: Path,
    private_root: Path,
    static_on_s3: bool,
) -> dict[str, dict[str, Any]]:
    if not use_s3:
        return {
            PUBLIC_ALIAS: {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(media_root)},
            },
            PRIVATE_ALIAS: {
                "BACKEND": "media_store.storage.backends.SignedFileSystemStorage",
                "OPTIONS": {"location": str(private_root)},
            },
            "staticfiles": {
                "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
            },
        }
    if s3 is None:
        raise ValueError("use_s3=True needs S3 settings")
    s3 = s3.resolved()
    public, private = _s3_aliases(s3)
    if static_on_s3:
        static_options = s3_options(s3, location=STATIC_LOCATION)
        static_options["custom_domain"] = s3.custom_domain
        staticfiles = {
            "BACKEND": "storages.backends.s3boto3.S3StaticStorage",
            "OPTIONS": static_options,
        }
    else:
        staticfiles = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    return {PUBLIC_ALIAS: public, PRIVATE_ALIAS: private, "staticfiles": staticfiles}


def _s3_aliases(s3: S3Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The public and private aliases of one (resolved) S3 configuration."""
    writes = {
        "file_overwrite": False,
        "provider": s3.provider,
        "conditional_writes": s3.conditional_writes,
        "checksums": s3.checksums,
        "direct_upload": s3.direct_upload,
    }
    public = s3_options(s3, location=PUBLIC_LOCATION)
    public.update({"custom_domain": s3.custom_domain, **writes})
    private = s3_options(s3, location=PRIVATE_LOCATION, bucket_name=s3.private_bucket_name)
    private.update({"querystring_expire": s3.signed_url_expire, **writes})
    return (
        {"BACKEND": "media_store.storage.backends.PublicS3Storage", "OPTIONS": public},
        {"BACKEND": "media_store.storage.backends.PrivateS3Storage", "OPTIONS": private},
    )
