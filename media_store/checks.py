"""System checks: the two ways uploads silently get lost in production, and settings
that would fail only at the first upload."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

#: Environment variables set by platforms whose local disk is wiped on restart.
EPHEMERAL_PLATFORM_MARKERS = {
    "KOYEB_APP_NAME": "Koyeb",
    "KOYEB_SERVICE_NAME": "Koyeb",
    "DYNO": "Heroku",
    "RENDER": "Render",
    "FLY_APP_NAME": "Fly.io",
}


def ephemeral_platform() -> str | None:
    for variable, platform in EPHEMERAL_PLATFORM_MARKERS.items():
        if os.environ.get(variable):
            return platform
    return None


@register("media")
def check_media_storage(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    use_s3 = getattr(settings, "USE_S3", False)
    platform = ephemeral_platform()
    if platform and not use_s3 and not settings.DEBUG:
        errors.append(
            Error(
                f"Running on {platform}, whose disk is wiped on every restart and redeploy, "
                "with USE_S3 off: uploaded files would be lost.",
                hint="Set USE_S3=True and the AWS_* variables (see KOYEB_QUICK_FIX.md).",
                id="media_store.E001",
            )
        )
    if use_s3:
        missing = [
            name
            for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            if not getattr(settings, name, None)
        ]
        if missing:
            errors.append(
                Error(
                    f"USE_S3 is on but {', '.join(missing)} is not set.",
                    hint="Set them in the service's environment (see .env.koyeb.example).",
                    id="media_store.E002",
                )
            )
    return errors


@register("media")
def check_rendition_formats(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from media_store.imaging.renditions import formats_in_use

    try:
        formats_in_use()
    except ValueError as exc:
        return [Error(str(exc), hint="Fix MEDIA_RENDITION_FORMATS.", id="media_store.E003")]
    return []


#: Which setting gives each storage alias its endpoint, for the message.
_ENDPOINT_SETTINGS = {"mirror": "MEDIA_MIRROR_ENDPOINT_URL", "primary": "AWS_S3_ENDPOINT_URL"}


@register("media")
def check_endpoints(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """An endpoint without its scheme (``acct.r2.cloudflarestorage.com``) is refused by
    the S3 client at the first request, deep inside a task or a command."""
    errors = []
    for options in (alias.get("OPTIONS", {}) for alias in settings.STORAGES.values()):
        endpoint = options.get("endpoint_url")
        if endpoint and not str(endpoint).startswith(("https://", "http://")):
            name = _ENDPOINT_SETTINGS[options.get("role", "primary")]
            errors.append(
                Error(
                    f"{name} is {endpoint!r}: an endpoint URL starts with https://.",
                    hint=f"Set {name}=https://{endpoint}",
                    id="media_store.E004",
                )
            )
    return list({error.msg: error for error in errors}.values())  # one per setting
