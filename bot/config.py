"""One typed Config, read from the environment once."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(os.environ.get("MIBARRIO_INSTANCE", Path.cwd() / "instance"))


def _local_secret(name: str, nbytes: int = 16) -> str:
    """A secret generated once per checkout and kept under instance/ (never committed)."""
    path = INSTANCE_DIR / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(nbytes)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(name: str, default: bool) -> bool:
    """An on/off variable: 1/true/yes or 0/false/no; unset or anything else keeps `default`."""
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    return default


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Config:
    database_url: str = field(default_factory=lambda: f"sqlite:///{INSTANCE_DIR / 'mibarrio.db'}")
    # None means: start (or attach to) the embedded Redis under instance/.
    redis_url: str | None = None
    # Where worker-built evidence exports are written (one folder per export).
    exports_dir: str = field(default_factory=lambda: str(INSTANCE_DIR / "exports"))
    twilio_account_sid: str | None = None
    twilio_auth_token: str = ""
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_timeout: float = 10.0
    public_url: str | None = None
    secret_key: str = ""
    send_rate: float = 10.0
    port: int = 5000
    # gunicorn web processes and threads in each (WEB_CONCURRENCY, WEB_THREADS: the Procfile
    # reads the same variables). A slow client holds a thread, not a process; a thread may hold
    # a database connection, so a web process keeps one for each of its threads.
    web_concurrency: int = 2
    web_threads: int = 8
    # Fold SMS text to GSM-7 (a->a etc.) so one accent does not triple the cost.
    gsm7_fold: bool = True
    # Minutes a flow may sit idle before the next message starts again at the menu.
    flow_timeout_minutes: int = 30
    # Texts one phone may send per window and still be answered (0 = no limit); past that
    # they are kept unanswered, with one notice per window.
    flood_limit: int = 20
    flood_window_seconds: float = 60.0
    # Days after which a zona information item not checked again is listed as stale.
    info_stale_days: float = 180.0
    # Days before an offer (OFREZCO) ends when its offerer is told how to renew it; 0: never.
    offer_warn_days: float = 7.0
    # Days after "resolved" before the reporter is asked whether it really was.
    followup_days: float = 7.0
    # Days after which a sign-up that never got consent is deleted; 0 keeps them.
    signup_purge_days: float = 30.0
    # Local (America/La_Paz) hours when non-urgent broadcasts wait; "off" disables.
    quiet_hours: str = "21:00-07:00"
    # Approved WhatsApp template ({{1}} = the message) for residents outside the 24-hour window.
    twilio_whatsapp_template_sid: str | None = None
    # What a WhatsApp broadcast does on 63016 (outside the window): "template" or "sms".
    whatsapp_fallback: str = "template"
    # Requests in flight per worker process while sending a broadcast.
    send_threads: int = 32
    # Seconds after a worker dies before others treat the rows it was sending as unknown.
    worker_alive_ttl: float = 15.0
    # Console cookies only over HTTPS (browsers also accept them on http://localhost).
    cookie_secure: bool = True
    # Seconds an "unknown" send waits before Twilio's message list is asked whether it went out.
    reconcile_after: float = 600.0

    # True when no TWILIO_AUTH_TOKEN was given and a local one was generated for signing.
    local_auth_token: bool = False

    @property
    def twilio_configured(self) -> bool:
        """True when real credentials exist; otherwise outbound goes to the console transport."""
        return bool(self.twilio_account_sid) and not self.local_auth_token

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        env = os.environ
        cfg = cls(
            database_url=env.get("DATABASE_URL") or cls().database_url,
            redis_url=env.get("REDIS_URL") or None,
            exports_dir=env.get("EXPORTS_DIR") or cls().exports_dir,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or _local_secret("local_auth_token"),
            local_auth_token=not env.get("TWILIO_AUTH_TOKEN"),
            twilio_sms_from=env.get("TWILIO_SMS_FROM") or None,
            twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM") or None,
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            twilio_api_base_url=(env.get("TWILIO_API_BASE_URL") or "https://api.twilio.com").rstrip(
                "/"
            ),
            twilio_timeout=_float("TWILIO_TIMEOUT", 10.0),
            public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
            secret_key=env.get("SECRET_KEY") or _local_secret("secret_key", 32),
            send_rate=_float("SEND_RATE", 10.0),
            port=int(env.get("PORT") or 5000),
            web_concurrency=_int("WEB_CONCURRENCY", 2, minimum=1),
            web_threads=_int("WEB_THREADS", 8, minimum=1),
            gsm7_fold=_flag("GSM7_FOLD", True),
            flow_timeout_minutes=int(env.get("FLOW_TIMEOUT_MINUTES") or 30),
            flood_limit=_int("FLOOD_LIMIT", 20),
            flood_window_seconds=max(0.0, _float("FLOOD_WINDOW_SECONDS", 60.0)),
            followup_days=_float("FOLLOWUP_DAYS", 7.0),
            info_stale_days=max(0.0, _float("INFO_STALE_DAYS", 180.0)),
            offer_warn_days=max(0.0, _float("OFFER_WARN_DAYS", 7.0)),
            signup_purge_days=max(0.0, _float("SIGNUP_PURGE_DAYS", 30.0)),
            quiet_hours=env.get("QUIET_HOURS", "21:00-07:00"),
            twilio_whatsapp_template_sid=env.get("TWILIO_WHATSAPP_TEMPLATE_SID") or None,
            whatsapp_fallback=_choice("WHATSAPP_FALLBACK", ("template", "sms"), "template"),
            send_threads=max(1, int(env.get("SEND_THREADS") or 32)),
            worker_alive_ttl=max(1.0, _float("WORKER_ALIVE_TTL", 15.0)),
            reconcile_after=max(0.0, _float("RECONCILE_AFTER", 600.0)),
            cookie_secure=_flag("COOKIE_SECURE", True),
        )
        return replace(cfg, **overrides) if overrides else cfg
