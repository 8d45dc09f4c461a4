"""Settings shared by every environment. Values come from config/env.py only."""

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import env

BASE_DIR = env.BASE_DIR
DEBUG = env.DEBUG
SECRET_KEY = env.SECRET_KEY
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is empty; set it in the environment (see .env.example).")

PULSE_BASE_DOMAIN = env.PULSE_BASE_DOMAIN
PULSE_PORT = env.PULSE_PORT
SEED_DEMO_DATA = env.SEED_DEMO_DATA
DEMO_ADMIN_PASSWORD = env.DEMO_ADMIN_PASSWORD
SUPPORT_EMAIL = env.SUPPORT_EMAIL
ALLOWED_HOSTS = [PULSE_BASE_DOMAIN, f".{PULSE_BASE_DOMAIN}", "127.0.0.1"]

# --- Tenancy (django-tenants) -------------------------------------------------------------
# Public schema only: who the tenants are, and the jobs/results that serve all of them.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "users",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "django_celery_results",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
# Every tenant schema: its users, sessions and business data. Admin, sessions and messages
# are here from the start because adding an app later does not create its tables in
# existing tenants (STACK.md).
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "users",
    "kpis",
    "playbooks",
    "ingest",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from this schema, which `bootstrap` keeps migrated.
TENANT_BASE_SCHEMA = "tenant_base"
TENANT_CREATION_FAKES_MIGRATIONS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# Set the search_path once per schema switch instead of before every query (every switch
# goes through connection.set_schema/set_tenant, which resets it).
TENANT_LIMIT_SET_CALLS = True

DATABASES = {"default": env.database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "tenants.middleware.ApiErrorsAsJsonMiddleware",
    "tenants.middleware.PulseTenantMiddleware",
    "tenants.middleware.RejectNulBytesMiddleware",
    "tenants.middleware.RequireContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.SuspendedTenantMiddleware",
    "users.middleware.PasswordChangeRequiredMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.pulse",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

# --- Users and sessions -------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "users.hashers.PulseArgon2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Host-only cookies (no SESSION_COOKIE_DOMAIN) and a session table per schema: a login on
# one tenant's host is never valid on another's.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.SECURE_COOKIES
CSRF_COOKIE_SECURE = env.SECURE_COOKIES

# --- Cache (Redis), tenant-prefixed keys ----------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env.REDIS_URL
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_DEFAULT_QUEUE = "pulse"
# Redis redelivers an unacked task after this long; longer than the hard time limit, so a
# slow task is never run twice while still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat fires dispatchers only; they fan out one task per tenant.
CELERY_BEAT_SCHEDULE = {
    "hourly-health-check": {
        "task": "tenants.tasks.dispatch_health_checks",
        "schedule": crontab(minute=5),
    },
    "sales-syncs": {
        "task": "ingest.tasks.dispatch_sales_syncs",
        "schedule": crontab(minute=0),  # hourly; each source runs at its own local hour (02:00 default)
    },
    "playbook-triggers": {
        "task": "playbooks.tasks.dispatch_trigger_evaluation",
        "schedule": crontab(minute="*/15"),
    },
    "resume-stalled-uploads": {
        "task": "ingest.tasks.dispatch_resume_stalled_uploads",
        "schedule": crontab(minute="*/10"),
    },
}

# --- I18N, static -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.MEDIA_ROOT
# Uploads bigger than this are refused while they stream in: the first handler stops reading the
# request at the limit, before the others write more to temporary storage (ingest.upload_limits).
INGEST_MAX_UPLOAD_BYTES = env.INGEST_MAX_UPLOAD_MB * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "ingest.upload_limits.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# `sync_sales --api` defaults (the predecessor's data_sync settings); never stored.
SALES_API_URL = env.SALES_API_URL
SALES_API_KEY = env.SALES_API_KEY
# Sales syncs fetch URLs tenants type in: unless this is set (a sales API on the operator's own
# network), they may only reach public addresses, never this server's neighbours (SSRF).
SYNC_ALLOW_PRIVATE_ADDRESSES = env.SYNC_ALLOW_PRIVATE_ADDRESSES
# Django would otherwise hold request bodies this large in memory; uploads stream to disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.LOG_LEVEL},
}

AUTHENTICATION_BACKENDS = ["users.backends.EmailOrUsernameBackend"]

# --- REST API -----------------------------------------------------------------------------
# Views opt into key authentication through tenants.api.base; the defaults stay empty so
# nothing is authenticated by accident (the schema and docs are public).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parsers with bounded bodies, nesting and uploads, and messages that say what to fix.
    "DEFAULT_PARSER_CLASSES": [
        "tenants.api.parsers.JSONParser",
        "tenants.api.parsers.FormParser",
        "ingest.upload_limits.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "tenants.api.schema.PulseAutoSchema",
    "EXCEPTION_HANDLER": "tenants.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pulse API",
    "DESCRIPTION": (
        "Customer-success data and health for your workspace. Authenticate with "
        "`Authorization: Token <key>`; a key selects its workspace, so call your workspace host "
        'or the base host. Every error is `{"error": {"code", "message", "fields"}}`. '
        "Responses carry X-RateLimit-Limit/Remaining/Reset for the plan's monthly quota."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# --- Admin import/export (django-import-export) ----------------------------------------------
# The import preview and its confirmation may reach different web workers, so the file waits in
# the shared, tenant-prefixed cache. Formulas are escaped by ingest.resources: 4.x's
# IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=".
INSTALLED_APPS += ["import_export"]
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"
