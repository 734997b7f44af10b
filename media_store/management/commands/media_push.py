from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.models import StoredFile, storage_for
from media_store.storage.s3 import NOT_FOUND_CODES, base64_digest, is_s3, s3_error_code, s3_key

BAR_WIDTH = 30


@dataclass(frozen=True)
class LocalFile:
    visibility: str
    root: Path
    path: Path

    @property
    def key(self) -> str:
        return self.path.relative_to(self.root).as_posix()


def _digests(path: Path) -> tuple[str, str]:
    """The file's MD5 (the store's ETag of a single PUT) and SHA-256, as hex."""
    with path.open("rb") as handle:
        md5 = hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False))
        handle.seek(0)
        sha256 = hashlib.file_digest(handle, "sha256")
    return md5.hexdigest(), sha256.hexdigest()


class Command(BaseCommand):
    help = (
        "Copy local media (MEDIA_ROOT and PRIVATE_MEDIA_ROOT) into the bucket under the same "
        "keys. Idempotent and resumable: objects already there with the same checksum are "
        "skipped; every upload is verified by MD5; existing different objects are never "
        "overwritten."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be copied.")
        parser.add_argument("--public-dir", type=Path, default=None, help="Default: MEDIA_ROOT.")
        parser.add_argument(
            "--private-dir", type=Path, default=None, help="Default: PRIVATE_MEDIA_ROOT."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_s3(storage_for(StoredFile.Visibility.PUBLIC)):
            raise CommandError("USE_S3 is off: set USE_S3=True and the AWS_* variables first.")
        roots = {
            StoredFile.Visibility.PUBLIC: options["public_dir"] or Path(settings.MEDIA_ROOT),
            StoredFile.Visibility.PRIVATE: options["private_dir"]
            or Path(settings.PRIVATE_MEDIA_ROOT),
        }
        files = [
            LocalFile(visibility, root, path)
            for visibility, root in roots.items()
            if root.is_dir()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        ]
        total_bytes = sum(item.path.stat().st_size for item in files) or 1
        content_types = dict(StoredFile.objects.values_list("key", "content_type"))
        counts = {"uploaded": 0, "present": 0, "conflict": 0, "failed": 0}
        done_bytes = 0
        for index, item in enumerate(files, start=1):
            outcome = self._push(item, content_types, dry_run=options["dry_run"])
            counts[outcome] += 1
            done_bytes += item.path.stat().st_size
            self._progress(index, len(files), done_bytes / total_bytes, outcome, item)
        verb = "would upload" if options["dry_run"] else "uploaded"
        self.stdout.write(
            f"{len(files)} file(s): {counts['uploaded']} {verb}, "
            f"{counts['present']} already in the bucket, "
            f"{counts['conflict']} conflicting, {counts['failed']} failed."
        )
        if counts["conflict"] or counts["failed"]:
            raise CommandError("some files were not copied; run again to retry the failed ones")

    def _progress(
        self, index: int, total: int, fraction: float, outcome: str, item: LocalFile
    ) -> None:
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stderr.write(
            f"[{bar}] {fraction:4.0%} {index}/{total} {outcome:8} {item.visibility}/{item.key}"
        )

    def _push(self, item: LocalFile, content_types: dict[str, str], *, dry_run: bool) -> str:
        storage = storage_for(item.visibility)
        client = storage.connection.meta.client
        bucket, key = storage.bucket_name, s3_key(storage, item.key)
        md5_hex, sha256_hex = _digests(item.path)
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if s3_error_code(exc) not in NOT_FOUND_CODES:
                self.stderr.write(f"cannot check {key}: {exc}")
                return "failed"
            head = None
        except BotoCoreError as exc:
            self.stderr.write(f"cannot reach the bucket for {key}: {exc}")
            return "failed"
        if head is not None:
            same = (
                head.get("Metadata", {}).get("sha256") == sha256_hex
                or head["ETag"].strip('"') == md5_hex
            )
            if same:
                return "present"
            self.stderr.write(
                f"{key} already exists in the bucket with different content; left alone"
            )
            return "conflict"
        if dry_run:
            return "uploaded"
        content_type = content_types.get(item.key) or mimetypes.guess_type(item.key)[0]
        params = storage.get_object_parameters(item.key)
        if getattr(storage, "checksums", False):
            params["ChecksumSHA256"] = base64_digest(sha256_hex)
        try:
            with item.path.open("rb") as body:
                response = client.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=body,
                    ContentMD5=base64_digest(md5_hex),
                    ContentType=content_type or "application/octet-stream",
                    Metadata={"sha256": sha256_hex},
                    **params,
                )
        except (BotoCoreError, ClientError) as exc:
            self.stderr.write(f"upload of {key} failed: {exc}")
            return "failed"
        if response["ETag"].strip('"') != md5_hex:
            self.stderr.write(f"{key}: the bucket's checksum does not match the local file")
            return "failed"
        return "uploaded"
