"""What each S3-compatible store does, so the app works on it with no extra flags.

Every store speaks "S3", and each differs in ways that break an app configured for
another: a header refused, an operation missing, public access made another way. A
:class:`Provider` is a small table of those facts, each with the document or issue
it comes from beside it. ``AWS_S3_PROVIDER`` names one; when it is unset, the
endpoint's host says which (:func:`detect`). The settings that follow from a
profile (``AWS_S3_CHECKSUMS``, ``AWS_S3_CONDITIONAL_WRITES``,
``AWS_S3_DIRECT_UPLOAD``, the region and addressing style) default from it and can
still be set. docs/PROVIDERS.md has the same facts as a matrix, with what our test
harness emulates.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

#: Direct uploads: a presigned POST policy (an HTML form upload, PostObject), or a
#: presigned PUT of the object.
POST = "post"
PUT = "put"


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    #: Endpoint host suffixes that name this store (``*.r2.cloudflarestorage.com``).
    hosts: tuple[str, ...]
    #: How browsers upload straight to the bucket: POST where PostObject exists, else PUT.
    direct_upload: str
    #: Whether the store checks ``x-amz-checksum-sha256`` on PutObject. Where it does
    #: (``AWS_S3_CHECKSUMS``), each single PUT carries the SHA-256 we computed when the
    #: bytes were made; elsewhere the same SHA-256 is the signed payload hash
    #: (``x-amz-content-sha256``), which every SigV4 store verifies. Either way a body
    #: changed in transit is refused, and nothing is hashed twice.
    checksum_header: bool
    #: ``If-None-Match: *`` on PutObject and CompleteMultipartUpload (refuse overwrites).
    conditional_writes: bool
    #: A bucket policy can make ``media/`` public and keep ``private/`` private in one
    #: bucket. Without it public and private files need two buckets
    #: (``AWS_PRIVATE_STORAGE_BUCKET_NAME``), the public one made public in the console.
    bucket_policy: bool
    #: Bucket CORS rules can be set through the S3 API (else in the console or server).
    cors_api: bool
    #: Lifecycle rules (abort unfinished multipart uploads) can be set through the S3 API.
    lifecycle_api: bool
    #: Takes ``x-amz-acl: private`` on a write (signed into PUT grants, so an uploader
    #: cannot make the object public with an ACL of its own). AWS buckets made since
    #: April 2023 refuse every ACL header: there, ACLs cannot make anything public.
    private_acl: bool = True
    #: Public files are served from ``AWS_S3_CUSTOM_DOMAIN`` only (never from the S3 endpoint).
    public_needs_custom_domain: bool = False
    #: Every part of a multipart upload but the last must have the same size (ours do:
    #: fixed ``multipart_chunksize`` parts).
    equal_part_sizes: bool = False
    #: The region name to sign with when ``AWS_S3_REGION_NAME`` is unset: a fixed one,
    #: or ``None`` to read it from the endpoint's host (``s3.<region>.backblazeb2.com``).
    region: str | None = "us-east-1"
    #: Console steps for what its API cannot do, printed by ``configure_bucket``.
    console_public: str = ""
    console_cors: str = ""
    console_lifecycle: str = ""


AWS = Provider(
    name="aws",
    label="AWS S3",
    hosts=(".amazonaws.com",),
    # PostObject is S3's own browser upload:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
    direct_upload=POST,
    # x-amz-checksum-sha256 on PutObject:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
    checksum_header=True,
    # If-None-Match on PutObject and CompleteMultipartUpload (412 when the key exists):
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
    conditional_writes=True,
    # Bucket policies; new buckets block public policies until "Block public access
    # (bucket policy)" is turned off, and refuse ACLs (AccessControlListNotSupported):
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html
    bucket_policy=True,
    private_acl=False,
    cors_api=True,
    lifecycle_api=True,
    region=None,  # s3.<region>.amazonaws.com, else us-east-1
    console_public=(
        "S3 console -> the bucket -> Permissions -> Block public access: turn off only "
        '"Block public access to buckets and objects granted through new public bucket '
        'policies" (and "...any public bucket policies"), then run configure_bucket again.'
    ),
)

R2 = Provider(
    name="r2",
    label="Cloudflare R2",
    hosts=(".r2.cloudflarestorage.com",),
    # "POST, which performs uploads via native HTML forms, is not currently supported":
    # https://developers.cloudflare.com/r2/api/s3/presigned-urls/ (501 NotImplemented
    # "Presigned post requests are not yet implemented"; outline/outline#10650, uppy#5052)
    direct_upload=PUT,
    # SHA-256 only as a COMPOSITE (multipart) checksum, CRC64NVME the only FULL_OBJECT one:
    # https://developers.cloudflare.com/r2/api/s3/api/ ; boto3 1.36's checksum headers
    # answered 501 "Header 'x-amz-checksum-crc32' ... not implemented" (boto3#4392).
    # A literal x-amz-content-sha256 is verified (XAmzContentSHA256Mismatch).
    checksum_header=False,
    # If-None-Match on PutObject (412 PreconditionFailed), and on multipart completion:
    # https://developers.cloudflare.com/r2/api/s3/extensions/
    conditional_writes=True,
    # PutBucketPolicy is "Unimplemented": https://developers.cloudflare.com/r2/api/s3/api/ ;
    # public buckets only through a custom domain or r2.dev:
    # https://developers.cloudflare.com/r2/buckets/public-buckets/
    bucket_policy=False,
    public_needs_custom_domain=True,
    # PutBucketCors and PutBucketLifecycleConfiguration are implemented (same page).
    cors_api=True,
    lifecycle_api=True,
    # "All parts except the last one must be the same size":
    # https://developers.cloudflare.com/r2/objects/multipart-objects/
    equal_part_sizes=True,
    # "the region for an R2 bucket is auto": https://developers.cloudflare.com/r2/api/s3/api/
    region="auto",
    console_public=(
        "Cloudflare dashboard -> R2 -> the public bucket (AWS_STORAGE_BUCKET_NAME) -> "
        "Settings -> Public access: connect a custom domain (or allow the r2.dev "
        "subdomain for testing) and set AWS_S3_CUSTOM_DOMAIN to that host. Keep the "
        "private bucket (AWS_PRIVATE_STORAGE_BUCKET_NAME) without public access."
    ),
)

B2 = Provider(
    name="b2",
    label="Backblaze B2",
    hosts=(".backblazeb2.com",),
    # B2's S3 API "does not implement POST Object and returns 501 Not Implemented"
    # (safebucket#1278, uppy#5052); presigned PUT is supported:
    # https://www.backblaze.com/docs/cloud-storage-s3-compatible-api
    direct_upload=PUT,
    # 400 InvalidArgument "Unsupported header 'x-amz-sdk-checksum-algorithm' received for
    # this API call." (django-storages#1498); the x-amz-checksum-* headers are listed
    # as unsupported the same way.
    checksum_header=False,
    # Conditional PutObject answers "A header you provided implies functionality that is
    # not implemented" (obsidian-s3-sync-and-backup#78).
    conditional_writes=False,
    # Visibility is per bucket (allPrivate / allPublic), no bucket policies:
    # https://www.backblaze.com/docs/cloud-storage-s3-compatible-api
    bucket_policy=False,
    # Put Bucket CORS: https://www.backblaze.com/apidocs/s3-put-bucket-cors
    cors_api=True,
    # S3 lifecycle calls need versioning settings B2 manages itself; its "Lifecycle
    # Settings" page cancels unfinished large files:
    # https://www.backblaze.com/apidocs/s3-get-lifecycle-configuration
    lifecycle_api=False,
    region=None,  # s3.<region>.backblazeb2.com, e.g. us-west-004
    console_public=(
        "Backblaze web UI -> Buckets -> the public bucket (AWS_STORAGE_BUCKET_NAME) -> "
        'Bucket Settings: Files in Bucket are "Public". Keep the private bucket '
        '(AWS_PRIVATE_STORAGE_BUCKET_NAME) "Private".'
    ),
    console_lifecycle=(
        "Backblaze web UI -> Buckets -> each bucket -> Lifecycle Settings: "
        '"Keep only the last version of the file" (unfinished large files are then '
        "cancelled for you)."
    ),
)

SPACES = Provider(
    name="spaces",
    label="DigitalOcean Spaces",
    hosts=(".digitaloceanspaces.com",),
    # PostObject is not in Spaces' compatibility table; presigned URLs (SigV4) are:
    # https://docs.digitalocean.com/products/spaces/reference/s3-compatibility/
    direct_upload=PUT,
    # Which x-amz-checksum-* headers Spaces verifies is not documented; SigV4's payload
    # hash is (same page: "Signature Version 4").
    checksum_header=False,
    # Conditional writes are not documented for Spaces.
    conditional_writes=False,
    # "Bucket Policies: Supported only through the API" (same page).
    bucket_policy=True,
    # CORS and lifecycle ("time-based expiration and removing incomplete multipart
    # uploads") are supported (same page).
    cors_api=True,
    lifecycle_api=True,
    region=None,  # <region>.digitaloceanspaces.com, e.g. nyc3
)

MINIO = Provider(
    name="minio",
    label="MinIO",
    hosts=(),
    # PostPolicyBucketHandler (cmd/bucket-handlers.go in minio/minio).
    direct_upload=POST,
    # CRC32, CRC32C, SHA1, SHA256, CRC64NVME (internal/hash/checksum.go).
    checksum_header=True,
    # If-None-Match on PutObject and CompleteMultipartUpload (cmd/object-handlers.go).
    conditional_writes=True,
    bucket_policy=True,
    # PutBucketCors is a "dummy api" answering 501 NotImplemented
    # (cmd/dummy-handlers.go): CORS is server-wide, MINIO_API_CORS_ALLOW_ORIGIN.
    cors_api=False,
    # AbortIncompleteMultipartUpload is "not supported with PutBucketLifecycle":
    # https://min.io/docs/minio/linux/reference/s3-api-compatibility.html ; stale
    # uploads are removed by the server (api stale_uploads_expiry, 24 h).
    lifecycle_api=False,
    console_cors=(
        "MinIO keeps CORS server-wide: set MINIO_API_CORS_ALLOW_ORIGIN to the site's "
        "origins (comma-separated) on the MinIO server and restart it."
    ),
    console_lifecycle=(
        "MinIO removes unfinished multipart uploads itself after its api "
        "stale_uploads_expiry (24 h by default); nothing to do."
    ),
)

CEPH = Provider(
    name="ceph",
    label="Ceph RADOS Gateway",
    hosts=(),
    # "POST Object | Supported": https://docs.ceph.com/en/latest/radosgw/s3/
    direct_upload=POST,
    # Additional checksums arrived in Squid (ceph/ceph#55076); Pacific and Quincy
    # ignore x-amz-checksum-sha256, but every version verifies the signed payload hash.
    checksum_header=False,
    # Conditional PUT is long supported (ceph/s3-tests#218).
    conditional_writes=True,
    bucket_policy=True,
    cors_api=True,
    lifecycle_api=True,
)

GENERIC = Provider(
    name="generic",
    label="another S3-compatible store",
    hosts=(),
    # The least every S3 API has: presigned PUT, the signed payload hash, no optional
    # headers; policy, CORS and lifecycle are tried and, where refused, left to the console.
    direct_upload=PUT,
    checksum_header=False,
    conditional_writes=False,
    bucket_policy=True,
    cors_api=True,
    lifecycle_api=True,
)

PROVIDERS: dict[str, Provider] = {p.name: p for p in (AWS, R2, B2, SPACES, MINIO, CEPH, GENERIC)}


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"AWS_S3_PROVIDER={name!r} is not one of {', '.join(PROVIDERS)}."
        ) from None


def detect(endpoint_url: str | None) -> Provider:
    """The store an endpoint belongs to: AWS without one, else by its host (generic
    when the host names none of the hosted stores, as for MinIO or Ceph on a server
    of your own: set ``AWS_S3_PROVIDER`` for those)."""
    if not endpoint_url:
        return AWS
    host = (urlsplit(endpoint_url).hostname or "").lower()
    for provider in PROVIDERS.values():
        if any(host.endswith(suffix) for suffix in provider.hosts):
            return provider
    return GENERIC


def region_from_endpoint(endpoint_url: str | None) -> str | None:
    """The region in a hosted store's endpoint host, where it names one:
    ``s3.us-west-004.backblazeb2.com``, ``nyc3.digitaloceanspaces.com``,
    ``s3.eu-west-1.amazonaws.com``."""
    host = (urlsplit(endpoint_url or "").hostname or "").lower()
    parts = host.split(".")
    if host.endswith(".backblazeb2.com") and len(parts) >= 4 and parts[0] == "s3":
        return parts[1]
    if host.endswith(".digitaloceanspaces.com") and len(parts) == 3:
        return parts[0]
    if host.endswith(".amazonaws.com") and len(parts) >= 4 and parts[0] == "s3":
        return parts[1]
    return None


def default_region(provider: Provider, endpoint_url: str | None) -> str:
    """The region to sign with when ``AWS_S3_REGION_NAME`` is unset."""
    return provider.region or region_from_endpoint(endpoint_url) or "us-east-1"
