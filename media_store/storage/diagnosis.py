"""What a store's refusal means: an outage to wait out, or a setting to change.

A store that refuses a header it does not implement will refuse it on every retry;
telling the user to "try again in a minute" (503) would be a lie, and the operator
needs to know which setting to change. :func:`diagnose` reads the store's answer
and says whether it is permanent and what fixes it; the write path logs that fix
with the first failure and answers with :class:`~media_store.errors.StorageMisconfigured`,
and ``manage.py storage_check`` prints it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from media_store.errors import StorageMisconfigured, StorageUnavailable, StoreError

from .providers import PROVIDERS
from .s3 import s3_error_code

logger = logging.getLogger(__name__)

#: Answers that say the store (or the path to it) is having trouble right now, or that
#: the body was damaged in transit: a retry can succeed.
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "OperationAborted",
        "ConditionalRequestConflict",
        "BadDigest",
        "IncompleteBody",
        "XAmzContentSHA256Mismatch",
        "XAmzContentChecksumMismatch",
    }
)
_CREDENTIALS = (
    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a key of this store's S3 API, "
    "not its console password)"
)
_PROVIDER_HINT = (
    f"set AWS_S3_PROVIDER to the store you use ({', '.join(PROVIDERS)}) so its defaults apply"
)


@dataclass(frozen=True)
class Diagnosis:
    #: Waiting will not fix it: a setting (or the store's configuration) must change.
    permanent: bool
    #: What to change, naming the setting.
    fix: str
    #: The store's own words.
    detail: str


def diagnose(exc: BaseException, *, operation: str = "") -> Diagnosis:
    """Read a failed request to the store."""
    exc = _client_error(exc) or exc
    if not isinstance(exc, ClientError):
        return Diagnosis(
            False,
            "wait for the store, or check AWS_S3_ENDPOINT_URL and the network if it lasts",
            f"{type(exc).__name__}: {exc}",
        )
    code = s3_error_code(exc)
    error = exc.response.get("Error", {})
    message = str(error.get("Message", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    detail = f"{status} {code}: {message}".strip()
    text = f"{message} {error.get('Header', '')}".lower()
    if code in TRANSIENT_CODES or (status >= 500 and code != "NotImplemented"):
        return Diagnosis(False, "wait for the store; it answered that it is in trouble", detail)
    if "checksum" in text:
        fix = "the store refuses the x-amz-checksum-sha256 header: set AWS_S3_CHECKSUMS=False"
    elif (
        "if-none-match" in text
        or "if-match" in text
        or (
            "implies functionality" in text
            and operation in ("PutObject", "CompleteMultipartUpload")
        )
    ):
        fix = "the store refuses If-None-Match: set AWS_S3_CONDITIONAL_WRITES=False"
    elif "presigned post" in text or operation == "PostObject":
        fix = "the store has no POST uploads: set AWS_S3_DIRECT_UPLOAD=put"
    elif code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Unauthorized") or status == 401:
        fix = _CREDENTIALS
    elif code == "AccessDenied" or status == 403:
        fix = (
            "the key may not do this on the bucket: allow s3:ListBucket, s3:GetObject, "
            "s3:PutObject and s3:DeleteObject (KOYEB_S3_SETUP.md, IAM)"
        )
    elif code in ("NoSuchBucket", "404"):
        fix = "create the bucket, or fix AWS_STORAGE_BUCKET_NAME / AWS_PRIVATE_STORAGE_BUCKET_NAME"
    elif code in ("AuthorizationHeaderMalformed", "PermanentRedirect", "301") or status == 301:
        region = error.get("Region")
        fix = "set AWS_S3_REGION_NAME to the bucket's region" + (f" ({region})" if region else "")
    elif code == "RequestTimeTooSkewed":
        fix = "the server's clock is wrong: signatures depend on it (enable NTP)"
    elif code == "NotImplemented":
        fix = f"the store does not implement {operation or 'this call'}: {_PROVIDER_HINT}"
    else:
        fix = f"see the store's answer; {_PROVIDER_HINT}"
    return Diagnosis(True, fix, detail)


#: The mirror's settings (``MEDIA_MIRROR_*``), named in a fix in place of the primary's
#: when it was the mirror that failed.
MIRROR_SETTINGS = {
    "AWS_ACCESS_KEY_ID": "MEDIA_MIRROR_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "MEDIA_MIRROR_SECRET_ACCESS_KEY",
    "AWS_S3_ENDPOINT_URL": "MEDIA_MIRROR_ENDPOINT_URL",
    "AWS_STORAGE_BUCKET_NAME": "MEDIA_MIRROR_BUCKET_NAME",
    "AWS_PRIVATE_STORAGE_BUCKET_NAME": "MEDIA_MIRROR_PRIVATE_BUCKET_NAME",
    "AWS_S3_REGION_NAME": "MEDIA_MIRROR_REGION_NAME",
    "AWS_S3_PROVIDER": "MEDIA_MIRROR_PROVIDER",
}
_SETTING_NAME = re.compile(r"\bAWS_[A-Z0-9_]+")


def for_mirror(fix: str) -> str:
    """``fix`` naming the mirror's settings instead of the primary's."""
    return "on the mirror: " + _SETTING_NAME.sub(
        lambda name: MIRROR_SETTINGS.get(name[0], "MEDIA_MIRROR_PROVIDER"), fix
    )


def store_error(
    exc: BaseException, *, what: str, operation: str = "", mirror: bool = False
) -> StoreError:
    """The error to answer for a failed request to the store, logged with its fix (which
    the error keeps as ``fix``, for commands to print); ``mirror``: the mirror failed."""
    diagnosis = diagnose(exc, operation=operation)
    fix = for_mirror(diagnosis.fix) if mirror else diagnosis.fix
    if diagnosis.permanent:
        logger.error(
            "the media store refused %s for good (%s). Fix: %s", what, diagnosis.detail, fix
        )
        error: StoreError = StorageMisconfigured()
    else:
        logger.error("media store failure on %s: %s", what, diagnosis.detail)
        error = StorageUnavailable()
    error.fix = f"{what}: {diagnosis.detail}. Fix: {fix}"
    return error


#: Every failure a request to the store can end in (a multipart upload's refusal comes
#: wrapped in boto3's S3UploadFailedError).
STORE_FAILURES: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, S3UploadFailedError)


def _client_error(exc: BaseException) -> ClientError | None:
    """The store's answer inside ``exc`` (itself, or what it was raised from)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, ClientError):
            return current
        current, seen = current.__cause__ or current.__context__, seen + 1
    return None
