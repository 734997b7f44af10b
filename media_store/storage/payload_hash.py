"""Each upload's body is hashed once: the SHA-256 we computed when we made the bytes.

Every stored file's SHA-256 is known before it is written (``content.sha256``, kept in
its row). SigV4 wants a hash of the body too, and botocore would compute it again. So
a single PUT carries our digest in one of two ways, and the store checks it either way:

- as ``x-amz-checksum-sha256`` (``AWS_S3_CHECKSUMS``, for stores that check that
  header: AWS S3, MinIO): over HTTPS botocore then sends the body unsigned, as it does
  for checksums of its own (:func:`_covered_by_checksum`);
- as the signed payload hash, ``x-amz-content-sha256``, which every SigV4 store verifies
  (Cloudflare R2 and Backblaze B2 refuse the checksum header): :class:`KnownPayloadAuth`
  signs with our digest instead of hashing the body again.

The digest travels as the object's ``x-amz-meta-sha256`` (kept with the object, so a
copy can be checked against it later). A digest that does not match the body is
refused by the store (``XAmzContentSHA256Mismatch`` or ``BadDigest``), never stored.
Requests without it (multipart parts, everything else) are signed as botocore does.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import botocore.auth

CHECKSUM_HEADER = "x-amz-checksum-sha256"
DIGEST_HEADER = "x-amz-meta-sha256"
_CONTEXT_KEY = "media_store.payload_sha256"
#: Our signer's name in botocore's table of signers (chosen per request, see below).
SIGNER = "s3v4-media-store-known-payload"


class KnownPayloadAuth(botocore.auth.S3SigV4Auth):
    """S3's SigV4 signer, with the payload hash we already have instead of a second pass."""

    def payload(self, request: Any) -> str:
        known = request.context.get(_CONTEXT_KEY)
        if (
            known is None
            or self._is_streaming_checksum_payload(request)
            or not self._should_sha256_sign_payload(request)
        ):
            return super().payload(request)
        return known


# Adds a signer under a name of our own; botocore's own entries are left as they are.
botocore.auth.AUTH_TYPE_MAPS.setdefault(SIGNER, KnownPayloadAuth)


def _note_digest(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Before a PutObject is sent: remember the digest it carries, and whether its body is
    covered by a checksum header."""
    headers = params.get("headers", {})
    if DIGEST_HEADER in headers:
        context[_CONTEXT_KEY] = headers[DIGEST_HEADER]
    if CHECKSUM_HEADER in headers:
        context.setdefault("checksum", {})["request_algorithm"] = {
            "in": "header",
            "name": CHECKSUM_HEADER,
            "algorithm": "sha256",
        }


def _choose_signer(signature_version: str, context: dict[str, Any], **_: Any) -> str | None:
    if context.get(_CONTEXT_KEY) and signature_version == "s3v4":
        return SIGNER
    return None


def hash_bodies_once(events: Any) -> None:
    """Register the handlers on a client's event system (``client.meta.events``)."""
    events.register("before-call.s3.PutObject", _note_digest)
    events.register("choose-signer.s3.PutObject", _choose_signer)


#: Calls whose body S3 requires a checksum of: botocore sends x-amz-checksum-crc32.
CHECKSUM_REQUIRED = (
    "PutBucketCors",
    "PutBucketLifecycleConfiguration",
    "PutBucketPolicy",
    "DeleteObjects",
)


def _content_md5_instead(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Send Content-MD5 of the (small, already serialised) body where botocore would
    send its default CRC32."""
    checksum = context.get("checksum", {})
    body = params.get("body")
    if isinstance(checksum.get("request_algorithm"), dict) and isinstance(body, bytes):
        del checksum["request_algorithm"]
        checksum.pop("request_algorithm_header", None)
        digest = hashlib.md5(body, usedforsecurity=False).digest()
        params["headers"]["Content-MD5"] = base64.b64encode(digest).decode()


def md5_where_checksums_are_required(events: Any) -> None:
    """For stores without S3's newer checksum headers (B2 refuses x-amz-checksum-crc32:
    django-storages#1498): calls that must carry a checksum carry Content-MD5, which
    every S3 API takes."""
    for operation in CHECKSUM_REQUIRED:
        events.register(f"before-call.s3.{operation}", _content_md5_instead)
