"""Settings shared by every environment, read from the environment.

With no variables set this is the embedded default: SQLite under var/, Celery on a
filesystem transport (a worker started by `make run`), mail written to files under var/.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# The embedded default keeps its database, mail files and job queue here; create it up front
# so a fresh clone works without a setup step.
for _sub in ("", "mail", "celery/queue", "celery/processed", "media"):
    (VAR_DIR / _sub).mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    # Only for the embedded default; production.py refuses to start without a real key.
    default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz",
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "common",
    "accounts",
    "organisations",
    "events",
    "participants",
    "payments",
    "communications",
    "api",
    "press",
    "schools",
    "mailings",
    "privacy",
    "backoffice",
]

MIDDLEWARE = [
    # First: HEAD runs as GET through every layer below, its body dropped last (common.http).
    "common.http.HeadAsGetMiddleware",
    "common.http.SignedLinkNoStoreMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.OrganiserTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a request its backend marked as locked out into the
    # lockout answer (accounts.login_limits.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
                "common.context_processors.organiser_menu",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, so the web process and the worker
    # serialise their writes instead of failing with "database is locked" mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

FORMS_URLFIELD_ASSUME_HTTPS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Two-factor (django-otp TOTP): every organiser role (administrator, campaign manager, check-in
# staff) needs a confirmed authenticator and a verified session
# (accounts.middleware.OrganiserTwoFactorMiddleware). `make run` switches it off for the demo,
# the production settings always on; off in tests that do not test it (config/settings/test.py).
OTP_REQUIRED_FOR_ORGANISERS = env.bool("OTP_REQUIRED_FOR_ORGANISERS", default=True)
OTP_TOTP_ISSUER = "Week van de Werkstress"
OTP_TOTP_THROTTLE_FACTOR = 1

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache (rate limits, idempotency locks) ----------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://werkstress")}

# Rate limits (common/ratelimit.py). Behind N reverse proxies that append to X-Forwarded-For,
# set RATELIMIT_TRUSTED_PROXIES=N so the client address is taken from that header, not the proxy's.
RATELIMIT_ENABLED = env.bool("RATELIMIT_ENABLED", default=True)
RATELIMIT_TRUSTED_PROXIES = env.int("RATELIMIT_TRUSTED_PROXIES", default=0)

# Failed logins (django-axes, configured in accounts/login_limits.py): wrong passwords (login
# page, Django admin, anything calling authenticate()) and wrong second-factor codes, counted per
# account from any address and per address (same client address as the rate limits) for any
# account; reaching either limit locks that account or address out for the lockout period
# (HTTP 429, a Dutch page). Counted in the database, so every web process shares the tallies.
AUTHENTICATION_BACKENDS = [
    "accounts.login_limits.LoginLimitBackend",  # first: refuses before a password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = RATELIMIT_ENABLED
AXES_HANDLER = "accounts.login_limits.LoginAttemptHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # separately, not as a combination
AXES_FAILURE_LIMIT = env.int("RATELIMIT_LOGIN_FAILURES", default=5)  # per account
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("RATELIMIT_LOGIN_ADDRESS_FAILURES", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("RATELIMIT_LOGIN_LOCKOUT_MINUTES", default=15))
# Refused attempts during a lockout do not extend it (and are not audited again).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The account's own failures are forgiven after a complete login (login_limits explains why
# axes' broader reset is off).
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "common.ratelimit.client_address"
AXES_USERNAME_CALLABLE = "accounts.login_limits.login_username"
AXES_USERNAME_FORM_FIELD = "username"  # what Django's login forms post
AXES_LOCKOUT_CALLABLE = "accounts.login_limits.lockout_response"
# Failures and lockouts go to our audit log (privacy); axes keeps only the open tallies, not a
# second log of every login with names and addresses.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False  # no start-up banner; its log lines mask names and addresses anyway
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "token", "csrfmiddlewaretoken"]

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="nl")
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Mail -----------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_HOST", default=""):
    # The same SMTP server given as Django's separate settings (hosting panels often hand them
    # out this way, and a password with URL-special characters needs no escaping here).
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
    # An empty EMAIL_PORT (as .env.example lists it) means the usual port for the security.
    EMAIL_PORT = int(
        env.str("EMAIL_PORT", default="")
        or (465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
    )
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Week van de Werkstress <noreply@werkstress.example.nl>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
    }
else:
    # Redis: a message not acknowledged within this time is delivered again (worker died).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Separate queues so a certificate run never delays a ticket confirmation (any module's
# render_* task goes to documents, send_* to mail; everything else to default).
CELERY_TASK_ROUTES = {
    "communications.*send_*": {"queue": "mail"},
    "communications.*render_*": {"queue": "documents"},
}
CELERY_TIMEZONE = TIME_ZONE
# Task modules outside <app>/tasks.py (autodiscovery only finds those).
CELERY_IMPORTS = ["communications.documents"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict = {
    # Re-queues outbox mails whose task was lost (broker down, worker killed) or is due a retry.
    # Often: a killed worker's mails wait for their claim lease (30 s) plus this interval.
    "sweep-outbox": {"task": "communications.tasks.sweep_outbox_task", "schedule": 15.0},
    "event-reminders": {
        "task": "communications.tasks.queue_event_reminders_task",
        "schedule": 3600.0,
    },
    "expire-waitlist-offers": {
        "task": "participants.tasks.expire_waitlist_offers_task",
        "schedule": 300.0,
    },
}
# Marks school sessions whose time has passed as held and sends both sides the feedback links.
CELERY_BEAT_SCHEDULE["schools-complete-sessions"] = {
    "task": "schools.tasks.complete_school_sessions_task",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST framework --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # OPTIONS points at the OpenAPI schema instead of describing serializer_class (api.metadata).
    "DEFAULT_METADATA_CLASS": "api.metadata.ApiMetadata",
}
# Idempotency-Key responses are kept 24 hours; forget them hourly after that.
CELERY_BEAT_SCHEDULE["api-purge-idempotency"] = {
    "task": "api.tasks.purge_idempotency_records_task",
    "schedule": 3600.0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Werkstress events API",
    "DESCRIPTION": "Events, bookings and campaign-week sign-ups.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A blank text field is refused (DRF's allow_blank=False): say so with minLength 1 on input;
    # the hook keeps it off response-only components, where such fields may be "".
    "ENFORCE_NON_BLANK_FIELDS": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.blank_checks_for_requests_only",
    ],
    # Stable names for choice sets several serializers share (otherwise hashed names).
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "events.models.Event.Kind",
        "QuestionKindEnum": "events.models.Question.Kind",
        "LanguageEnum": "participants.models.Language",
    },
}

# --- Stripe ------------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Seconds per Stripe request (the SDK retries twice): a booker waits on the checkout call.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
# Seller details printed on every invoice (Dutch invoice rules: name, address, KvK, VAT number).
INVOICE_SELLER_NAME = env.str("INVOICE_SELLER_NAME", default="Week van de Werkstress")
INVOICE_SELLER_ADDRESS = env.str(
    "INVOICE_SELLER_ADDRESS", default="Parnassusplein 5, 2511 VX Den Haag"
)
INVOICE_SELLER_KVK = env.str("INVOICE_SELLER_KVK", default="27376655")
INVOICE_SELLER_VAT_NUMBER = env.str("INVOICE_SELLER_VAT_NUMBER", default="NL003214394B01")
INVOICE_SELLER_IBAN = env.str("INVOICE_SELLER_IBAN", default="NL91ABNA0417164300")
INVOICE_PAYMENT_DAYS = env.int("INVOICE_PAYMENT_DAYS", default=30)
INVOICE_REMINDER_INTERVAL_DAYS = env.int("INVOICE_REMINDER_INTERVAL_DAYS", default=7)
INVOICE_MAX_REMINDERS = env.int("INVOICE_MAX_REMINDERS", default=3)
CELERY_BEAT_SCHEDULE.update(
    {
        "payments-expire-holds": {"task": "payments.tasks.expire_holds_task", "schedule": 60.0},
        "payments-invoice-reminders": {
            "task": "payments.tasks.remind_invoices_task",
            "schedule": 6 * 3600.0,
        },
        "payments-retry-refunds": {"task": "payments.tasks.retry_refunds_task", "schedule": 600.0},
    }
)

# --- Product -----------------------------------------------------------------------------------
ORGANISER_NAME = env.str(
    "ORGANISER_NAME", default="Ministerie van Sociale Zaken en Werkgelegenheid"
)
ORGANISER_EMAIL = env.str("ORGANISER_EMAIL", default="events@werkstress.example.nl")
SIGNED_LINK_MAX_AGE_DAYS = env.int("SIGNED_LINK_MAX_AGE_DAYS", default=365)
# The check-in window (participants.checkin): from this many minutes before an event starts
# until this many minutes after it ends. Outside it every check-in entry point refuses.
CHECKIN_OPENS_BEFORE_START_MINUTES = env.int("CHECKIN_OPENS_BEFORE_START_MINUTES", default=120)
CHECKIN_CLOSES_AFTER_END_MINUTES = env.int("CHECKIN_CLOSES_AFTER_END_MINUTES", default=0)
# Personal data of an event's attendees is anonymised this many days after it ended, unless
# the event has its own privacy.RetentionPolicy.
PRIVACY_DEFAULT_RETENTION_DAYS = env.int("PRIVACY_DEFAULT_RETENTION_DAYS", default=365)
CELERY_BEAT_SCHEDULE["privacy-anonymise-expired"] = {
    "task": "privacy.tasks.anonymise_expired_task",
    "schedule": 24 * 3600.0,
}
# Press material (embargoed files) lives OUTSIDE MEDIA_ROOT: only press views serve it.
PRESS_MATERIAL_ROOT = Path(
    env.str("PRESS_MATERIAL_ROOT", default=str(VAR_DIR / "private" / "press"))
)
# Export files (personal data) live OUTSIDE MEDIA_ROOT: only the back-office view serves them.
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(VAR_DIR / "private" / "exports")))
BACKOFFICE_EXPORT_SYNC_MAX_ROWS = env.int("BACKOFFICE_EXPORT_SYNC_MAX_ROWS", default=5000)
# A finished export file is a copy of personal data outside the tables: deleted after this.
BACKOFFICE_EXPORT_KEEP_DAYS = env.int("BACKOFFICE_EXPORT_KEEP_DAYS", default=7)
# Queues an export job again when its task was lost (backoffice.services.export_jobs_resume).
CELERY_BEAT_SCHEDULE["backoffice-resume-exports"] = {
    "task": "backoffice.tasks.resume_export_jobs_task",
    "schedule": 300.0,
}
PRESS_MATERIAL_MAX_BYTES = env.int("PRESS_MATERIAL_MAX_BYTES", default=20 * 1024 * 1024)
PRESS_REMINDER_DAYS = env.int("PRESS_REMINDER_DAYS", default=3)
PRESS_MAX_REMINDERS = env.int("PRESS_MAX_REMINDERS", default=2)
CELERY_BEAT_SCHEDULE["press-invitation-reminders"] = {
    "task": "press.tasks.send_press_reminders_task",
    "schedule": 3600.0,
}
# Queues a mailing's send job again when its task was lost (mailings.services.mailings_resume).
CELERY_BEAT_SCHEDULE["mailings-resume-sending"] = {
    "task": "mailings.tasks.resume_mailings_task",
    "schedule": 300.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"drop_expected_conflicts": {"()": "common.logging.DropExpectedConflicts"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "django.request": {"filters": ["drop_expected_conflicts"]},
        # django-axes logs every login at INFO; failures and lockouts (WARNING) are what count.
        "axes": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
