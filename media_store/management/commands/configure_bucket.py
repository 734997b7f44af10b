from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.models import StoredFile, storage_for
from media_store.storage.bucket import apply_cors, apply_public_read_policy
from media_store.storage.s3 import is_s3


class Command(BaseCommand):
    help = (
        "Apply the bucket policy (media/ and static/ public, private/ private) and the CORS "
        "rules from CORS_ALLOWED_ORIGINS. With a separate private bucket, that bucket gets "
        "CORS only (direct uploads go there) and no public policy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="Create missing buckets.")
        parser.add_argument("--no-policy", action="store_true", help="Leave the policy alone.")

    def handle(self, *args: Any, **options: Any) -> None:
        public = storage_for(StoredFile.Visibility.PUBLIC)
        private = storage_for(StoredFile.Visibility.PRIVATE)
        if not is_s3(public):
            raise CommandError("USE_S3 is off; there is no bucket to configure.")
        client = public.connection.meta.client
        buckets = [public.bucket_name]
        if private.bucket_name != public.bucket_name:
            buckets.append(private.bucket_name)
        origins = settings.CORS_ALLOWED_ORIGINS
        try:
            for bucket in buckets:
                if options["create"]:
                    self._create(client, bucket)
                apply_cors(client, bucket, origins)
                self.stdout.write(
                    f"{bucket}: CORS origins {', '.join(origins) or 'none (removed)'}."
                )
            if not options["no_policy"]:
                apply_public_read_policy(client, public.bucket_name)
                self.stdout.write(
                    f"{public.bucket_name}: media/ and static/ public, everything else private."
                )
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"Could not configure the bucket: {exc}") from exc
        self.stdout.write(self.style.SUCCESS("Bucket configuration applied."))

    def _create(self, client: Any, bucket: str) -> None:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError:
            client.create_bucket(Bucket=bucket)
            self.stdout.write(f"Created bucket {bucket}.")
