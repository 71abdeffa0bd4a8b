"""Typed settings read from the environment (``SIGNON_*``) with safe defaults.

``create_app`` takes a :class:`Settings` object; tests build their own instead of
mutating ``app.config`` after the fact.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"SIGNON_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "")
    if not raw:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = _env(name, "")
    return int(raw) if raw else default


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _env(name, "").split(",") if item.strip())


def log_format_from_env() -> str:
    """``json`` or ``text``, as :attr:`Settings.resolved_log_format` decides, from the
    environment alone: for gunicorn's own logs, set up before the app (and its other
    settings, such as the secret key) are loaded."""
    settings = Settings(
        secret_key="",
        environment=_env("ENV") or Settings.environment,
        log_format=_env("LOG_FORMAT").strip().lower(),
    )
    return settings.resolved_log_format


#: ``SIGNON_ENV``: anything but this value is production.
DEVELOPMENT = "development"
#: The canonical address in development when none is set (``make run`` serves here).
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
#: Host names every development server also answers to (the loopback names).
DEVELOPMENT_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed: the app refuses to start (the message says which)."""


#: Bucket names as S3 allows them (3-63 lower-case letters, digits, dots and hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def bucket_of(storage_url: str) -> tuple[str, str]:
    """``(bucket, key prefix)`` of ``SIGNON_STORAGE_URL`` (``s3://bucket[/prefix]``), or
    :class:`ConfigurationError` saying what is wrong."""
    parts = urlsplit(storage_url.strip())
    if parts.scheme != "s3" or not _BUCKET.fullmatch(parts.netloc) or parts.query:
        raise ConfigurationError(
            f"SIGNON_STORAGE_URL ({storage_url!r}) must read s3://bucket or "
            "s3://bucket/prefix, e.g. s3://signon-files/production (leave it unset to keep "
            "the files in SIGNON_STORAGE_DIR)."
        )
    return parts.netloc, parts.path.strip("/")


#: A production secret key has at least this many characters (32 hex digits: 128 bits).
MIN_SECRET_KEY_LENGTH = 32
#: ... and at least this many different characters (refuses "aaaa...", "0000...").
MIN_SECRET_KEY_DISTINCT = 10
#: Keys copied from examples, tutorials and our own tests: refused in production whatever
#: their length. Compared case-insensitively, without surrounding blanks.
KNOWN_SECRET_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "dev",
        "development",
        "test-secret-key",
        "your-secret-key",
        "your-secret-key-here",
        "replace-me",
        "please-change-me",
        "super-secret-key",
        "supersecretkey",
        "signon",
        "insecure",
        "default",
    }
)
#: How to make a good key, quoted in the refusals.
SECRET_KEY_HINT = (
    "Generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))' and set "
    "SIGNON_SECRET_KEY to it (the same value on every app server). For a local development "
    "server set SIGNON_ENV=development instead, as `make run` does."
)


def production_secret_key(raw: str) -> str:
    """``raw`` if it may sign sessions in production, else :class:`ConfigurationError`.

    Production never falls back to the generated ``instance/secret_key``: that file is
    local to one machine (two app servers would not accept each other's sessions) and a
    lost or copied instance folder silently changes or leaks the key.
    """
    key = raw.strip()
    if not key:
        raise ConfigurationError(f"SIGNON_SECRET_KEY is not set. {SECRET_KEY_HINT}")
    if key.lower() in KNOWN_SECRET_KEYS:
        raise ConfigurationError(
            f"SIGNON_SECRET_KEY is a well-known example value ({key!r}). {SECRET_KEY_HINT}"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SIGNON_SECRET_KEY is too short ({len(key)} characters; at least "
            f"{MIN_SECRET_KEY_LENGTH}). {SECRET_KEY_HINT}"
        )
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        raise ConfigurationError(
            f"SIGNON_SECRET_KEY is not random (only {len(set(key))} different characters). "
            f"{SECRET_KEY_HINT}"
        )
    return key


def _secret_key_from_env(environment: str) -> str:
    """``SIGNON_SECRET_KEY``, checked in production; in development, a generated one if unset."""
    raw = _env("SECRET_KEY")
    if environment != DEVELOPMENT:
        return production_secret_key(raw)
    return raw or _development_secret_key()


def _development_secret_key() -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive restarts in development."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    secret_key: str
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'signon.db'}"
    testing: bool = False
    #: Mail: with no SMTP host, messages are written to ``mail_outbox`` and printed.
    mail_server: str = ""
    mail_port: int = 25
    mail_username: str = ""
    mail_password: str = ""
    mail_use_tls: bool = False
    mail_use_ssl: bool = False
    mail_default_sender: str = "Signon <no-reply@signon.localhost>"
    mail_outbox: str = str(INSTANCE_DIR / "outbox")
    #: The site's canonical address, ``scheme://host[:port]`` (``SIGNON_BASE_URL``): every
    #: link in every mail is built from it, never from the request's Host header, and only
    #: its host (plus ``allowed_hosts``) is served. Required outside development.
    base_url: str = ""
    #: Older spelling: ``SIGNON_SERVER_NAME`` (host[:port]), with https when ``SIGNON_HTTPS``
    #: is on; used only when ``base_url`` is empty.
    server_name: str | None = None
    #: Further host names the site answers to (``SIGNON_ALLOWED_HOSTS``, comma-separated;
    #: a leading dot allows every sub-domain). Links never use them.
    allowed_hosts: tuple[str, ...] = ()
    #: ``SIGNON_ENV``: "production" (the default) or "development" (``make run``), where a
    #: missing ``base_url`` falls back to :data:`DEVELOPMENT_BASE_URL`.
    environment: str = "production"
    preferred_url_scheme: str = "http"
    #: Secure cookies and HSTS: switch on whenever the site is served over HTTPS.
    https: bool = False
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
    trusted_proxies: int = 0
    #: Limits on user input. A letter's text: about 15,000 words, far above any
    #: sign-on letter; its worst-case Markdown takes about 2 s to render (once per save).
    max_body_chars: int = 100_000
    max_content_length: int = 4 * 1024 * 1024
    #: The request limit of the views that take a letter bundle (``large_upload``): a
    #: bundle of 20,000 signatories with their history is about 10-20 MB.
    max_bundle_bytes: int = 64 * 1024 * 1024
    #: A session ends after this many hours without a request, and this many days
    #: after logging in, whatever happened meanwhile (ASVS 7.3).
    session_idle_hours: int = 12
    session_max_days: int = 30
    #: Token lifetimes, in hours.
    confirm_email_hours: int = 72
    reset_password_hours: int = 2
    organisation_invite_hours: int = 14 * 24
    #: Letter invitations without a deadline expire after this many days.
    invitation_days: int = 30
    #: Reminders go out this many hours before a letter's deadline (once per point).
    reminder_hours: tuple[int, ...] = (168, 48, 12)
    #: Mails to invitees on a coordinator's behalf, per rolling 24 hours: per account,
    #: per account younger than ``new_account_days``, and per letter (all coordinators).
    mail_allowance_account_day: int = 500
    mail_allowance_new_account_day: int = 50
    mail_allowance_letter_day: int = 1000
    new_account_days: int = 7
    #: A bulk invitation of more than this many mails asks the coordinator to confirm.
    bulk_confirm_threshold: int = 50
    #: Confirmation mails per address per hour, whatever the route (login, register, resend).
    confirmation_mails_per_hour: int = 5
    #: Send a request's mail only once its response has been sent (``response.close()``),
    #: so that response times do not tell whether an address has an account. Off in the
    #: tests: Werkzeug's test client only closes a response when told to.
    mail_after_response: bool = True
    #: Where uploaded logos and exported PDFs are kept.
    storage_dir: str = str(INSTANCE_DIR / "storage")
    #: ``s3://bucket/prefix``: keep them in an S3-compatible bucket instead (every app
    #: server and worker then reads the same files); empty: the folder above.
    storage_url: str = ""
    #: The S3 endpoint (``https://minio.internal:9000``; empty: AWS), region and keys
    #: (empty: boto3's own chain: ``AWS_*`` variables, instance roles).
    storage_endpoint_url: str = ""
    storage_region: str = ""
    storage_access_key_id: str = ""
    storage_secret_access_key: str = field(default="", repr=False)
    #: Rate limiting storage (``memory://`` or ``redis://host:port``).
    ratelimit_storage_url: str = "memory://"
    ratelimit_enabled: bool = True
    #: Public sign-on, per client IP (limits syntax: "20 per hour", "10 per minute;100 per
    #: hour"). A load test from one address raises them; production keeps the defaults.
    public_sign_limit_per_ip: str = "20 per hour"
    public_confirm_limit_per_ip: str = "30 per hour"
    #: ``SIGNON_LOG_FORMAT``: "json" or "text"; empty: JSON in production, text in development.
    log_format: str = ""
    #: ``/metrics`` answers only with this bearer token and/or from these addresses or
    #: networks (comma-separated); with neither, it is a 404.
    metrics_token: str = ""
    metrics_allowed_ips: tuple[str, ...] = ()
    #: Background jobs (``signon/core/jobs.py``). With a Redis URL they go to RQ queues that
    #: ``flask worker`` runs; without one, each job runs in a thread of the process that
    #: started it (``make run``: zero setup).
    redis_url: str = ""
    #: The RQ queue's name (several sites may share one Redis under different names).
    job_queue: str = "signon"
    #: Run each job at once, in the caller, after its commit (the tests; never in production).
    jobs_synchronous: bool = False
    #: A running job writes its heartbeat this often (seconds) ...
    job_heartbeat_seconds: int = 10
    #: ... and the sweep fails a "running" job whose heartbeat is older than this (its
    #: worker was killed); RQ retries it if it has attempts left.
    job_stale_seconds: int = 120
    #: Public pages rendered once and shared by every anonymous visitor for
    #: ``core.http_cache.PUBLIC_MAX_AGE`` seconds (``core/page_cache.py``; the tests turn it off).
    shared_page_cache: bool = True
    #: Live co-editing (``drafting/live``): a live document with changes and no edit for
    #: this many seconds becomes a revision (``SIGNON_LIVE_AUTOSAVE_SECONDS``).
    live_autosave_seconds: int = 120
    #: Where browsers open the live-editing WebSocket (``SIGNON_LIVE_URL``, e.g.
    #: ``wss://live.example.org``): empty, the site itself; docs/deploy.md says when a
    #: separate gunicorn serves the sockets.
    live_url: str = ""
    wtf_csrf_enabled: bool = True
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this process's environment.

        Outside development, raises :class:`ConfigurationError` without a strong
        ``SIGNON_SECRET_KEY`` (see :func:`production_secret_key`).
        """
        environment = _env("ENV") or cls.environment
        return cls(
            secret_key=_secret_key_from_env(environment),
            database_url=_env("DATABASE_URL") or cls.database_url,
            mail_server=_env("MAIL_SERVER"),
            mail_port=_env_int("MAIL_PORT", 25),
            mail_username=_env("MAIL_USERNAME"),
            mail_password=_env("MAIL_PASSWORD"),
            mail_use_tls=_env_bool("MAIL_USE_TLS", False),
            mail_use_ssl=_env_bool("MAIL_USE_SSL", False),
            mail_default_sender=_env("MAIL_DEFAULT_SENDER") or cls.mail_default_sender,
            mail_outbox=_env("MAIL_OUTBOX") or cls.mail_outbox,
            base_url=_env("BASE_URL"),
            server_name=_env("SERVER_NAME") or None,
            allowed_hosts=_env_list("ALLOWED_HOSTS"),
            environment=environment,
            preferred_url_scheme="https" if _env_bool("HTTPS", False) else "http",
            https=_env_bool("HTTPS", False),
            trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
            max_bundle_bytes=_env_int("MAX_BUNDLE_BYTES", cls.max_bundle_bytes),
            session_idle_hours=_env_int("SESSION_IDLE_HOURS", cls.session_idle_hours),
            session_max_days=_env_int("SESSION_MAX_DAYS", cls.session_max_days),
            ratelimit_storage_url=_env("RATELIMIT_STORAGE_URL") or cls.ratelimit_storage_url,
            public_sign_limit_per_ip=_env("PUBLIC_SIGN_LIMIT_PER_IP")
            or cls.public_sign_limit_per_ip,
            public_confirm_limit_per_ip=_env("PUBLIC_CONFIRM_LIMIT_PER_IP")
            or cls.public_confirm_limit_per_ip,
            reminder_hours=tuple(
                int(h) for h in (_env("REMINDER_HOURS") or "168,48,12").split(",") if h.strip()
            ),
            storage_dir=_env("STORAGE_DIR") or cls.storage_dir,
            storage_url=_env("STORAGE_URL"),
            storage_endpoint_url=_env("STORAGE_ENDPOINT_URL"),
            storage_region=_env("STORAGE_REGION"),
            storage_access_key_id=_env("STORAGE_ACCESS_KEY_ID"),
            storage_secret_access_key=_env("STORAGE_SECRET_ACCESS_KEY"),
            redis_url=_env("REDIS_URL"),
            job_queue=_env("JOB_QUEUE") or cls.job_queue,
            jobs_synchronous=_env_bool("JOBS_SYNCHRONOUS", cls.jobs_synchronous),
            job_heartbeat_seconds=_env_int("JOB_HEARTBEAT_SECONDS", cls.job_heartbeat_seconds),
            job_stale_seconds=_env_int("JOB_STALE_SECONDS", cls.job_stale_seconds),
            shared_page_cache=_env_bool("SHARED_PAGE_CACHE", cls.shared_page_cache),
            mail_allowance_account_day=_env_int(
                "MAIL_ALLOWANCE_ACCOUNT_DAY", cls.mail_allowance_account_day
            ),
            mail_allowance_new_account_day=_env_int(
                "MAIL_ALLOWANCE_NEW_ACCOUNT_DAY", cls.mail_allowance_new_account_day
            ),
            mail_allowance_letter_day=_env_int(
                "MAIL_ALLOWANCE_LETTER_DAY", cls.mail_allowance_letter_day
            ),
            new_account_days=_env_int("NEW_ACCOUNT_DAYS", cls.new_account_days),
            bulk_confirm_threshold=_env_int("BULK_CONFIRM_THRESHOLD", cls.bulk_confirm_threshold),
            confirmation_mails_per_hour=_env_int(
                "CONFIRMATION_MAILS_PER_HOUR", cls.confirmation_mails_per_hour
            ),
            mail_after_response=_env_bool("MAIL_AFTER_RESPONSE", cls.mail_after_response),
            log_format=_env("LOG_FORMAT").strip().lower(),
            metrics_token=_env("METRICS_TOKEN").strip(),
            metrics_allowed_ips=_env_list("METRICS_ALLOWED_IPS"),
            live_autosave_seconds=_env_int("LIVE_AUTOSAVE_SECONDS", cls.live_autosave_seconds),
            live_url=_env("LIVE_URL").strip().rstrip("/"),
        )

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def development(self) -> bool:
        return self.environment == DEVELOPMENT

    @property
    def resolved_log_format(self) -> str:
        """``json`` or ``text``: the setting, else JSON in production and text in development."""
        if not self.log_format:
            return "text" if self.development else "json"
        if self.log_format not in {"json", "text"}:
            raise ConfigurationError(
                f"SIGNON_LOG_FORMAT ({self.log_format!r}) must be json or text."
            )
        return self.log_format

    @property
    def rate_limits_per_process(self) -> bool:
        """Rate limits are counted in this process's memory, not shared with other processes.

        Fine for ``make run`` (one process); with several gunicorn workers or app servers
        every process counts on its own, so an attacker gets one allowance per process.
        ``gunicorn.conf.py`` refuses to start more than one worker this way in production,
        and :func:`signon.create_app` logs a warning.
        """
        return self.ratelimit_enabled and self.ratelimit_storage_url.startswith("memory://")

    @property
    def canonical_url(self) -> str:
        """The address links are built from, ``scheme://host[:port]`` without a trailing slash.

        Raises :class:`ConfigurationError` when it is missing (outside development) or is
        not a plain http(s) origin.
        """
        if self.base_url:
            raw, source = self.base_url, "SIGNON_BASE_URL"
        elif self.server_name:
            raw, source = f"{self.preferred_url_scheme}://{self.server_name}", "SIGNON_SERVER_NAME"
        elif self.development:
            raw, source = DEVELOPMENT_BASE_URL, "the development default"
        else:
            raise ConfigurationError(
                "SIGNON_BASE_URL is not set. Set it to the address people use to reach this "
                "site, e.g. SIGNON_BASE_URL=https://signon.example.org: every link in the "
                "e-mails is built from it. (For a local development server, set "
                "SIGNON_ENV=development instead, as `make run` does.)"
            )
        return _origin(raw, source)

    @property
    def trusted_hosts(self) -> list[str]:
        """Host names a request may name (Flask's ``TRUSTED_HOSTS``; others get 400)."""
        hosts = [_hostname(self.canonical_url), *self.allowed_hosts]
        if self.development:
            hosts.extend(DEVELOPMENT_HOSTS)
        return list(dict.fromkeys(hosts))

    def flask_config(self) -> dict[str, object]:
        """The settings as Flask and its extensions expect them."""
        if self.storage_url:
            bucket_of(self.storage_url)
        database_url = self.database_url
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        config: dict[str, object] = {
            "SECRET_KEY": self.secret_key,
            "TESTING": self.testing,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "WTF_CSRF_ENABLED": self.wtf_csrf_enabled,
            "WTF_CSRF_TIME_LIMIT": None,
            # Over HTTPS the __Host- prefix makes browsers refuse the cookie unless it is
            # Secure, for "/" and without a Domain: no sibling sub-domain can plant or widen it.
            "SESSION_COOKIE_NAME": "__Host-session" if self.https else "session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.https,
            # Never issued (login_user without remember); bounded anyway.
            "REMEMBER_COOKIE_DURATION": timedelta(days=self.session_max_days),
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.https,
            "MAIL_DEFAULT_SENDER": self.mail_default_sender,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            # on refusals only (signon.core.limit_headers): not two more reads per request
            "RATELIMIT_HEADERS_ENABLED": False,
            # Redis lost: count in this process's memory until it is back (limits checks it
            # again and moves back by itself), rather than no limits at all (swallowing the
            # errors) or a 503 on every rate-limited page. Limits stay enforced, only per
            # process for the outage. docs/deploy.md, "When Redis or the database is lost".
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "SIGNON": self,
        }
        canonical = urlsplit(self.canonical_url)
        # SERVER_NAME and the scheme serve url_for outside a request (the CLI); mail links
        # go through signon.core.urls.canonical_url whatever the request says.
        config["SERVER_NAME"] = canonical.netloc
        config["PREFERRED_URL_SCHEME"] = canonical.scheme
        config["TRUSTED_HOSTS"] = self.trusted_hosts
        if self.mail_server:
            config.update(
                MAIL_BACKEND="smtp",
                MAIL_SERVER=self.mail_server,
                MAIL_PORT=self.mail_port,
                MAIL_USERNAME=self.mail_username or None,
                MAIL_PASSWORD=self.mail_password or None,
                MAIL_USE_TLS=self.mail_use_tls,
                MAIL_USE_SSL=self.mail_use_ssl,
                MAIL_TIMEOUT=10,
            )
        else:
            config.update(MAIL_BACKEND="file", MAIL_FILE_PATH=self.mail_outbox)
        config.update(self.extra)
        return config


def _origin(raw: str, source: str) -> str:
    """``raw`` as ``scheme://host[:port]``, or :class:`ConfigurationError` saying what is wrong."""
    example = "e.g. https://signon.example.org or http://127.0.0.1:5000"
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError as error:
        raise ConfigurationError(f"{source} ({raw!r}) is not a valid address: {error}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(
            f"{source} ({raw!r}) must start with http:// or https:// and name a host ({example})."
        )
    if parts.username or parts.password or parts.query or parts.fragment or parts.path.strip("/"):
        raise ConfigurationError(
            f"{source} ({raw!r}) must be only a scheme, a host and an optional port ({example})."
        )
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" + ("" if port is None else f":{port}")
    return f"{parts.scheme}://{netloc}"


def _hostname(origin: str) -> str:
    host = urlsplit(origin).hostname or ""
    return f"[{host}]" if ":" in host else host
