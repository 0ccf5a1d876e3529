"""Local stand-in for Twilio's Messages API (v2010), for tests and benchmarks.

Serves, on 127.0.0.1 and an ephemeral port, with the standard library only:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` -> 201 + Message resource JSON
- ``GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`` -> 200 + stored message, or 404

Anything else gets Twilio's 404 error JSON (code 20404). Both operations need HTTP Basic auth
(any credentials, or exactly ``credentials=(user, password)`` if given), else 401 / 20003.

Pointing the official ``twilio`` library (9.x) at it::

    client = Client(account_sid, token, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = tw.base_url   # the Api domain; client.messages / client.api.v2010 use it

That is enough: ``Domain.absolute_url`` reads ``client.api.base_url`` on every request. Two
conditions, both the default: (1) the client has no edge/region (``Client(edge=..., region=...)``
or the ``TWILIO_EDGE`` / ``TWILIO_REGION`` environment variables), otherwise
``ClientBase.get_hostname`` rewrites the host part of the URL and mangles ``127.0.0.1:PORT``;
(2) no HTTP proxy applies to 127.0.0.1: ``requests`` honours ``HTTP_PROXY`` unless ``NO_PROXY``
lists 127.0.0.1 (or set ``client.http_client.session.trust_env = False``).

Fault scripting is per ``To`` (exact string; ``"*"`` matches every recipient and is consulted
after the rules for the specific ``To``). Rules for one ``To`` apply in the order they were added;
a rule with ``times=None`` never runs out (unless it was given ``for_seconds``), so it hides rules
added after it. ``refuse(seconds)`` makes Twilio unreachable for a while: connections are refused,
as when the network or Twilio's edge is down, and the same port listens again afterwards.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import math
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API_VERSION = "2010-04-01"
_ACCOUNT = r"(?P<account>AC[0-9a-fA-F]{32})"
_CREATE_RE = re.compile(rf"^/2010-04-01/Accounts/{_ACCOUNT}/Messages\.json$")
_FETCH_RE = re.compile(
    rf"^/2010-04-01/Accounts/{_ACCOUNT}/Messages/(?P<sid>(?:SM|MM)[0-9a-fA-F]{{32}})\.json$"
)

#: Default ``message`` for scripted errors, by Twilio error code (None: no code).
ERROR_MESSAGES: dict[int | None, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
    ),
    21602: "Message body is required.",
    21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21614: "'To' number is not a valid mobile number",
    21635: "'To' number cannot be a landline",
    63016: (
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template."
    ),
    63018: "Rate limit exceeded for the WhatsApp sender",
    None: "Internal Server Error",
}

# GSM 03.38 basic table (without the ESC slot) and its extension table (2 septets each).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = frozenset("^{}\\[~]|€\f")


def sms_segments(body: str) -> int:
    """Number of SMS segments for ``body`` (GSM-7 160/153, else UCS-2 70/67); at least 1."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXT for c in body):
        units = sum(2 if c in _GSM7_EXT else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def error_body(status: int, code: int | None, message: str | None = None) -> dict[str, Any]:
    """Twilio's REST error JSON (the legacy shape that raises ``TwilioRestException``)."""
    return {
        "code": code,
        "message": message if message is not None else ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}" if code is not None else None,
        "status": status,
    }


def _rfc2822_now() -> str:
    return email.utils.format_datetime(datetime.now(UTC).replace(microsecond=0))


@dataclass
class _Rule:
    kind: str  # "fail" | "drop" | "hang"
    times: int | None
    status: int = 0
    code: int | None = None
    message: str | None = None
    seconds: float = 0.0
    until: float | None = None  # time.monotonic() after which the rule no longer applies


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    request_queue_size = 128
    tw: TwilioLocal

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet (clients that time out or vanish are part of the tests)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No request logging."""

    def setup(self) -> None:
        super().setup()
        self.server.tw._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.tw._track(self.connection, add=False)

    # -- helpers ---------------------------------------------------------------------------
    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) or the server is stopping
            self.close_connection = True

    def _send_error(self, status: int, code: int | None, message: str | None = None) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
        self._send_json(status, error_body(status, code, message), headers)

    def _read_form(self) -> dict[str, str | list[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        parsed = parse_qs(raw, keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not user or not sep:
            return False
        expected = self.server.tw.credentials
        return expected is None or (user, password) == expected

    # -- verbs -----------------------------------------------------------------------------
    def do_POST(self) -> None:
        tw = self.server.tw
        arrived = time.monotonic()
        with tw._in_flight():
            form = self._read_form()  # always drain the body (keep-alive)
            tw._sleep(tw.delay)
            match = _CREATE_RE.match(urlsplit(self.path).path)
            if match is None:
                self._send_error(404, 20404, f"The requested resource {self.path} was not found")
                return
            if not self._authorized():
                self._send_error(401, 20003)
                return
            code = _validate(form)
            if code is not None:
                tw._reject(form, arrived, 400, code)
                self._send_error(400, code)
                return
            rule = tw._take_rule(str(form["To"]))
            if rule is not None and rule.kind == "fail":
                tw._reject(form, arrived, rule.status, rule.code)
                self._send_error(rule.status, rule.code, rule.message)
                return
            dropped = rule is not None and rule.kind == "drop"
            hung = rule is not None and rule.kind == "hang"
            message = tw._accept(match["account"], form, arrived, dropped=dropped, hung=hung)
            if dropped:
                self.close_connection = True  # close without a status line
                return
            if hung:
                assert rule is not None
                tw._sleep(rule.seconds)
            self._send_json(201, message)

    def do_GET(self) -> None:
        tw = self.server.tw
        with tw._in_flight():
            tw._sleep(tw.delay)
            url = urlsplit(self.path)
            listing = _CREATE_RE.match(url.path)
            if listing is not None:
                if not self._authorized():
                    self._send_error(401, 20003)
                    return
                self._send_json(200, tw._list(listing["account"], url.path, url.query))
                return
            match = _FETCH_RE.match(url.path)
            if match is not None and not self._authorized():
                self._send_error(401, 20003)
                return
            message = tw._message(match["sid"]) if match is not None else None
            if message is None or match is None or message["account_sid"] != match["account"]:
                self._send_error(404, 20404, f"The requested resource {self.path} was not found")
                return
            self._send_json(200, message)


def _sent_matches(message: dict[str, Any], params: dict[str, str]) -> bool:
    """Twilio's DateSent filters compare GMT dates (a datetime's date part counts)."""
    if not message.get("date_sent"):
        return not any(k.startswith("DateSent") for k in params)
    day = email.utils.parsedate_to_datetime(message["date_sent"]).date().isoformat()
    checks = {"DateSent": day.__eq__, "DateSent>": day.__ge__, "DateSent<": day.__le__}
    return all(check(params[key][:10]) for key, check in checks.items() if key in params)


def _validate(form: dict[str, str | list[str]]) -> int | None:
    """Twilio's own 400 checks on create: the error code, or None if the request is valid."""
    if not form.get("To"):
        return 21604
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return 21602
    return None


class TwilioLocal:
    """Local Twilio Messages API: ``with TwilioLocal(delay=0.0) as tw: ... tw.base_url``."""

    def __init__(self, delay: float = 0.0, credentials: tuple[str, str] | None = None) -> None:
        self.delay = delay
        self.credentials = credentials
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._requests: list[dict[str, Any]] = []
        self._errors: list[dict[str, Any]] = []
        self._messages: dict[str, dict[str, Any]] = {}
        self._rules: dict[str, list[_Rule]] = {}
        self._in_flight_now = 0
        self._max_in_flight = 0
        self._reopen: threading.Timer | None = None
        self.refusals: list[tuple[float, float]] = []  # (from, to) in time.monotonic()
        self.lookups = 0  # Message list requests (reconciliation)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> TwilioLocal:
        """Bind 127.0.0.1:0 and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._serve(0)
        return self

    def _serve(self, port: int) -> None:
        server: _Server | None = None
        for _ in range(50):  # the same port again after refuse(): SO_REUSEADDR, so at once
            try:
                server = _Server(("127.0.0.1", port), _Handler)
                break
            except OSError:
                if port == 0:
                    raise
                time.sleep(0.02)
        if server is None:
            raise RuntimeError(f"could not listen on 127.0.0.1:{port} again")
        server.tw = self
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="twilio-local",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers, close the listening and open sockets."""
        self._stopping.set()
        with self._lock:
            reopen, self._reopen = self._reopen, None
        if reopen is not None:
            reopen.cancel()
        self._halt()

    def _halt(self) -> None:
        """Stop listening and cut every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def refuse(self, seconds: float) -> None:
        """Refuse connections for `seconds`, then listen on the same port again; returns at once.

        Open connections are cut too (a request in flight then never gets its answer, as when
        a network path fails), so a client's next request must connect, and is refused.
        """
        if self._server is None:
            raise RuntimeError("TwilioLocal is not running")
        port = self._port
        started = time.monotonic()

        def reopen() -> None:
            if self._stopping.is_set():
                return
            self._serve(port)
            with self._lock:
                self._reopen = None
                self.refusals.append((started, time.monotonic()))
            if self._stopping.is_set():
                self._halt()  # stop() came while the port opened again

        timer = threading.Timer(seconds, reopen)
        timer.daemon = True
        with self._lock:
            self._reopen = timer
        self._halt()
        timer.start()

    @property
    def refusing(self) -> bool:
        """True while refuse() keeps the port closed."""
        with self._lock:
            return self._reopen is not None

    def __enter__(self) -> TwilioLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (for ``client.api.base_url`` / TWILIO_API_BASE_URL)."""
        if self._server is None and not self.refusing:
            raise RuntimeError("TwilioLocal is not running")
        return f"http://127.0.0.1:{self._port}"

    # -- inspection ------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Accepted creates (form fields + sid, t, dropped, hung), in arrival order; a copy."""
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Creates answered with an error (form fields + t, status, code); a copy."""
        with self._lock:
            return [dict(r) for r in self._errors]

    @property
    def count(self) -> int:
        """Number of accepted creates (dropped and hung ones included)."""
        with self._lock:
            return len(self._requests)

    @property
    def max_in_flight(self) -> int:
        """Highest number of requests handled at the same time."""
        with self._lock:
            return self._max_in_flight

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        """Accepted creates whose ``To`` is exactly ``to``."""
        return [r for r in self.requests if r.get("To") == to]

    def reset(self) -> None:
        """Forget requests, errors, messages, scripted rules and the in-flight maximum."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._messages.clear()
            self._rules.clear()
            self._max_in_flight = self._in_flight_now
            self.lookups = 0

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Change a stored message's status (what a later GET returns), e.g. "delivered"."""
        with self._lock:
            message = self._messages[sid]
            message["status"] = status
            message["error_code"] = error_code
            message["error_message"] = ERROR_MESSAGES.get(error_code) if error_code else None
            message["date_updated"] = _rfc2822_now()
            if status in ("sent", "delivered", "read") and message["date_sent"] is None:
                message["date_sent"] = message["date_updated"]

    # -- fault scripting -------------------------------------------------------------------
    def fail(
        self,
        to: str,
        status: int,
        code: int | None,
        times: int | None = None,
        message: str | None = None,
        for_seconds: float | None = None,
    ) -> None:
        """Answer creates to ``to`` with a Twilio error JSON, ``times`` times (None: always),
        for the next ``for_seconds`` only if given (a burst: ``fail("*", 429, 20429,
        for_seconds=0.5)``).

        ``message`` defaults to Twilio's text for ``code``. ``code=None`` sends ``"code": null``
        (the library then sets ``TwilioRestException.code`` to None).
        """
        if not 400 <= status <= 599:
            raise ValueError(f"error status must be 4xx/5xx, not {status}")
        until = time.monotonic() + for_seconds if for_seconds is not None else None
        rule = _Rule("fail", times, status=status, code=code, message=message, until=until)
        self._add_rule(to, rule)

    def drop(self, to: str, times: int | None = 1) -> None:
        """Accept (record, store) creates to ``to``, then close the connection without answering."""
        self._add_rule(to, _Rule("drop", times))

    def hang(self, to: str, seconds: float, times: int | None = 1) -> None:
        """Accept creates to ``to`` but wait ``seconds`` before answering 201."""
        self._add_rule(to, _Rule("hang", times, seconds=seconds))

    def _add_rule(self, to: str, rule: _Rule) -> None:
        if rule.times is not None and rule.times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._rules.setdefault(to, []).append(rule)

    def _take_rule(self, to: str) -> _Rule | None:
        now = time.monotonic()
        with self._lock:
            for key in (to, "*"):
                rules = self._rules.get(key)
                while rules and rules[0].until is not None and rules[0].until < now:
                    rules.pop(0)  # a burst that is over
                if rules:
                    rule = rules[0]
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            rules.pop(0)
                    return rule
        return None

    # -- handler support -------------------------------------------------------------------
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight_now += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight_now)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight_now -= 1

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)  # stop() cuts sleeps short

    def _message(self, sid: str) -> dict[str, Any] | None:
        with self._lock:
            message = self._messages.get(sid)
            return dict(message) if message is not None else None

    def _list(self, account: str, path: str, query: str) -> dict[str, Any]:
        """The Message list resource: To, From and DateSent filters, newest first, paged."""
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        size = min(int(params.get("PageSize", 50)), 1000)
        page = int(params.get("Page", 0))
        with self._lock:
            self.lookups += 1
            found = [
                dict(m)
                for m in reversed(self._messages.values())
                if m["account_sid"] == account
                and ("To" not in params or m["to"] == params["To"])
                and ("From" not in params or m["from"] == params["From"])
                and _sent_matches(m, params)
            ]
        rows = found[page * size : (page + 1) * size]
        keep = {k: v for k, v in params.items() if k not in ("Page", "PageToken")}

        def uri(n: int) -> str:
            return path + "?" + urlencode({**keep, "PageSize": size, "Page": n})

        more = (page + 1) * size < len(found)
        return {
            "messages": rows,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(rows) - 1, 0),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }

    def _reject(self, form: dict[str, Any], arrived: float, status: int, code: int | None) -> None:
        with self._lock:
            self._errors.append({**form, "t": arrived, "status": status, "code": code})

    def _accept(
        self, account: str, form: dict[str, Any], arrived: float, *, dropped: bool, hung: bool
    ) -> dict[str, Any]:
        to = str(form["To"])
        media = form.get("MediaUrl") or []
        media = [media] if isinstance(media, str) else list(media)
        body = str(form.get("Body", ""))
        sid = ("MM" if media else "SM") + uuid.uuid4().hex
        uri = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json"
        now = _rfc2822_now()
        if form.get("ScheduleType") == "fixed":
            status = "scheduled"
        elif form.get("MessagingServiceSid") and not form.get("From"):
            status = "accepted"  # Twilio picks the sender later
        else:
            status = "queued"
        message: dict[str, Any] = {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": now,  # handed on at once in this stand-in
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From") or None,
            "messaging_service_sid": form.get("MessagingServiceSid") or None,
            "num_media": str(len(media)),
            "num_segments": "1" if to.startswith("whatsapp:") else str(sms_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self._messages[sid] = message
            self._requests.append(
                {**form, "sid": sid, "t": arrived, "dropped": dropped, "hung": hung}
            )
            return dict(message)
