"""Bucket-level configuration: which prefixes are public, which origins may upload, and
when unfinished uploads are cleaned up.

Privacy is decided by the bucket policy, not by per-object ACLs: only the
public media and static prefixes are readable anonymously; everything under
``private/`` needs a signature. (AWS creates buckets with ACLs disabled, so a
policy is the mechanism that works there; stores without bucket policies use two
buckets instead, see :mod:`media_store.storage.providers`.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .config import PUBLIC_LOCATION, STATIC_LOCATION


def public_read_policy(
    bucket: str, prefixes: Iterable[str] = (PUBLIC_LOCATION, STATIC_LOCATION)
) -> dict[str, Any]:
    """Bucket policy granting anonymous GetObject on ``prefixes`` only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadMediaAndStatic",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*" for prefix in prefixes],
            }
        ],
    }


def cors_configuration(origins: Iterable[str]) -> dict[str, Any]:
    """CORS rules letting the site's origins read objects and send direct uploads (a POST
    form, or a PUT with the signed headers: Content-Type, If-None-Match)."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": sorted(set(origins)),
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3600,
            }
        ]
    }


def apply_public_read_policy(client: Any, bucket: str) -> None:
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))


def apply_cors(client: Any, bucket: str, origins: Iterable[str]) -> None:
    origins = list(origins)
    if origins:
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration=cors_configuration(origins))
    else:
        client.delete_bucket_cors(Bucket=bucket)


#: Days after which an unfinished multipart upload is aborted (its parts are billed
#: storage that no object shows).
ABORT_MULTIPART_AFTER_DAYS = 1


def lifecycle_configuration() -> dict[str, Any]:
    """Abort multipart uploads left unfinished (an outage in the middle of a large write)."""
    return {
        "Rules": [
            {
                "ID": "abort-unfinished-multipart-uploads",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {
                    "DaysAfterInitiation": ABORT_MULTIPART_AFTER_DAYS
                },
            }
        ]
    }


def apply_lifecycle(client: Any, bucket: str) -> None:
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=lifecycle_configuration()
    )
