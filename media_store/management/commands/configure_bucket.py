from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from media_store.models import StoredFile, storage_for
from media_store.storage.bucket import apply_cors, apply_lifecycle, apply_public_read_policy
from media_store.storage.diagnosis import diagnose
from media_store.storage.providers import get_provider
from media_store.storage.s3 import is_s3

#: Answers that mean "this store cannot do that through its API" (or, for a public
#: policy on AWS, "Block public access" is on): the step is left to the console.
_UNSUPPORTED = {"NotImplemented", "AccessDenied", "MethodNotAllowed", "InvalidRequest"}


class Command(BaseCommand):
    help = (
        "Set the bucket up for this app, as far as the store's API allows (AWS_S3_PROVIDER): "
        "CORS rules from CORS_ALLOWED_ORIGINS (direct uploads), the public-read policy for "
        "media/ and static/, and a lifecycle rule that aborts unfinished multipart uploads. "
        "What the store only does in its console is printed as steps to follow; such a step "
        "never fails the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true", help="Create missing buckets.")
        parser.add_argument("--no-policy", action="store_true", help="Leave the policy alone.")

    def handle(self, *args: Any, **options: Any) -> None:
        public = storage_for(StoredFile.Visibility.PUBLIC)
        private = storage_for(StoredFile.Visibility.PRIVATE)
        if not is_s3(public):
            raise CommandError("USE_S3 is off; there is no bucket to configure.")
        provider = get_provider(public.provider)
        client = public.connection.meta.client
        two_buckets = private.bucket_name != public.bucket_name
        buckets = [public.bucket_name, *([private.bucket_name] if two_buckets else [])]
        self.stdout.write(f"Store: {provider.label} (AWS_S3_PROVIDER={provider.name}).")
        self.by_hand: list[str] = []
        origins = settings.CORS_ALLOWED_ORIGINS
        try:
            for bucket in buckets:
                if options["create"]:
                    self._create(client, bucket)
                self._step(
                    f"{bucket}: CORS origins {', '.join(origins) or 'none (removed)'}",
                    lambda bucket=bucket: apply_cors(client, bucket, origins),
                    supported=provider.cors_api,
                    console=provider.console_cors,
                )
                self._step(
                    f"{bucket}: unfinished multipart uploads aborted after a day",
                    lambda bucket=bucket: apply_lifecycle(client, bucket),
                    supported=provider.lifecycle_api,
                    console=provider.console_lifecycle,
                )
            if not options["no_policy"]:
                self._public_access(client, public.bucket_name, provider, two_buckets)
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(
                f"Could not configure the bucket: {exc}. Fix: {diagnose(exc).fix}"
            ) from exc
        if self.by_hand:
            self.stdout.write(self.style.WARNING("Do by hand (the store's API cannot):"))
            for number, step in enumerate(self.by_hand, start=1):
                self.stdout.write(f"  {number}. {step}")
        self.stdout.write(self.style.SUCCESS("Bucket configuration applied."))

    def _public_access(self, client: Any, bucket: str, provider: Any, two_buckets: bool) -> None:
        if not provider.bucket_policy and not two_buckets:
            raise CommandError(
                f"{provider.label} cannot make media/ public and keep private/ private in one "
                "bucket: create a second bucket for private files, set "
                "AWS_PRIVATE_STORAGE_BUCKET_NAME to it, and run configure_bucket again."
            )
        self._step(
            f"{bucket}: media/ and static/ public, everything else private",
            lambda: apply_public_read_policy(client, bucket),
            supported=provider.bucket_policy,
            console=provider.console_public,
        )

    def _step(self, done: str, apply: Callable[[], None], *, supported: bool, console: str) -> None:
        """Apply one optional step through the API, or say how to do it by hand."""
        if not supported:
            self._by_hand(console or f"not through this store's API: {done}")
            return
        try:
            apply()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in _UNSUPPORTED:
                raise
            self.stdout.write(self.style.WARNING(f"{done}: refused by the store ({exc})."))
            self._by_hand(console or f"in the store's console: {done}")
            return
        self.stdout.write(f"{done}.")

    def _by_hand(self, step: str) -> None:
        if step not in self.by_hand:  # once, however many buckets need it
            self.by_hand.append(step)

    def _create(self, client: Any, bucket: str) -> None:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError:
            client.create_bucket(Bucket=bucket)
            self.stdout.write(f"Created bucket {bucket}.")
