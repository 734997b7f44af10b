"""The one settings module. Every value that differs between machines comes from the environment.

Development defaults (``DEBUG=True``): SQLite and local disk. Production
(``DEBUG`` unset or false) refuses to start without ``SECRET_KEY``.
See ``.env.koyeb.example`` for a complete production environment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

from jobs.conf import DEFAULTS as JOBS_DEFAULTS
from media_store.conf import DEFAULTS as MEDIA_DEFAULTS
from media_store.storage.config import S3Settings, build_storages

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")  # never overrides variables already set


def _from_env(defaults: dict[str, Any], name: str) -> Any:
    """Setting ``name`` from the environment, read as the type of its default in
    ``defaults`` (each app keeps its defaults in its ``conf.DEFAULTS``)."""
    default = defaults[name]
    if isinstance(default, bool):
        return env.bool(name, default=default)
    if isinstance(default, tuple):
        return env.list(name, cast=type(default[0]), default=list(default))
    return {int: env.int, float: env.float, str: env.str}[type(default)](name, default=default)


DEBUG = env.bool("DEBUG", default=False)
# Fails fast (ImproperlyConfigured) in production when SECRET_KEY is missing.
SECRET_KEY = env.str("SECRET_KEY") if not DEBUG else env.str("SECRET_KEY", default="dev-insecure")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "storages",
    "django_tasks",
    "django_tasks_db",
    "config.apps.ProjectConfig",
    "jobs",
    "media_store",
    "core",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "config.chunked.RefuseChunkedBodiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.slashes.ApiTrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout into core.accounts.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "storefront"
LOGOUT_REDIRECT_URL = "storefront"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# An empty DATABASE_URL counts as unset (not as Django's dummy engine).
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A SQLite file is lost at every redeploy on platforms with an ephemeral disk: the
# config.E001 check refuses it in production unless the file sits on a mounted volume.
DATABASE_ON_VOLUME = env.bool("DATABASE_ON_VOLUME", default=False)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches -------------------------------------------------------------------
# The cache (and the throttle counts, config.throttles) must be shared by every worker
# and instance: the app's own database by default (the tables are created by
# migrations, so `migrate` is enough), Redis when REDIS_URL is set. Never per-process
# memory.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Bounded waits: an unreachable Redis fails a request in seconds (503), not minutes.
    REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=2)
    CACHE_BACKEND = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
    }
else:
    CACHE_BACKEND = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        # When the table holds more rows than this, expired ones are deleted, and if
        # that is not enough a third of all rows (throttle counts live elsewhere).
        "OPTIONS": {"MAX_ENTRIES": env.int("CACHE_MAX_ENTRIES", default=50_000)},
    }
CACHES = {
    "default": {
        **CACHE_BACKEND,
        # Lets several apps (or test runs) share one Redis without mixing their counts.
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=""),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Media and static files -------------------------------------------------
USE_S3 = env.bool("USE_S3", default=False)
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_PRIVATE_STORAGE_BUCKET_NAME = env.str("AWS_PRIVATE_STORAGE_BUCKET_NAME", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None
MEDIA_SIGNED_URL_EXPIRE = _from_env(MEDIA_DEFAULTS, "MEDIA_SIGNED_URL_EXPIRE")
STATIC_ON_S3 = env.bool("STATIC_ON_S3", default=True)

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))


def _optional_bool(name: str) -> bool | None:
    """A boolean setting, or None when unset (the store's profile then decides)."""
    return env.bool(name) if env.str(name, default="") else None


S3 = S3Settings(
    bucket_name=AWS_STORAGE_BUCKET_NAME,
    private_bucket_name=AWS_PRIVATE_STORAGE_BUCKET_NAME,
    access_key=AWS_ACCESS_KEY_ID or None,
    secret_key=AWS_SECRET_ACCESS_KEY or None,
    # aws, r2, b2, spaces, minio, ceph or generic; unset: found from the endpoint's host.
    # The settings below left unset default from it (media_store.storage.providers).
    provider=env.str("AWS_S3_PROVIDER", default="") or None,
    region_name=AWS_S3_REGION_NAME,
    endpoint_url=AWS_S3_ENDPOINT_URL,
    custom_domain=AWS_S3_CUSTOM_DOMAIN,
    addressing_style=env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
    connect_timeout=env.float("AWS_S3_CONNECT_TIMEOUT", default=S3Settings.connect_timeout),
    read_timeout=env.float("AWS_S3_READ_TIMEOUT", default=S3Settings.read_timeout),
    max_attempts=env.int("AWS_S3_MAX_ATTEMPTS", default=S3Settings.max_attempts),
    signed_url_expire=MEDIA_SIGNED_URL_EXPIRE,
    conditional_writes=_optional_bool("AWS_S3_CONDITIONAL_WRITES"),
    checksums=_optional_bool("AWS_S3_CHECKSUMS"),
    direct_upload=env.str("AWS_S3_DIRECT_UPLOAD", default="") or None,
)
# A second store every write and delete is repeated on, in the background
# (media_store.storage.mirror): another provider or region, the way to move stores.
MEDIA_MIRROR_BUCKET_NAME = env.str("MEDIA_MIRROR_BUCKET_NAME", default="")
MEDIA_MIRROR = (
    S3Settings(
        bucket_name=MEDIA_MIRROR_BUCKET_NAME,
        private_bucket_name=env.str("MEDIA_MIRROR_PRIVATE_BUCKET_NAME", default="") or None,
        access_key=env.str("MEDIA_MIRROR_ACCESS_KEY_ID", default="") or None,
        secret_key=env.str("MEDIA_MIRROR_SECRET_ACCESS_KEY", default="") or None,
        provider=env.str("MEDIA_MIRROR_PROVIDER", default="") or None,
        region_name=env.str("MEDIA_MIRROR_REGION_NAME", default="") or None,
        endpoint_url=env.str("MEDIA_MIRROR_ENDPOINT_URL", default="") or None,
        connect_timeout=S3.connect_timeout,
        read_timeout=S3.read_timeout,
        max_attempts=S3.max_attempts,
    )
    if USE_S3 and MEDIA_MIRROR_BUCKET_NAME
    else None
)
STORAGES = build_storages(
    use_s3=USE_S3,
    s3=S3,
    media_root=MEDIA_ROOT,
    private_root=PRIVATE_MEDIA_ROOT,
    static_on_s3=STATIC_ON_S3,
    mirror=MEDIA_MIRROR,
)
# S3 storages build their own URLs (bucket, CDN or signed); STATIC_URL and MEDIA_URL
# only matter for files served by this app (whitenoise, local development media).
STATIC_URL = "/static/"
if not USE_S3:
    MEDIA_URL = "/media/"

# Limits and media behaviour; defaults in media_store.conf (see README "Configuration").
MEDIA_MAX_UPLOAD_BYTES = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_UPLOAD_BYTES")
MEDIA_MAX_IMAGE_PIXELS = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_IMAGE_PIXELS")
MEDIA_MAX_FILES_PER_REQUEST = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_FILES_PER_REQUEST")
ORDER_MAX_IMAGES = env.int("ORDER_MAX_IMAGES", default=MEDIA_MAX_FILES_PER_REQUEST)
# Longest side of a stored order photo: enough to see what the customer means, a
# quarter of a 12 MP photo's pixels (the page downscales to it before sending).
ORDER_IMAGE_MAX_DIMENSION = env.int("ORDER_IMAGE_MAX_DIMENSION", default=2048)
MEDIA_REENCODE_PUBLIC = _from_env(MEDIA_DEFAULTS, "MEDIA_REENCODE_PUBLIC")
MEDIA_RENDITION_WIDTHS = _from_env(MEDIA_DEFAULTS, "MEDIA_RENDITION_WIDTHS")
MEDIA_RENDITION_FORMATS = _from_env(MEDIA_DEFAULTS, "MEDIA_RENDITION_FORMATS")
# --- Bounded work per upload (media_store.imaging.decoding; see README "Configuration") ---
MEDIA_MAX_FRAMES = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_FRAMES")
MEDIA_MAX_JPEG_SCANS = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_JPEG_SCANS")
MEDIA_MAX_DECODE_MEMORY = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_DECODE_MEMORY")
MEDIA_DECODE_CONCURRENCY = _from_env(MEDIA_DEFAULTS, "MEDIA_DECODE_CONCURRENCY")
MEDIA_MAX_STORED_DIMENSION = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_STORED_DIMENSION")
MEDIA_MAX_ICC_BYTES = _from_env(MEDIA_DEFAULTS, "MEDIA_MAX_ICC_BYTES")
# Bodies above this spill to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Background tasks -----------------------------------------------------------
# Django's tasks API; the default backend keeps the queue in this database (no new
# service). Another backend (RQ, Celery, SQS...) is one setting away: see docs/SCALING.md.
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
JOBS_MAX_ATTEMPTS = _from_env(JOBS_DEFAULTS, "JOBS_MAX_ATTEMPTS")
JOBS_RETRY_BASE_SECONDS = _from_env(JOBS_DEFAULTS, "JOBS_RETRY_BASE_SECONDS")
JOBS_RETRY_MAX_SECONDS = _from_env(JOBS_DEFAULTS, "JOBS_RETRY_MAX_SECONDS")
JOBS_HEARTBEAT_SECONDS = _from_env(JOBS_DEFAULTS, "JOBS_HEARTBEAT_SECONDS")
JOBS_WORKER_STALE_SECONDS = _from_env(JOBS_DEFAULTS, "JOBS_WORKER_STALE_SECONDS")
JOBS_WORKER_MISSING_SECONDS = _from_env(JOBS_DEFAULTS, "JOBS_WORKER_MISSING_SECONDS")
JOBS_RESULT_RETENTION_DAYS = _from_env(JOBS_DEFAULTS, "JOBS_RESULT_RETENTION_DAYS")

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated API request is told so with 401 + WWW-Authenticate.
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.BoundedJSONParser",
        "config.parsers.BoundedFormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=20),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.exception_handler",
    # config.throttles.UploadThrottle: fixed windows, atomic in the shared cache.
    "DEFAULT_THROTTLE_RATES": {
        "uploads": env.str("UPLOAD_THROTTLE_RATE", default="60/hour"),
    },
}
# Direct-upload grants count against the same upload throttle.
MEDIA_UPLOAD_THROTTLE_CLASSES = ["config.throttles.UploadThrottle"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": "Products with images and orders with uploaded images, stored in S3.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from our own static files (pinned by the sidecar package's
    # version), never a third-party CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Accounts: API tokens and login lockout -----------------------------------------
# API tokens (django-rest-knox): stored hashed, expire, revocable (logout, logout-all,
# the admin's "Revoke API tokens" action). Clients send `Authorization: Token <token>`.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.float("API_TOKEN_TTL_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",
}
# Login lockout (django-axes): failures are counted in the database, so every worker
# and instance sees them; the API, the login form and the admin are all covered.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15))
# Locked when either the username or the client address has too many failures.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# A lockout lasts AXES_COOLOFF_TIME from the last counted failure: attempts refused
# during it are not recorded, so they neither extend it nor count against the
# usernames they name (a locked address cannot lock other people's accounts).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "core.accounts.lockout_response"
# Behind a platform's proxy every request comes from the proxy: name how many proxies
# append to X-Forwarded-For, and the address the outermost one saw is counted (the
# N-th entry from the right; what a client wrote to the left of it is ignored, and a
# header with fewer entries is not trusted). See media_store.web.clients.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.accounts.client_ip"
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # the throttles' anonymous clients

# --- Shop limits --------------------------------------------------------------------
# The currency prices are in (an ISO 4217 code, shown beside every price).
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="USD")
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=50)
ORDER_MAX_QUANTITY = env.int("ORDER_MAX_QUANTITY", default=1000)
# How long an Idempotency-Key is remembered (POST orders and products).
IDEMPOTENCY_WINDOW = timedelta(hours=env.float("IDEMPOTENCY_WINDOW_HOURS", default=24))

# --- Readiness details ----------------------------------------------------------------
# /readyz shows each check's detail to staff, or to callers sending this token as
# `Authorization: Bearer <token>` (e.g. a monitoring service); others get the status only.
HEALTH_DETAILS_TOKEN = env.str("HEALTH_DETAILS_TOKEN", default="")

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True

# --- Security (production) ----------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# The preload flag only matters once the domain is submitted to the browsers' list.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
