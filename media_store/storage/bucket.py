"""Bucket-level configuration: which prefixes are public, and which origins may upload.

Privacy is decided by the bucket policy, not by per-object ACLs: only the
public media and static prefixes are readable anonymously; everything under
``private/`` needs a signature. (AWS creates buckets with ACLs disabled, so a
policy is also the only mechanism that works everywhere.)
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
    """CORS rules letting the site's origins read objects and POST direct uploads."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": sorted(set(origins)),
                "AllowedMethods": ["GET", "HEAD", "POST"],
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
