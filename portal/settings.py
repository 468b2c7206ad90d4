"""Token Portal settings: every value comes from the environment through one ``environ.Env()``.

``.env`` is read in development (``PORTAL_ENV_FILE`` points elsewhere; an empty value reads none).
With ``DEBUG`` off, a missing secret stops start-up with a message naming the variable.
"""

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = os.environ.get("PORTAL_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    env.read_env(_env_file)
# Where the .env came from (a system check warns when it is readable by others).
PORTAL_ENV_FILE_PATH = _env_file

DEBUG = env.bool("DEBUG", default=False)

# Secrets that production must supply. In DEBUG a throwaway development value stands in for
# SECRET_KEY and ALLOWED_HOSTS; missing encryption and audit keys are left empty in DEBUG and a
# system check (portal/core/checks.py) refuses to serve without them, because data encrypted or
# chained under a made-up key would be unreadable later. Commands that only print a key skip checks.


def _required(name: str, *, dev_default=None):
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if DEBUG and dev_default is not None:
        return dev_default
    raise ImproperlyConfigured(
        f"The environment variable {name} is not set. Token Portal refuses to start without it "
        f"(see .env.example and the README's configuration table)."
    )


SECRET_KEY = _required("SECRET_KEY", dev_default="insecure-development-only-secret-key")
ALLOWED_HOSTS = [
    h.strip()
    for h in _required("ALLOWED_HOSTS", dev_default="localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
PORTAL_ENCRYPTION_KEYS = _required("PORTAL_ENCRYPTION_KEYS", dev_default="")
PORTAL_AUDIT_KEY = _required("PORTAL_AUDIT_KEY", dev_default="")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin without its own login form: /admin/login/ is the portal's login.
    "portal.accounts.admin_apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Widget templates for the project's form renderer (FORM_RENDERER below).
    "django.forms",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # The JSON API's framework; listed as an app for its self-hosted docs assets (no CDN).
    "ninja",
    "portal.core",
    "portal.accounts",
    "portal.teams",
    "portal.audit",
    "portal.vault",
    "portal.tokens",
    "portal.sandbox",
    "portal.api",
]

MIDDLEWARE = [
    # First: the request context (address, user agent, request id) for logs and the audit.
    "portal.core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed two-factor authentication.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Members of teams that require two-factor authentication enrol before using team pages.
    "portal.accounts.middleware.TwoFactorRequiredMiddleware",
    "portal.core.middleware.SessionLifetimeMiddleware",
    "portal.core.middleware.PrivatePagesNoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Axes turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
    # Fail closed, visibly: a failed audit write rolled its action back; say so (503), not a 500.
    # Last, so its process_exception sees the exception first.
    "portal.audit.middleware.AuditFailureMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.teams.context_processors.teams",
            ],
        },
    },
]

# Every form field in one layout: templates/includes/_form.html and _field.html.
FORM_RENDERER = "portal.core.forms.PortalFormRenderer"

# --- Database -------------------------------------------------------------------------------
# SQLite by default (WAL, immediate transactions so writers queue instead of failing, a busy
# timeout); PostgreSQL through DATABASE_URL.


def _create_private_sqlite_file(path: Path) -> None:
    """The database holds encrypted secrets, password hashes and the audit trail: create its
    folder (0700) and file (0600) owner-only before SQLite writes a byte. SQLite gives its -wal
    and -shm files the database file's permissions. An empty file is an empty database."""
    if str(path) == ":memory:" or path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it meanwhile
        pass


DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db' / 'portal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("PORTAL_SQLITE_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not shared memory, so tests with threads see one database; one file per test run.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"token-portal-test-{os.getpid()}.sqlite3")
    }
    _create_private_sqlite_file(Path(DATABASES["default"]["NAME"]))
else:
    # A unix-socket directory arrives percent-encoded in the URL's host part (postgres://u@%2Frun%2Fpg/db).
    DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("PORTAL_DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, its kept connections checked without a round trip of their own.
        DATABASES["default"]["ENGINE"] = "portal.core.postgresql"

# PostgreSQL with two roles (portal/core/dbroles.py): DATABASE_URL is the role the portal runs
# as, which may only append to and read the audit trail; DATABASE_OWNER_URL - given to the deploy
# step only, never to the app servers - owns the tables: migrate runs as it and then grants the
# runtime role its rights. Without it one role does everything.
PORTAL_DATABASE_OWNER = None
PORTAL_DATABASE_RUNTIME_ROLE = ""
if _owner_url := env.str("DATABASE_OWNER_URL", default=""):
    PORTAL_DATABASE_OWNER = environ.Env.db_url_config(_owner_url)
    PORTAL_DATABASE_OWNER["HOST"] = unquote(PORTAL_DATABASE_OWNER.get("HOST", ""))
    if DATABASES["default"]["ENGINE"] != "portal.core.postgresql" or (
        PORTAL_DATABASE_OWNER["NAME"] != DATABASES["default"]["NAME"]
    ):
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL must name the same PostgreSQL database as DATABASE_URL."
        )
    PORTAL_DATABASE_RUNTIME_ROLE = DATABASES["default"].get("USER", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, sessions ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.accounts.backends.UsernameOrEmailBackend",
]
# Argon2id at OWASP's m=19 MiB, t=2, p=1 (portal/accounts/hashers.py says why); older hashes
# (Django's Argon2 defaults, PBKDF2, scrypt) still verify and are re-made at the next login.
PASSWORD_HASHERS = [
    "portal.accounts.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Argon2 computations one process runs at once (19 MiB each); more logins wait their turn.
PORTAL_PASSWORD_HASH_CONCURRENCY = env.int("PORTAL_PASSWORD_HASH_CONCURRENCY", default=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
PORTAL_ALLOW_SIGNUP = env.bool("PORTAL_ALLOW_SIGNUP", default=False)
# Staff reach the Django admin only from a session that passed two-factor authentication.
PORTAL_REQUIRE_2FA_FOR_STAFF = env.bool("PORTAL_REQUIRE_2FA_FOR_STAFF", default=not DEBUG)
OTP_TOTP_ISSUER = "Token Portal"

PORTAL_SESSION_IDLE_TIMEOUT = env.int("PORTAL_SESSION_IDLE_TIMEOUT", default=30 * 60)
PORTAL_SESSION_ABSOLUTE_LIFETIME = env.int("PORTAL_SESSION_ABSOLUTE_LIFETIME", default=12 * 3600)
SESSION_COOKIE_AGE = PORTAL_SESSION_ABSOLUTE_LIFETIME
# Sessions in the database under a keyed hash of their key: a dump of the table logs no one in.
SESSION_ENGINE = "portal.accounts.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PORTAL_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.accounts.views.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
# Failures count against the account the identifier names, whatever its spelling; identifiers
# naming no account share one counter per client address (portal/accounts/lockout.py).
AXES_USERNAME_CALLABLE = "portal.accounts.lockout.lockout_username"
AXES_VERBOSE = False
# Proxies (addresses or CIDR networks) whose X-Forwarded-For and X-Request-ID are believed; the
# client is the first address from the right of X-Forwarded-For that is not one of them.
PORTAL_TRUSTED_PROXIES = env.list("PORTAL_TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "portal.core.middleware.client_ip"

# --- Security headers -------------------------------------------------------------------------------
# No inline script or style anywhere: templates load static/css and static/js only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("PORTAL_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("PORTAL_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("PORTAL_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("PORTAL_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain and its subdomains to HTTPS in browsers for months and
        # is hard to undo, so it is an operator's opt-in (PORTAL_HSTS_PRELOAD), not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # /healthz is probed by load balancers over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

# --- Static files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Portal features ---------------------------------------------------------------------------------
PORTAL_SANDBOX = env.bool("PORTAL_SANDBOX", default=False)
# Where the portal reaches its own sandbox gateway (it calls it over HTTP like any gateway).
PORTAL_SANDBOX_BASE_URL = env.str(
    "PORTAL_SANDBOX_BASE_URL", default="http://127.0.0.1:8000/sandbox"
)
PORTAL_ALLOW_HTTP_GATEWAYS = env.bool("PORTAL_ALLOW_HTTP_GATEWAYS", default=False)
# One Token API call as a whole (connect, headers, body) ends by PORTAL_TOKEN_TIMEOUT seconds;
# connecting alone gets at most PORTAL_TOKEN_CONNECT_TIMEOUT of that.
PORTAL_TOKEN_TIMEOUT = env.float("PORTAL_TOKEN_TIMEOUT", default=10.0)
PORTAL_TOKEN_CONNECT_TIMEOUT = env.float("PORTAL_TOKEN_CONNECT_TIMEOUT", default=3.05)
# Token API calls one process lets wait on one gateway at a time (0 = no limit); the next is
# refused at once as "busy". Below gunicorn's 8 threads per worker, so a slow gateway always
# leaves threads for every other page.
PORTAL_GATEWAY_MAX_CONCURRENT = env.int("PORTAL_GATEWAY_MAX_CONCURRENT", default=6)
PORTAL_REFRESH_TOKEN_LIFETIME = env.int("PORTAL_REFRESH_TOKEN_LIFETIME", default=86400)
# Token generation per minute (0 = no limit). Counted in the database, so shared by all servers.
PORTAL_RATE_LIMIT_PER_USER = env.int("PORTAL_RATE_LIMIT_PER_USER", default=30)
PORTAL_RATE_LIMIT_PER_TEAM = env.int("PORTAL_RATE_LIMIT_PER_TEAM", default=120)
# Where audit_checkpoint appends and verify_audit reads checkpoints by default (empty: none).
PORTAL_AUDIT_CHECKPOINT_FILE = env.str("PORTAL_AUDIT_CHECKPOINT_FILE", default="")
# Token lifetimes (seconds) of the built-in sandbox gateway; short values help demos and tests.
PORTAL_SANDBOX_ACCESS_TOKEN_LIFETIME = env.int("PORTAL_SANDBOX_ACCESS_TOKEN_LIFETIME", default=3600)
PORTAL_SANDBOX_REFRESH_TOKEN_LIFETIME = env.int(
    "PORTAL_SANDBOX_REFRESH_TOKEN_LIFETIME", default=86400
)

# --- Logging: JSON lines on stdout, a request id on every line, secrets redacted. -------------
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "portal.core.logging.RequestIdLogFilter"},
        "redact": {"()": "portal.core.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "portal.core.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": sys.stdout,
            "filters": ["request_id", "redact"],
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"level": "WARNING"},
    },
}
