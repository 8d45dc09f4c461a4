"""Settings shared by every environment. Values come from config/env.py only."""

import datetime as dt

from csp.constants import NONE, SELF
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
# With the demo tenant, seed small opted-in demo peer companies (ops/demo.py). Production
# settings turn it off for good: made-up companies must never enter real peer cells.
DEMO_PEER_TENANTS = True
DEMO_ADMIN_PASSWORD = env.DEMO_ADMIN_PASSWORD
SUPPORT_EMAIL = env.SUPPORT_EMAIL
EMAIL_URL = env.EMAIL_URL
globals().update(env.email_config())
DEFAULT_FROM_EMAIL = SUPPORT_EMAIL
EMAIL_TIMEOUT = 10  # seconds: a hung mail server fails the command or alert delivery (which is retried)
# The one-time link a migrated workspace's admin sets a password with (Django's reset tokens).
PASSWORD_RESET_TIMEOUT = 14 * 24 * 60 * 60
ALLOWED_HOSTS = [PULSE_BASE_DOMAIN, f".{PULSE_BASE_DOMAIN}", "127.0.0.1"]

# --- Tenancy (django-tenants) -------------------------------------------------------------
# Public schema only: who the tenants are, and the jobs/results that serve all of them.
SHARED_APPS = [
    # Before django_tenants, so that Django's own admin templates win over the older copies
    # django_tenants ships (admin/index.html, admin/app_list.html: one admin colouring apps of
    # both schema kinds, with inline styles the CSP forbids). Pulse has one admin site per kind.
    "config.apps.PulseAdminConfig",
    "django_tenants",
    "tenants",
    "users",
    # Published peer benchmarks: one store for every tenant (kpis computes and reads them).
    "peers",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "django_celery_results",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Sign-in attempts of every schema in one public table (see "Sign-in throttling" below).
    "config.apps.SignInLockoutsConfig",
    "csp",
    # Platform operations: bootstrap, health, incidents and alerts, backups and restore drills (public schema).
    "ops",
]
# Every tenant schema: its users, sessions and business data. Admin, sessions and messages
# are here from the start because adding an app later does not create its tables in
# existing tenants (STACK.md).
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "config.apps.PulseAdminConfig",
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
# django-tenants' name for how many schemas migrate at once; `bootstrap` uses it too.
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.MIGRATION_PROCESSES
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
    "api.middleware.ApiErrorsAsJsonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files before the host lookup: the page of an unknown host needs its stylesheet.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.PulseTenantMiddleware",
    "tenants.middleware.RejectNulBytesMiddleware",
    "tenants.middleware.RequireContentLengthMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.SuspendedTenantMiddleware",
    "users.middleware.PasswordChangeRequiredMiddleware",
    # Last, so it sees the sign-in page a locked-out attempt rendered and answers it as 429.
    "axes.middleware.AxesMiddleware",
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
# A path, not a URL name: the public host (staff back office) has no portal "home".
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# Host-only cookies (no SESSION_COOKIE_DOMAIN) and a session table per schema: a login on
# one tenant's host is never valid on another's.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.SECURE_COOKIES
CSRF_COOKIE_SECURE = env.SECURE_COOKIES

# --- Content-Security-Policy (django-csp) -------------------------------------------------------
# Every page loads scripts, styles, images and fonts from our own origin only: no inline script,
# style attribute or event handler, no eval, no CDN. Enforced in every settings module, so a
# violation shows in the developer's browser console long before production.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        # Registration on the base host sends the browser on to the new tenant's host.
        "form-action": [SELF, f"*.{PULSE_BASE_DOMAIN}:*"],
        "frame-ancestors": [NONE],
    }
}

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
# Uploads and sales syncs can hold a process for minutes (a legal 15 MB workbook that expands to
# 480 MB: 74 s), so they have their own queue and worker (Procfile `ingest`): the default queue's
# short work (beat's dispatchers, trigger evaluation, health checks) never waits behind them.
INGEST_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "ingest.tasks.process_upload": {"queue": INGEST_QUEUE},
    "ingest.tasks.run_due_syncs": {"queue": INGEST_QUEUE},
    "kpis.tasks.peer_benchmarks_publish": {"queue": INGEST_QUEUE},  # minutes of work, like an import
}
# How many ingest processes one tenant may hold at once (ingest/slots.py), so one tenant's big
# files cannot take them all while another tenant's file waits.
INGEST_SLOTS_PER_TENANT = env.INGEST_SLOTS_PER_TENANT

# --- Knowledge base ---------------------------------------------------------------------------
KB_ANSWER_CACHE_SECONDS = env.KB_ANSWER_CACHE_SECONDS
# Optional: with these set, a model writes answers from the retrieved passages (README).
OPENAI_BASE_URL = env.OPENAI_BASE_URL
OPENAI_API_KEY = env.OPENAI_API_KEY
OPENAI_MODEL = env.OPENAI_MODEL
OPENAI_TIMEOUT_SECONDS = env.OPENAI_TIMEOUT_SECONDS
# Redis redelivers an unacked task after this long; longer than the hard time limit, so a
# slow task is never run twice while still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat's entries are rows (django-celery-beat), created once by `bootstrap` (ops/schedules.py)
# so that an operator's edits in the back office survive a redeploy. A settings schedule would
# be written over those rows every time beat starts, so there is none.
CELERY_BEAT_SCHEDULE = {}
# The schedules' clock (backup 03:00 means 03:00 here); sales syncs keep their sources' zones.
OPS_TIMEZONE = env.ops_timezone()

# --- Operations: /health/ and alerts ------------------------------------------------------
HEALTH_TOKEN = env.HEALTH_TOKEN
HEALTH_WORKER_TIMEOUT_SECONDS = env.HEALTH_WORKER_TIMEOUT_SECONDS
HEALTH_MIN_FREE_DISK_PERCENT = env.HEALTH_MIN_FREE_DISK_PERCENT
BACKUP_MAX_AGE_HOURS = env.BACKUP_MAX_AGE_HOURS
SLACK_WEBHOOK = env.SLACK_WEBHOOK
ALERT_EMAIL = env.ALERT_EMAIL
ALERT_REPEAT_HOURS = env.ALERT_REPEAT_HOURS

# --- I18N, static -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env.STATIC_ROOT
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

# --- Sign-in throttling (django-axes) and registration limit ----------------------------------
# Axes refuses a locked-out pair before any password is checked, then our backend signs in.
# Then sign-in by username or e-mail; workspace admins get their permissions from their role.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "users.backends.EmailOrUsernameBackend",
    "users.backends.WorkspaceAdminBackend",
]
# Attempts live in the public schema (axes is a shared app) so staff see and unlock every lockout
# in one list; the username axes stores is "<schema>:<username>", so "admin" of one workspace
# never locks "admin" of another, nor staff. Lockouts are per account AND address: a stranger
# guessing from elsewhere cannot lock a user out.
AXES_USERNAME_CALLABLE = "users.throttling.lockout_username"
AXES_CLIENT_IP_CALLABLE = "users.throttling.client_address"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.LOGIN_COOLOFF_MINUTES)
# The retry time we show stays true: refused attempts during a lockout do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# The sign-in page itself says why and when (users.forms); this only sets its status to 429.
AXES_LOCKOUT_CALLABLE = "users.throttling.lockout_response"
# Our own admin (users.admin) with an explicit unlock; no log of every successful sign-in.
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True
TRUSTED_PROXY_COUNT = env.TRUSTED_PROXY_COUNT
REGISTRATION_LIMIT_PER_HOUR = env.REGISTRATIONS_PER_HOUR

# --- REST API -----------------------------------------------------------------------------
# Views opt into key authentication through api.base; the defaults stay empty so
# nothing is authenticated by accident (the schema and docs are public).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's parsers with bounded bodies, nesting and uploads, and messages that say what to fix.
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "api.parsers.FormParser",
        "ingest.upload_limits.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "api.schema.PulseAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
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
    # Several models have a `status`: name the sets, so the accounts' keeps its name StatusEnum.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "kpis.models.Account.Status",
        "LearnedModelStatusEnum": "kpis.models.LearnedModel.Status",
    },
}

# --- Admin import/export (django-import-export) ----------------------------------------------
# The import preview and its confirmation may reach different web workers, so the file waits in
# the shared, tenant-prefixed cache. Formulas are escaped by ingest.resources: 4.x's
# IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=".
INSTALLED_APPS += ["import_export"]
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

# --- Backups (ops/backups.py, ops/restore.py) ---------------------------------------------------
BACKUP_DIR = env.BACKUP_DIR
BACKUP_RETENTION_DAYS = env.BACKUP_RETENTION_DAYS
AWS_S3_BACKUP_BUCKET = env.AWS_S3_BACKUP_BUCKET
AWS_S3_ENDPOINT_URL = env.AWS_S3_ENDPOINT_URL
PG_BIN_DIR = env.PG_BIN_DIR
