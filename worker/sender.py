"""Sending through Twilio (or the console when no account is configured), with error mapping."""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from bot.config import Config
from storage.statuses import OPTED_OUT_ERROR

log = logging.getLogger(__name__)
# twilio-python logs every request and response (phone numbers and texts) at INFO.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

OPTED_OUT_CODES = frozenset({OPTED_OUT_ERROR})
BAD_NUMBER_CODES = frozenset({21211, 21614, 21635})
RATE_LIMIT_CODES = frozenset({20429})
# WhatsApp outside the 24-hour window: only an approved template (or SMS) gets through.
WHATSAPP_WINDOW_CODE = 63016
RETRY_DELAYS = [5, 15, 45, 120, 300]  # seconds, for 429/20429, with +-50 % jitter
MAX_ATTEMPTS = 6
LOOKUP_LIMIT = 200  # messages read per reconciliation lookup


def retry_time(attempts: int, now: datetime) -> datetime | None:
    """When a rate-limited send may go again (jittered, so a fleet of workers does not retry in
    step), or None when out of attempts. Twilio never processed it, so sending again is safe."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]
    return now + timedelta(seconds=delay * (0.5 + random.random()))


@dataclass(frozen=True)
class SendResult:
    """How one attempt ended: outcome is sent | opted_out | invalid | retry | failed | unknown."""

    outcome: str
    sid: str | None = None
    status: str | None = None
    error_code: int | None = None
    detail: str = ""


class Transport(Protocol):
    def send(self, to: str, body: str, channel: str) -> SendResult: ...


class FindingTransport(Transport, Protocol):
    def find(self, to: str, body: str, since: datetime) -> tuple[str, str] | None:
        """(sid, status) of a message sent to `to` with `body` since `since`, or None."""
        ...


class TemplateTransport(Transport, Protocol):
    def send_template(self, to: str, content_sid: str, variables: dict[str, str]) -> SendResult:
        """Send an approved WhatsApp template (ContentSid + ContentVariables)."""
        ...


class ConsoleTransport:
    """Writes messages to the log: everything works offline with no Twilio account."""

    def send(self, to: str, body: str, channel: str) -> SendResult:
        log.info("[console %s] to %s: %s", channel, to, body)
        return SendResult("sent", sid="CO" + uuid.uuid4().hex, status="sent")

    def send_template(self, to: str, content_sid: str, variables: dict[str, str]) -> SendResult:
        log.info("[console whatsapp template %s] to %s: %s", content_sid, to, variables)
        return SendResult("sent", sid="CO" + uuid.uuid4().hex, status="sent")


class TwilioTransport:
    """The official twilio client, always with a timeout, pointed at the configured API base.

    Safe to share between threads: each thread gets its own client (a requests Session is
    not thread-safe) and so its own keep-alive connection.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._local = threading.local()

    @property
    def client(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            cfg = self.config
            http = TwilioHttpClient(timeout=cfg.twilio_timeout, pool_connections=True)
            client = Client(cfg.twilio_account_sid, cfg.twilio_auth_token, http_client=http)
            client.api.base_url = cfg.twilio_api_base_url
            self._local.client = client
        return client

    def _sender(self, channel: str) -> dict[str, str]:
        cfg = self.config
        if channel == "whatsapp" and cfg.twilio_whatsapp_from:
            number = cfg.twilio_whatsapp_from
            return {"from_": number if number.startswith("whatsapp:") else f"whatsapp:{number}"}
        if channel == "sms" and cfg.twilio_sms_from:
            return {"from_": cfg.twilio_sms_from}
        if cfg.twilio_messaging_service_sid:
            return {"messaging_service_sid": cfg.twilio_messaging_service_sid}
        raise RuntimeError(f"no sender configured for {channel}: set TWILIO_*_FROM")

    def warm(self) -> None:
        """Build this thread's client and load twilio's lazily imported modules now, so the
        first send after a rate-limit slot is not late (and later ones bunched behind it)."""
        _ = self.client.messages

    def send(self, to: str, body: str, channel: str) -> SendResult:
        return self._create(channel, to=to, body=body)

    def send_template(self, to: str, content_sid: str, variables: dict[str, str]) -> SendResult:
        return self._create(
            "whatsapp",
            to=to,
            content_sid=content_sid,
            content_variables=json.dumps(variables, ensure_ascii=False),
        )

    def _create(self, channel: str, **fields: Any) -> SendResult:
        try:
            kwargs: dict[str, Any] = {**self._sender(channel), **fields}
        except RuntimeError as exc:
            return SendResult("failed", detail=str(exc))  # nothing went out: say so, visibly
        if self.config.public_url:
            kwargs["status_callback"] = self.config.public_url + "/twilio/status"
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            return classify(exc.status, exc.code, str(exc.msg))
        except TwilioException as exc:
            return SendResult("unknown", detail=f"twilio error: {exc}")
        except requests.RequestException as exc:
            if never_sent(exc):
                # No connection, so no request: Twilio never saw it, and it may go again.
                return SendResult("retry", detail=f"connect: {exc.__class__.__name__}")
            # The request may have reached Twilio: never resend blindly.
            return SendResult("unknown", detail=f"network: {exc.__class__.__name__}")
        return SendResult("sent", sid=message.sid, status=message.status or "queued")

    def find(self, to: str, body: str, since: datetime) -> tuple[str, str] | None:
        """(sid, status) of a message Twilio holds to `to` with this body, created since
        `since`; None when there is none.

        Asks the Message list resource by To, newest first, and reads at most LOOKUP_LIMIT
        messages. No DateSent filter: a message still queued has no DateSent yet. Raises
        what the request raised, so a failed lookup is never read as "not found".
        """
        for message in self.client.messages.stream(to=to, limit=LOOKUP_LIMIT, page_size=50):
            created = message.date_created or message.date_sent
            if created is not None and created < since:
                continue
            if (message.body or "") == body and message.direction != "inbound":
                return str(message.sid), str(message.status or "queued")
        return None


# Failures of the connection itself: the request was never written to a socket.
_TLS_HANDSHAKE = ("handshake", "certificate", "wrong_version_number", "unknown protocol")


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached Twilio: connection refused, DNS, connect
    timeout, TLS handshake. A reset or timeout after connecting may have reached it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, ConnectTimeoutError):  # NewConnectionError and DNS failures too
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return any(word in str(exc).lower() for word in _TLS_HANDSHAKE)
    return False


def classify(http_status: int, code: int | None, detail: str = "") -> SendResult:
    """Map a Twilio error answer to what we do about it."""
    if code in OPTED_OUT_CODES:
        return SendResult("opted_out", error_code=code, detail=detail)
    if code in BAD_NUMBER_CODES:
        return SendResult("invalid", error_code=code, detail=detail)
    if http_status == 429 or code in RATE_LIMIT_CODES:
        return SendResult("retry", error_code=code, detail=detail)  # never processed: safe
    if http_status >= 500:
        return SendResult("unknown", error_code=code, detail=detail)
    return SendResult("failed", error_code=code, detail=detail)


def make_transport(config: Config) -> Transport:
    return TwilioTransport(config) if config.twilio_configured else ConsoleTransport()
