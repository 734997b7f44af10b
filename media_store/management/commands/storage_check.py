from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError

from media_store.checks import ephemeral_platform
from media_store.models import StoredFile, storage_for
from media_store.storage.s3 import is_s3, s3_error_code

CHECK_PREFIX = "_storage_check"
HTTP_TIMEOUT = 10


class CheckFailed(Exception):
    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


class CheckWarning(CheckFailed):
    """Something to fix that does not stop the app from working."""


def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - our bucket URL
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""
    except OSError as err:
        raise CheckFailed(
            f"could not fetch {url}: {err}", "check AWS_S3_CUSTOM_DOMAIN / endpoint and network"
        ) from err


class Command(BaseCommand):
    help = (
        "Check the media store end to end: bucket reachable, write/read/delete round trips, "
        "public URL readable, private objects readable only when signed, bucket CORS matching "
        "CORS_ALLOWED_ORIGINS. Prints a fix for each failure; exits 1 if any check fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_s3(storage_for(StoredFile.Visibility.PUBLIC)):
            platform = ephemeral_platform()
            if platform:
                raise CommandError(
                    f"USE_S3 is off on {platform}: uploads will be lost on restart. "
                    "Set USE_S3=True and the AWS_* variables."
                )
            self.stdout.write(
                "USE_S3 is off: media are on local disk (development only). Nothing to check."
            )
            return
        public = storage_for(StoredFile.Visibility.PUBLIC)
        failures = warnings = 0
        checks: list[tuple[str, Callable[[], str]]] = [
            ("bucket reachable", self.check_bucket),
            ("public round trip and URL", self.check_public),
            ("private round trip, signed URL, privacy", self.check_private),
            ("CORS matches CORS_ALLOWED_ORIGINS", self.check_cors),
        ]
        if public.custom_domain:
            checks.append(("CDN does not serve private/", self.check_cdn))
        self.stdout.write(
            f"Checking bucket {public.bucket_name} at {public.endpoint_url or 'AWS S3'}"
        )
        for name, check in checks:
            try:
                detail = check()
            except CheckWarning as warning:
                warnings += 1
                self.stdout.write(self.style.WARNING(f"WARN {name}: {warning.problem}"))
                self.stdout.write(f"     fix: {warning.fix}")
            except CheckFailed as failure:
                failures += 1
                self.stdout.write(self.style.ERROR(f"FAIL {name}: {failure.problem}"))
                self.stdout.write(f"     fix: {failure.fix}")
            except (BotoCoreError, ClientError) as exc:
                failures += 1
                self.stdout.write(self.style.ERROR(f"FAIL {name}: {exc}"))
                self.stdout.write(
                    "     fix: check AWS_S3_ENDPOINT_URL, AWS_S3_REGION_NAME, the bucket name "
                    "and that the access key may List/Get/Put/DeleteObject on the bucket; "
                    "if the error names x-amz-checksum-sha256 or UNSIGNED-PAYLOAD, set "
                    "AWS_S3_CHECKSUMS=False"
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"ok   {name}") + (f" ({detail})" if detail else "")
                )
        if failures:
            raise CommandError(f"{failures} storage check(s) failed")
        note = f" {warnings} warning(s) above." if warnings else ""
        self.stdout.write(self.style.SUCCESS("All storage checks passed.") + note)

    def check_bucket(self) -> str:
        """HEAD each bucket in use (the private one may be separate)."""
        for visibility in StoredFile.Visibility.values:
            storage = storage_for(visibility)
            try:
                storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
            except ClientError as exc:
                code = s3_error_code(exc)
                fixes = {
                    "404": "create the bucket or fix AWS_STORAGE_BUCKET_NAME "
                    "(or AWS_PRIVATE_STORAGE_BUCKET_NAME)",
                    "403": "the access key may not use this bucket: fix the IAM policy or the keys",
                }
                raise CheckFailed(
                    f"HEAD {storage.bucket_name} answered {code}", fixes.get(code, "see the error")
                ) from exc
        return ""

    def _round_trip(self, visibility: str) -> tuple[str, bytes]:
        storage = storage_for(visibility)
        key = f"{CHECK_PREFIX}/{uuid.uuid4().hex}.txt"
        body = f"storage check {uuid.uuid4()}".encode()
        content = ContentFile(body)
        content.content_type = "text/plain"
        storage.save(key, content)
        with storage.open(key, "rb") as handle:
            if handle.read() != body:
                raise CheckFailed(
                    "read back different bytes than were written", "check the endpoint"
                )
        return key, body

    def _delete(self, visibility: str, key: str) -> None:
        storage = storage_for(visibility)
        storage.delete(key)
        if storage.exists(key):
            raise CheckFailed(
                f"{key} still exists after delete", "allow s3:DeleteObject for the key"
            )

    def check_public(self) -> str:
        key, body = self._round_trip(StoredFile.Visibility.PUBLIC)
        try:
            url = storage_for(StoredFile.Visibility.PUBLIC).url(key)
            status, fetched = _http_get(url)
            if status != 200 or fetched != body:
                raise CheckFailed(
                    f"anonymous GET {url} answered {status}",
                    "make media/ publicly readable: `manage.py configure_bucket` applies the "
                    "bucket policy (and check AWS_S3_CUSTOM_DOMAIN points at this bucket)",
                )
        finally:
            self._delete(StoredFile.Visibility.PUBLIC, key)
        return url.split("?")[0].rsplit("/", 2)[0] + "/..."

    def check_private(self) -> str:
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        key, body = self._round_trip(StoredFile.Visibility.PRIVATE)
        try:
            signed = storage.url(key)
            status, fetched = _http_get(signed)
            if status != 200 or fetched != body:
                raise CheckFailed(
                    f"signed GET answered {status}",
                    "check the server clock and AWS_S3_REGION_NAME (signatures depend on both)",
                )
            unsigned_status, _ = _http_get(signed.split("?")[0])
            if unsigned_status != 403:
                raise CheckFailed(
                    f"private object readable without a signature (HTTP {unsigned_status})",
                    "remove public access to private/: keep 'Block public access' on and apply "
                    "only the policy from `manage.py configure_bucket`",
                )
        finally:
            self._delete(StoredFile.Visibility.PRIVATE, key)
        return f"signed URLs expire after {settings.MEDIA_SIGNED_URL_EXPIRE}s"

    def check_cdn(self) -> str:
        """A CDN (AWS_S3_CUSTOM_DOMAIN) in front of the whole bucket serves private/ unsigned."""
        public = storage_for(StoredFile.Visibility.PUBLIC)
        private = storage_for(StoredFile.Visibility.PRIVATE)
        key, body = self._round_trip(StoredFile.Visibility.PRIVATE)
        try:
            url = f"{public.url_protocol}//{public.custom_domain}/{private.location}/{key}"
            status, fetched = _http_get(url)
            if status == 200 and fetched == body:
                raise CheckWarning(
                    f"{url} served a private object through the CDN without a signature",
                    f"restrict the CDN at {public.custom_domain} to the media/ and static/ "
                    "paths (KOYEB_S3_SETUP.md, CDN / custom domain)",
                )
        finally:
            self._delete(StoredFile.Visibility.PRIVATE, key)
        return f"private objects are not served by {public.custom_domain}"

    def check_cors(self) -> str:
        wanted = set(settings.CORS_ALLOWED_ORIGINS)
        # Direct uploads are POSTed to the private (staging) bucket: its CORS is what matters.
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        try:
            rules = storage.connection.meta.client.get_bucket_cors(Bucket=storage.bucket_name)[
                "CORSRules"
            ]
        except ClientError as exc:
            if s3_error_code(exc) != "NoSuchCORSConfiguration":
                raise
            rules = []
        allowed = {origin for rule in rules for origin in rule.get("AllowedOrigins", [])}
        missing = set() if "*" in allowed else wanted - allowed
        if missing:
            raise CheckFailed(
                f"bucket CORS does not allow {', '.join(sorted(missing))}",
                "run `manage.py configure_bucket` to apply CORS rules from CORS_ALLOWED_ORIGINS",
            )
        return f"{len(wanted)} origin(s)"
