"""Every setting of the server, read from the environment (and an optional `.env`).

Each knob has a default that is safe for a class on one machine. The only
dangerous default, the development secret key, is refused outside debug mode
unless `ALLOW_DEV_SECRET` is set on purpose (the zero-configuration start sets it
and says so in the log).
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "classquiz-development-secret-change-me"


class InsecureConfiguration(RuntimeError):
    """Raised when the settings would make a production server unsafe."""


class Settings(BaseSettings):
    """The server's configuration; field names match the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Storage. None means "find or start one" (see classquiz.devservers).
    database_url: str | None = None
    redis_url: str | None = None
    # How long one Redis command may take (and a connection to open) before the
    # caller gets `service_unavailable` instead of waiting on a Redis that hangs.
    redis_timeout_s: float = Field(default=5.0, gt=0)
    redis_prefix: str = Field(default="cq", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    # With a Redis Cluster (REDIS_URL=redis+cluster://host:port): the number of slot
    # groups games are spread over (docs/scaling.md). Every process sharing a
    # REDIS_PREFIX must use the same number; it cannot change while games are live.
    redis_cluster_buckets: int = Field(default=16, ge=2, le=4096)
    meilisearch_url: str | None = None
    meilisearch_key: str | None = None

    # Security.
    secret_key: str = DEV_SECRET_KEY
    allow_dev_secret: bool = False
    token_expiry_s: int = Field(default=60 * 60 * 24, ge=60)
    game_token_expiry_s: int = Field(default=60 * 60 * 12, ge=60)
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    trusted_proxies: Annotated[list[str], NoDecode] = []
    cookie_secure: bool = False

    # Socket.IO transport.
    ping_interval_s: float = Field(default=25.0, gt=0)
    ping_timeout_s: float = Field(default=20.0, gt=0)
    max_message_bytes: int = Field(default=65_536, ge=1024)
    handshake_timeout_s: float = Field(default=10.0, gt=0)
    # After a game finishes (or its PIN expires or goes to another game), its sockets
    # are disconnected once this grace has passed (audit finding 5).
    game_over_grace_s: float = Field(default=5.0, gt=0)
    # permessage-deflate on WebSockets: small JSON gains little and each frame would
    # be compressed once per socket (see socket_server/managers.py).
    websocket_compression: bool = False
    # The event loop `serve` runs on: uvloop (fast transports) or the standard asyncio one.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # `serve` runs full garbage collections when the process is calm instead of when
    # CPython's counters say (classquiz/gc_policy.py); off: CPython's own schedule.
    gc_scheduled: bool = True
    # WebSocket frames written straight to the connection instead of through a writer
    # task per socket (classquiz/library_seam.py DirectSocket); off: the library's path.
    websocket_direct_writes: bool = True
    # Each socket's events run one after the other in its connection's own reader task
    # (python-socketio's async_handlers off), instead of a new task per event: one task
    # fewer per answer, and a client's events are handled in the order it sent them.
    socket_events_inline: bool = True
    # With direct writes and inline events: a WebSocket client's events of the default
    # namespace go from JSON to their handler, and the ack into a frame, without the
    # library's packet objects (library_seam.py handle_websocket_event); off: the library's path.
    websocket_fast_events: bool = True
    # Carry Socket.IO emits between processes through Redis (on with --workers > 1).
    socketio_redis_manager: bool = False
    # With the Redis manager: a game whose sockets all live on one process is served
    # there without any pub/sub (docs/scaling.md). Off, every emit of every game
    # reaches every process (python-socketio's own behaviour; for comparison).
    game_locality: bool = True

    # Games.
    max_players_per_game: int = Field(default=10_000, ge=1)
    game_ttl_s: int = Field(default=60 * 60 * 6, ge=60)
    # Live (not finished) games one account may have at once: each holds its quiz
    # snapshot in Redis for hours. Beyond it, POST /games answers 409 too_many_live_games.
    max_live_games_per_user: int = Field(default=5, ge=1)
    # Each process caches the quiz snapshots of the games it serves; this bounds the
    # cache by the snapshots' size (JSON bytes), evicting the game used longest ago.
    quiz_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    # Abandoned games are finished (and their results stored) by the server: after the
    # host has been away this long, or after the last question's reveal sat idle this
    # long. 0 turns either off. See docs/results.md.
    auto_finish_without_host_s: float = Field(default=15 * 60, ge=0)
    auto_finish_after_last_reveal_s: float = Field(default=10 * 60, ge=0)
    # How long a finished game's live keys stay in Redis (late reloads, the results
    # page's first look); the stored results do not depend on them.
    finished_game_ttl_s: int = Field(default=60 * 60, ge=1)
    # Stored results of a game are deleted this many days after it finished, as a host
    # deleting them would (a school's retention period); 0 keeps them until their host
    # deletes them.
    results_retention_days: int = Field(default=0, ge=0, le=36_500)
    public_url: str = "http://localhost:8000"

    # Abuse limits (SPEC §5).
    rate_limit_failures: int = Field(default=20, ge=1)
    rate_limit_window_s: int = Field(default=60, ge=1)
    rate_limit_block_s: int = Field(default=60, ge=1)
    login_rate_limit_failures: int = Field(default=20, ge=1)  # failed logins per address
    # Registrations per address (each one costs an Argon2id hash), counted whether they
    # succeed or not, within this many seconds.
    register_rate_limit: int = Field(default=10, ge=1)
    register_rate_limit_window_s: int = Field(default=60 * 60, ge=1)
    # Argon2id computations at once per process (each takes 64 MiB and ~0.2 s of a core):
    # new hashes (registrations, password changes) in one lane, login checks in another.
    # One new hash at a time leaves the other core to logins during a registration flood.
    password_hash_concurrency: int = Field(default=1, ge=1)
    password_verify_concurrency: int = Field(default=2, ge=1)
    # Wrong one-time codes (TOTP or backup) per account within the window, after which
    # every code check of that account is refused for the same time.
    totp_rate_limit_failures: int = Field(default=5, ge=1)
    totp_rate_limit_window_s: int = Field(default=5 * 60, ge=1)
    # Mail (password reset, e-mail verification), off while SMTP_HOST is unset.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str = "ClassQuiz <classquiz@localhost>"
    smtp_timeout_s: float = Field(default=15.0, gt=0)
    password_reset_expiry_s: int = Field(default=60 * 60, ge=60)
    email_verification_expiry_s: int = Field(default=60 * 60 * 48, ge=60)
    # Mails asked for per client address, and per recipient, within the window
    # (counted whether or not the address has an account).
    mail_rate_limit: int = Field(default=5, ge=1)
    mail_rate_limit_window_s: int = Field(default=60 * 60, ge=1)
    socket_events_per_s: int = Field(default=10, ge=1)
    socket_events_drop_per_s: int = Field(default=50, ge=1)

    # Sign-in with other accounts (docs/operations.md, "Sign-in with other accounts, and
    # passkeys"): each provider is on when its client id and secret are both set.
    # The redirect URI to register with a provider is
    # PUBLIC_URL/api/v1/auth/oauth/<google|github|oidc>/callback.
    google_client_id: str | None = None
    google_client_secret: str | None = None
    github_client_id: str | None = None
    github_client_secret: str | None = None
    # GitHub's sign-in site and API (GitHub Enterprise Server has its own).
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    # Any OpenID Connect provider, found by its discovery document
    # (https://issuer/.well-known/openid-configuration); OIDC_NAME is the button's text.
    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_name: str = Field(default="OpenID Connect", min_length=1, max_length=40)
    # How long a sign-in started at a provider may take before it expires.
    sign_in_ceremony_ttl_s: int = Field(default=10 * 60, ge=30, le=3600)
    # Passkeys (WebAuthn): the relying party's name shown by the authenticator. The
    # relying party id is PUBLIC_URL's host name and the expected origin PUBLIC_URL's.
    webauthn_rp_name: str = Field(default="ClassQuiz", min_length=1, max_length=64)
    # Sign-ins started per address and minute (at a provider, or a passkey's challenge):
    # each one holds a little state in Redis until it expires, so a flood is cut off.
    sign_in_start_rate_limit: int = Field(default=60, ge=1)
    # How long the browser has to answer a passkey challenge (each is good for one answer).
    passkey_challenge_ttl_s: int = Field(default=5 * 60, ge=30, le=3600)

    # Pictures (POST /api/v1/media; docs/operations.md "Pictures"). `local` keeps them in
    # MEDIA_DIR (default DATA_DIR/media); `s3` in S3_BUCKET of any S3-compatible storage.
    media_backend: Literal["local", "s3"] = "local"
    media_dir: str | None = None
    media_max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Larger pictures are scaled down to fit this many pixels a side (never refused for it).
    media_max_side_px: int = Field(default=4096, ge=64, le=16_384)
    # Pixels a picture may decode to; more is refused as a decompression bomb (it is also
    # capped by Pillow's own MAX_IMAGE_PIXELS).
    media_max_decoded_pixels: int = Field(default=40_000_000, ge=10_000)
    media_quota_count: int = Field(default=500, ge=0)
    media_quota_bytes: int = Field(default=200 * 1024 * 1024, ge=0)
    # Pictures decoded at once per process (each may take a few hundred MB and a core).
    media_decode_concurrency: int = Field(default=1, ge=1)
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = Field(default="media/", max_length=200)
    # A captcha on joins (docs/operations.md, "Captcha on joins"): on when a provider is
    # chosen; then CAPTCHA_SECRET and CAPTCHA_SITE_KEY are required. CAPTCHA_EVERY_GAME asks
    # every new player of every game; otherwise a game asks when its `captcha` setting is on.
    captcha_provider: Literal["hcaptcha", "recaptcha", "turnstile"] | None = None
    captcha_secret: str | None = None
    captcha_site_key: str | None = None
    # The provider's verify endpoint; unset, its documented one (tests point it at loopback).
    captcha_verify_url: str | None = None
    captcha_every_game: bool = False
    # reCAPTCHA v3's scores run from 0.0 (a bot) to 1.0; a join below this is refused.
    captcha_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    # How long the verify call may take; past it the join is refused (fail closed).
    captcha_timeout_s: float = Field(default=5.0, gt=0, le=30)

    # Error tracking with Sentry: on when SENTRY_DSN is set (classquiz/error_tracking.py).
    sentry_dsn: str | None = None
    sentry_environment: str = "production"
    # The share of requests traced for performance (0: errors only).
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    # The built web app (scripts/build-web); None means `web/build` of the repository.
    web_build_dir: str | None = None

    # Operations.
    log_level: str = "INFO"
    # `auto`: readable lines on a terminal, JSON otherwise (see docs/operations.md §4).
    log_format: Literal["auto", "json", "text"] = "auto"
    debug: bool = False
    # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is served
    # in debug mode only (404 otherwise). See docs/operations.md.
    metrics_token: str | None = Field(default=None, min_length=16)
    data_dir: str = ".classquiz-data"

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        """Accept `a,b,c` in the environment as well as JSON lists."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator(
        "metrics_token",
        "google_client_id",
        "google_client_secret",
        "github_client_id",
        "github_client_secret",
        "oidc_discovery_url",
        "oidc_client_id",
        "oidc_client_secret",
        "smtp_host",
        "smtp_user",
        "smtp_password",
        "media_dir",
        "s3_endpoint_url",
        "s3_bucket",
        "s3_access_key_id",
        "s3_secret_access_key",
        "captcha_provider",
        "captcha_secret",
        "captcha_site_key",
        "captcha_verify_url",
        "sentry_dsn",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A blank variable (as compose passes an unset one) is unset (`SMTP_HOST=`)."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.media_backend == "s3" and not self.s3_bucket:
            raise ValueError("MEDIA_BACKEND=s3 needs S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _captcha_complete(self) -> Settings:
        """A provider without its keys would refuse every join: say so at start instead."""
        if self.captcha_provider and not (self.captcha_secret and self.captcha_site_key):
            raise ValueError("CAPTCHA_PROVIDER needs CAPTCHA_SECRET and CAPTCHA_SITE_KEY")
        if self.captcha_every_game and not self.captcha_provider:
            raise ValueError("CAPTCHA_EVERY_GAME needs CAPTCHA_PROVIDER (and its keys)")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @cached_property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies]

    @property
    def media_path(self) -> str:
        """Where the local backend keeps pictures: MEDIA_DIR, else DATA_DIR/media."""
        return self.media_dir or f"{self.data_dir.rstrip('/')}/media"

    @property
    def effective_log_level(self) -> str:
        return "DEBUG" if self.debug else self.log_level

    def ensure_safe(self) -> None:
        """Refuse a production start with the development secret key."""
        if self.secret_key == DEV_SECRET_KEY and not (self.debug or self.allow_dev_secret):
            raise InsecureConfiguration(
                "SECRET_KEY is the development default; set SECRET_KEY to a long random "
                "value (or DEBUG=true for local development)."
            )
        if len(self.secret_key) < 16:
            raise InsecureConfiguration("SECRET_KEY must be at least 16 characters long.")

    @property
    def database_url_asyncpg(self) -> str:
        """The database URL in the form SQLAlchemy's asyncpg dialect wants."""
        return to_driver_url(self.require_database_url(), "asyncpg")

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not resolved yet (see classquiz.devservers)")
        return self.database_url

    @property
    def redis_buckets(self) -> int:
        """1 on a single Redis; REDIS_CLUSTER_BUCKETS on a Redis Cluster."""
        url = self.require_redis_url()
        scheme = url.partition("://")[0].lower()
        return self.redis_cluster_buckets if scheme.endswith("+cluster") else 1

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("REDIS_URL is not resolved yet (see classquiz.devservers)")
        return self.redis_url


def to_driver_url(url: str, driver: str) -> str:
    """Turn `postgresql://…` (or `postgres://…`) into `postgresql+<driver>://…`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base in ("postgres", "postgresql"):
        return f"postgresql+{driver}://{rest}"
    raise ValueError(f"only PostgreSQL is supported, got scheme {scheme!r}")
