from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.bucket import apply_cors, apply_public_read_policy
from media_store.storage_config import PUBLIC_ALIAS


class Command(BaseCommand):
    help = (
        "Apply the bucket policy (media/ and static/ public, private/ private) and the CORS "
        "rules from CORS_ALLOWED_ORIGINS to AWS_STORAGE_BUCKET_NAME."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="Create the bucket if missing.")
        parser.add_argument("--no-policy", action="store_true", help="Leave the policy alone.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.USE_S3:
            raise CommandError("USE_S3 is off; there is no bucket to configure.")
        storage = storages[PUBLIC_ALIAS]
        client = storage.connection.meta.client
        bucket = storage.bucket_name
        try:
            if options["create"]:
                try:
                    client.head_bucket(Bucket=bucket)
                except ClientError:
                    client.create_bucket(Bucket=bucket)
                    self.stdout.write(f"Created bucket {bucket}.")
            if not options["no_policy"]:
                apply_public_read_policy(client, bucket)
                self.stdout.write("Bucket policy: media/ and static/ public, private/ private.")
            apply_cors(client, bucket, settings.CORS_ALLOWED_ORIGINS)
            origins = ", ".join(settings.CORS_ALLOWED_ORIGINS) or "none (rules removed)"
            self.stdout.write(f"CORS origins: {origins}.")
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"Could not configure bucket {bucket!r}: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Bucket {bucket} configured."))
