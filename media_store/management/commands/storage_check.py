from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError

from media_store.checks import ephemeral_platform
from media_store.models import StoredFile, storage_for
from media_store.storage.diagnosis import diagnose, for_mirror
from media_store.storage.mirror import backlog as mirror_backlog
from media_store.storage.mirror import mirror_for
from media_store.storage.providers import get_provider
from media_store.storage.s3 import is_s3, s3_error_code, s3_key
from media_store.uploads.direct import Grant, grant_for

CHECK_PREFIX = "_storage_check"
HTTP_TIMEOUT = 10


class CheckFailed(Exception):
    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


class CheckWarning(CheckFailed):
    """Something to fix that does not stop the app from working."""


def _http(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    # Our bucket's URLs (http or https, from the storage), never a user's.
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError as err:
        raise CheckFailed(
            f"could not reach {url.split('?')[0]}: {err}",
            "check AWS_S3_CUSTOM_DOMAIN / AWS_S3_ENDPOINT_URL and the network",
        ) from err


def _refusal(status: int, body: bytes, operation: str) -> ClientError:
    """A store's XML error answer, read the way botocore reads it, for :func:`diagnose`."""
    text = body.decode("utf-8", "replace")

    def element(name: str) -> str:
        start, end = text.find(f"<{name}>"), text.find(f"</{name}>")
        return text[start + len(name) + 2 : end] if 0 <= start < end else ""

    error = {"Code": element("Code") or str(status), "Message": element("Message")}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


class Command(BaseCommand):
    help = (
        "Check the media store end to end, as this store is configured (AWS_S3_PROVIDER): "
        "bucket reachable, write/read/delete round trips with this store's integrity header, "
        "overwrites refused, public URL readable, private objects readable only when signed, "
        "a direct upload as browsers send it, bucket CORS matching CORS_ALLOWED_ORIGINS. "
        "Prints the setting to change for each failure; exits 1 if any check fails."
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
        self.provider = get_provider(public.provider)
        failures = warnings = 0
        checks: list[tuple[str, Callable[[], str]]] = [
            ("bucket reachable", self.check_bucket),
            ("public round trip and URL", self.check_public),
            ("private round trip, signed URL, privacy", self.check_private),
        ]
        if public.conditional_writes:
            checks.append(("overwrites refused (If-None-Match)", self.check_overwrite))
        checks += [
            (f"direct upload by {public.direct_upload.upper()}", self.check_direct_upload),
            ("CORS matches CORS_ALLOWED_ORIGINS", self.check_cors),
        ]
        if public.custom_domain:
            checks.append(("CDN does not serve private/", self.check_cdn))
        if mirror_for(StoredFile.Visibility.PUBLIC) is not None:
            checks.append(("mirror reachable", self.check_mirror))
        self.stdout.write(
            f"Checking bucket {public.bucket_name} at {public.endpoint_url or 'AWS S3'} "
            f"({self.provider.label}, AWS_S3_PROVIDER={self.provider.name})"
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
                self.stdout.write(f"     fix: {diagnose(exc, operation='PutObject').fix}")
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"ok   {name}") + (f" ({detail})" if detail else "")
                )
        if mirror_for(StoredFile.Visibility.PUBLIC) is not None:
            in_sync, backlog = mirror_backlog()
            if in_sync:
                self.stdout.write(self.style.SUCCESS("ok   mirror") + f" ({backlog})")
            else:
                warnings += 1
                self.stdout.write(self.style.WARNING(f"WARN mirror: {backlog}"))
                self.stdout.write(
                    "     fix: check the mirror store (MEDIA_MIRROR_*) and the worker"
                )
        for problem in run_checks(tags=["durability"], include_deployment_checks=True):
            if problem.is_serious():  # the rows that point at the objects must survive too
                failures += 1
                self.stdout.write(self.style.ERROR(f"FAIL data survives a redeploy: {problem.msg}"))
                self.stdout.write(f"     fix: {problem.hint}")
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
                raise CheckFailed(
                    f"HEAD {storage.bucket_name} answered {code}", diagnose(exc).fix
                ) from exc
        return ""

    def _round_trip(self, visibility: str, storage: Any = None) -> tuple[str, bytes]:
        """Write with this store's integrity header and conditional write, read back
        (on the primary's storage for ``visibility``, or on ``storage``)."""
        storage = storage or storage_for(visibility)
        key = f"{CHECK_PREFIX}/{uuid.uuid4().hex}.txt"
        body = f"storage check {uuid.uuid4()}".encode()
        content = ContentFile(body)
        content.content_type = "text/plain"
        try:
            storage.save(key, content)
        except ClientError as exc:
            raise CheckFailed(
                f"the write was refused ({diagnose(exc).detail})",
                diagnose(exc, operation="PutObject").fix,
            ) from exc
        with storage.open(key, "rb") as handle:
            if handle.read() != body:
                raise CheckFailed(
                    "read back different bytes than were written", "check the endpoint"
                )
        return key, body

    def _delete(self, visibility: str, key: str, storage: Any = None) -> None:
        storage = storage or storage_for(visibility)
        storage.delete(key)
        if storage.exists(key):
            raise CheckFailed(
                f"{key} still exists after delete", "allow s3:DeleteObject for the key"
            )

    def _public_fix(self) -> str:
        public = storage_for(StoredFile.Visibility.PUBLIC)
        if self.provider.public_needs_custom_domain and not public.custom_domain:
            return (
                f"{self.provider.label} serves public files only from a public bucket "
                f"domain: {self.provider.console_public}"
            )
        if not self.provider.bucket_policy:
            return self.provider.console_public
        return (
            "make media/ publicly readable: `manage.py configure_bucket` applies the bucket "
            "policy (and check AWS_S3_CUSTOM_DOMAIN points at this bucket)"
            + (f"; {self.provider.console_public}" if self.provider.console_public else "")
        )

    def check_public(self) -> str:
        key, body = self._round_trip(StoredFile.Visibility.PUBLIC)
        try:
            url = storage_for(StoredFile.Visibility.PUBLIC).url(key)
            status, fetched = _http(url)
            if status != 200 or fetched != body:
                raise CheckFailed(f"anonymous GET {url} answered {status}", self._public_fix())
        finally:
            self._delete(StoredFile.Visibility.PUBLIC, key)
        return url.split("?")[0].rsplit("/", 2)[0] + "/..."

    def check_private(self) -> str:
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        key, body = self._round_trip(StoredFile.Visibility.PRIVATE)
        try:
            signed = storage.url(key)
            status, fetched = _http(signed)
            if status != 200 or fetched != body:
                raise CheckFailed(
                    f"signed GET answered {status}",
                    "check the server clock and AWS_S3_REGION_NAME (signatures depend on both)",
                )
            unsigned_status, _ = _http(signed.split("?")[0])
            if unsigned_status not in (401, 403):
                raise CheckFailed(
                    f"private object readable without a signature (HTTP {unsigned_status})",
                    "remove public access to private/: keep 'Block public access' on and apply "
                    "only the policy from `manage.py configure_bucket` (on stores that make "
                    "whole buckets public, keep AWS_PRIVATE_STORAGE_BUCKET_NAME private)",
                )
        finally:
            self._delete(StoredFile.Visibility.PRIVATE, key)
        return f"signed URLs expire after {settings.MEDIA_SIGNED_URL_EXPIRE}s"

    def check_mirror(self) -> str:
        """A write, read and delete on each of the mirror's buckets; its private objects
        unreadable without a signature. Fixes name the mirror's settings."""
        try:
            return self._check_mirror()
        except CheckFailed as failure:
            raise CheckFailed(failure.problem, for_mirror(failure.fix)) from failure
        except (BotoCoreError, ClientError) as exc:
            raise CheckFailed(str(exc), for_mirror(diagnose(exc).fix)) from exc

    def _check_mirror(self) -> str:
        for visibility in StoredFile.Visibility.values:
            mirror = mirror_for(visibility)
            key, _ = self._round_trip(visibility, mirror)
            try:
                if visibility == StoredFile.Visibility.PRIVATE:
                    status, _ = _http(mirror.url(key).split("?")[0])
                    if status not in (401, 403):
                        raise CheckFailed(
                            f"a private object on the mirror is readable without a signature "
                            f"(HTTP {status})",
                            "remove public access from MEDIA_MIRROR_PRIVATE_BUCKET_NAME (or "
                            "its private/ prefix): `manage.py configure_bucket` with the "
                            "mirror's settings as the AWS_* ones applies the same policy",
                        )
            finally:
                self._delete(visibility, key, mirror)
        return f"{mirror_for(StoredFile.Visibility.PUBLIC).bucket_name} written, read, deleted"

    def check_overwrite(self) -> str:
        """A second write of the same key must be refused (``If-None-Match: *``)."""
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        key = f"{CHECK_PREFIX}/{uuid.uuid4().hex}.txt"
        storage.save(key, ContentFile(b"first"))
        try:
            storage.save(key, ContentFile(b"second"))
        except FileExistsError:
            return "the store refused the second write"
        except ClientError as exc:
            raise CheckFailed(
                f"the second write was refused oddly ({diagnose(exc).detail})",
                "set AWS_S3_CONDITIONAL_WRITES=False",
            ) from exc
        finally:
            storage.delete(key)
        raise CheckWarning(
            "the store ignores If-None-Match and replaced the object (keys are random, so "
            "only a bug could overwrite one)",
            "set AWS_S3_CONDITIONAL_WRITES=False to stop sending it",
        )

    def check_direct_upload(self) -> str:
        """Send a small file the way the storefront does, with a grant of this store's kind."""
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        body = b"\x89PNG\r\n\x1a\n storage check"
        name = f"{CHECK_PREFIX}/{uuid.uuid4().hex}.png"
        key = s3_key(storage, name)
        grant = grant_for(storage, key, "image/png", len(body))
        status, answer = _send(grant, body)
        try:
            if status >= 300:
                operation = "PostObject" if grant.method == "POST" else "PutObject"
                diagnosis = diagnose(_refusal(status, answer, operation), operation=operation)
                raise CheckFailed(
                    f"the store refused the {grant.method} ({diagnosis.detail})", diagnosis.fix
                )
            head = storage.connection.meta.client.head_object(Bucket=storage.bucket_name, Key=key)
            if head["ContentLength"] != len(body):
                raise CheckFailed("the uploaded object has another size", "check the endpoint")
            wrong = _send(grant_for(storage, key + ".2", "image/png", len(body)), body + b"x")[0]
            if wrong < 300:
                raise CheckFailed(
                    "the store accepted a direct upload of another size than granted",
                    "set AWS_S3_DIRECT_UPLOAD to the other method (post or put)",
                )
        finally:
            storage.delete(name)
            storage.delete(name + ".2")
        return f"{grant.method} pins the key, type and size"

    def check_cors(self) -> str:
        wanted = set(settings.CORS_ALLOWED_ORIGINS)
        if not self.provider.cors_api:
            raise CheckWarning(
                f"{self.provider.label} has no per-bucket CORS API, so it cannot be checked",
                self.provider.console_cors or "allow the site's origins in the store's console",
            )
        # Direct uploads go to the private (staging) bucket: its CORS is what matters.
        storage = storage_for(StoredFile.Visibility.PRIVATE)
        try:
            rules = storage.connection.meta.client.get_bucket_cors(Bucket=storage.bucket_name)[
                "CORSRules"
            ]
        except ClientError as exc:
            if s3_error_code(exc) != "NoSuchCORSConfiguration":
                raise
            rules = []
        method = storage.direct_upload.upper()
        allowed = {
            origin
            for rule in rules
            if method in rule.get("AllowedMethods", [])
            for origin in rule.get("AllowedOrigins", [])
        }
        missing = set() if "*" in allowed else wanted - allowed
        if missing:
            raise CheckFailed(
                f"bucket CORS does not allow {method} from {', '.join(sorted(missing))}",
                "run `manage.py configure_bucket` to apply CORS rules from CORS_ALLOWED_ORIGINS",
            )
        return f"{len(wanted)} origin(s)"

    def check_cdn(self) -> str:
        """A CDN (AWS_S3_CUSTOM_DOMAIN) in front of the whole bucket serves private/ unsigned."""
        public = storage_for(StoredFile.Visibility.PUBLIC)
        private = storage_for(StoredFile.Visibility.PRIVATE)
        key, body = self._round_trip(StoredFile.Visibility.PRIVATE)
        try:
            url = f"{public.url_protocol}//{public.custom_domain}/{private.location}/{key}"
            status, fetched = _http(url)
            if status == 200 and fetched == body:
                raise CheckWarning(
                    f"{url} served a private object through the CDN without a signature",
                    f"restrict the CDN at {public.custom_domain} to the media/ and static/ "
                    "paths (KOYEB_S3_SETUP.md, CDN / custom domain)",
                )
        finally:
            self._delete(StoredFile.Visibility.PRIVATE, key)
        return f"private objects are not served by {public.custom_domain}"


def _send(grant: Grant, body: bytes) -> tuple[int, bytes]:
    """Send ``body`` with ``grant`` as a browser would (a form POST, or a PUT)."""
    if grant.method == "PUT":
        return _http(grant.url, method="PUT", body=body, headers=grant.headers)
    boundary = uuid.uuid4().hex
    form = io.BytesIO()
    for name, value in [*grant.fields.items(), ("file", None)]:
        disposition = f'form-data; name="{name}"' + (
            '; filename="check.png"' if value is None else ""
        )
        form.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        form.write((value.encode() if value is not None else body) + b"\r\n")
    form.write(f"--{boundary}--\r\n".encode())
    return _http(
        grant.url,
        method="POST",
        body=form.getvalue(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
