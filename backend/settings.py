"""Deployment settings, read from the environment (and an optional `.env` file).

Every setting is documented in the README. The embedded default needs none of them: it keeps
an SQLite database and a generated secret key in the data folder.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder for the embedded defaults.")
    database_url: str = ""
    broadcast_url: str = "memory://"
    # Channel names on a shared Redis start with this (pub/sub ignores the Redis DB index).
    broadcast_prefix: str = "vev-iq"
    # Station connections: how long a remote command waits for the answer, how often this
    # process proves it is alive in the shared registry, when stations count as offline.
    station_command_timeout_s: float = 30.0
    process_heartbeat_s: float = 5.0
    offline_sweep_s: float = 30.0
    # Smart charging: how often every smart-charging site area is planned again, and the
    # least time between two runs caused by meter values straying from the plan.
    smart_charging_interval_s: float = 300.0
    smart_charging_min_gap_s: float = 30.0
    # Billing: every priced session gets an invoice, per session or one per user and month
    # ("per_session" | "monthly"); sessions shorter or smaller than the minimum are not billed.
    billing_mode: str = "per_session"
    billing_min_duration_s: int = 60
    billing_min_energy_wh: int = 50
    # With a payment provider: no charging without a payment method on file.
    billing_require_payment_method: bool = True
    # A session is billed once its connector is Available again, or this long after its stop.
    billing_settle_after_h: float = 24.0
    # How often the billing worker looks for work it was not woken for (retries, settling).
    billing_poll_s: float = 10.0
    invoice_number_prefix: str = "VEV"
    # The seller, printed on every invoice.
    seller_name: str = "VEV-IQ Charging"
    seller_address: str = ""
    seller_vat_id: str = ""
    seller_email: str = ""
    # Stripe (off when the API key is empty). `stripe_api_base` points the SDK elsewhere
    # (tests: a fake Stripe on loopback).
    stripe_api_key: str = ""
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "VEV-IQ <no-reply@vev-iq.example>"

    privacy_policy_version: str = "2026-11"
    # Right to oblivion: a person without a login (or a charge) for this many days is erased,
    # warned by email this many days before; the job looks for work this often.
    erasure_inactive_days: int = 183
    erasure_warning_days: int = 14
    erasure_check_interval_s: float = 3600.0
    # System logs (OCPP errors, security events) are deleted after this many days; audit
    # entries too when `audit_log_retention_days` is above 0 (0: kept, the proof of who changed
    # what). Each process looks for expired rows this often.
    system_log_retention_days: int = 90
    audit_log_retention_days: int = 0
    system_log_purge_interval_s: float = 3600.0
    session_ttl_hours: int = 24 * 14
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # Per client network address and window (0: no limit): failed logins, and requests that
    # send an email to a typed address (sign-up, password reset).
    throttle_window_minutes: int = 15
    throttle_failed_logins: int = 30
    throttle_emails: int = 10
    email_token_ttl_hours: int = 48
    password_reset_ttl_minutes: int = 60
    max_picture_bytes: int = 2 * 1024 * 1024
    graphql_max_depth: int = 12
    graphql_max_tokens: int = 2000
    cookie_secure: bool = False
    frontend_dist: Path = Field(
        default=Path(__file__).resolve().parent.parent / "frontend" / "dist"
    )

    @field_validator("billing_mode")
    @classmethod
    def _billing_mode(cls, value: str) -> str:
        if value not in ("per_session", "monthly"):
            raise ValueError("billing_mode must be per_session or monthly")
        return value

    @field_validator("erasure_inactive_days", "erasure_warning_days")
    @classmethod
    def _positive_days(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 day")
        return value

    @field_validator("system_log_retention_days")
    @classmethod
    def _retention_days(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 day")
        return value

    @field_validator("audit_log_retention_days")
    @classmethod
    def _audit_retention_days(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (kept) or a number of days")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Operators paste the URL their provider shows; we need the async driver for it.
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'vev-iq.sqlite3').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
