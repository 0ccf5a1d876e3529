"""Tests for tests/twilio_local.py, driven through the real ``twilio`` library."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.helpers import ACCOUNT
from tests.twilio_local import TwilioLocal, sms_segments

SENDER = "+15005550006"
RESIDENT = "+59171234567"


pytestmark = pytest.mark.usefixtures("local_only")


def make_client(tw: TwilioLocal, timeout: float = 5.0) -> Client:
    """A real twilio Client aimed at the local server."""
    client = Client(ACCOUNT, "token", http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = tw.base_url
    return client


def send(client: Client, to: str = RESIDENT, body: str = "Hola vecino") -> str:
    """Create a message and return its sid."""
    return str(client.messages.create(to=to, from_=SENDER, body=body).sid)


def test_create_returns_sid_and_records(tw: TwilioLocal) -> None:
    client = make_client(tw)
    msg = client.messages.create(to=RESIDENT, from_=SENDER, body="Hola vecino")
    assert msg.sid is not None and msg.sid.startswith("SM") and len(msg.sid) == 34
    assert msg.status == "queued"
    assert (msg.to, msg.from_, msg.body) == (RESIDENT, SENDER, "Hola vecino")
    assert msg.account_sid == ACCOUNT
    assert msg.num_segments == "1" and msg.num_media == "0"  # strings, as in Twilio
    assert msg.direction == "outbound-api"
    assert isinstance(msg.date_created, datetime)
    assert msg.uri == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{msg.sid}.json"
    (req,) = tw.requests
    assert (req["To"], req["From"], req["Body"]) == (RESIDENT, SENDER, "Hola vecino")
    assert req["sid"] == msg.sid and req["dropped"] is False
    assert tw.count == 1 and tw.sent_to(RESIDENT) == [req] and tw.sent_to("+1") == []
    # the v2010 path goes to the same server, and sids are unique
    sid2 = client.api.v2010.account.messages.create(to=RESIDENT, from_=SENDER, body="x").sid
    assert sid2 != msg.sid and tw.count == 2
    tw.reset()
    assert tw.count == 0 and tw.requests == []


def test_whatsapp_template_via_messaging_service(tw: TwilioLocal) -> None:
    msg = make_client(tw).messages.create(
        to="whatsapp:" + RESIDENT,
        messaging_service_sid="MG" + "1" * 32,
        content_sid="HX" + "2" * 32,
        content_variables='{"1": "Sopocachi"}',
        status_callback="https://example.invalid/status",
    )
    assert msg.from_ is None and msg.messaging_service_sid == "MG" + "1" * 32
    assert msg.status == "accepted"
    (req,) = tw.sent_to("whatsapp:" + RESIDENT)
    assert req["ContentVariables"] == '{"1": "Sopocachi"}'
    assert req["StatusCallback"] == "https://example.invalid/status"


def test_fetch_for_reconciliation(tw: TwilioLocal) -> None:
    client = make_client(tw)
    sid = send(client)
    fetched = client.messages(sid).fetch()
    assert fetched.sid == sid and fetched.status == "queued" and fetched.to == RESIDENT
    tw.set_status(sid, "undelivered", error_code=30003)
    fetched = client.messages(sid).fetch()
    assert fetched.status == "undelivered" and fetched.error_code == 30003
    with pytest.raises(TwilioRestException) as err:
        client.messages("SM" + "f" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404


def test_missing_auth_is_401_and_not_recorded(tw: TwilioLocal) -> None:
    url = f"{tw.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    form = {"To": RESIDENT, "From": SENDER, "Body": "x"}
    resp = requests.post(url, data=form, timeout=5)
    assert resp.status_code == 401
    assert resp.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    fetch_url = url.replace(".json", "/SM" + "0" * 32 + ".json")
    assert requests.get(fetch_url, timeout=5).status_code == 401
    assert tw.count == 0
    # Twilio's own validation: no Body/MediaUrl/ContentSid
    resp = requests.post(url, data={"To": RESIDENT, "From": SENDER}, auth=(ACCOUNT, "t"), timeout=5)
    assert resp.status_code == 400 and resp.json()["code"] == 21602


def test_scripted_opt_out_21610(tw: TwilioLocal) -> None:
    client = make_client(tw)
    tw.fail(RESIDENT, 400, 21610)
    for _ in range(2):  # times=None: always
        with pytest.raises(TwilioRestException) as err:
            send(client)
        assert err.value.code == 21610 and err.value.status == 400
        assert "unsubscribed recipient" in err.value.msg
    assert tw.count == 0
    assert [(e["status"], e["code"]) for e in tw.errors] == [(400, 21610)] * 2
    assert send(client, to="+59170000000")  # other recipients unaffected


def test_fail_times_then_succeeds(tw: TwilioLocal) -> None:
    client = make_client(tw)
    tw.fail(RESIDENT, 429, 20429, times=1)
    with pytest.raises(TwilioRestException) as err:
        send(client)
    assert (err.value.status, err.value.code) == (429, 20429)
    assert send(client).startswith("SM")
    assert tw.count == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 21211),
        (400, 21614),
        (400, 21635),
        (400, 63016),
        (429, 20429),
        (500, None),
        (503, None),
    ],
)
def test_error_shapes(tw: TwilioLocal, status: int, code: int | None) -> None:
    tw.fail(RESIDENT, status, code, times=1, message="custom text")
    with pytest.raises(TwilioRestException) as err:
        send(make_client(tw))
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.msg.endswith("custom text")


def test_rules_run_in_order_and_wildcard(tw: TwilioLocal) -> None:
    client = make_client(tw)
    tw.fail("*", 503, None, times=1)
    tw.fail(RESIDENT, 429, 20429, times=2)
    statuses = []
    for _ in range(4):
        try:
            send(client)
            statuses.append(201)
        except TwilioRestException as exc:
            statuses.append(exc.status)
    assert statuses == [429, 429, 503, 201]


def test_drop_raises_network_error_but_is_recorded(tw: TwilioLocal) -> None:
    client = make_client(tw)
    tw.drop(RESIDENT)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(client)
    (req,) = tw.sent_to(RESIDENT)
    assert req["dropped"] is True
    assert client.messages(req["sid"]).fetch().status == "queued"  # it may have gone
    assert send(client)  # times=1
    assert [r["dropped"] for r in tw.requests] == [True, False]


def test_hang_longer_than_client_timeout(tw: TwilioLocal) -> None:
    tw.hang(RESIDENT, 3.0)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        send(make_client(tw, timeout=0.3))
    assert time.monotonic() - started < 2.0
    (req,) = tw.requests
    assert req["hung"] is True


def test_concurrent_creates_overlap() -> None:
    with TwilioLocal(delay=0.2) as tw:
        client = make_client(tw)
        with ThreadPoolExecutor(max_workers=20) as pool:
            sids = list(pool.map(lambda i: send(client, to=f"+5917000{i:04d}"), range(20)))
        assert len(set(sids)) == 20 and tw.count == 20
        assert tw.max_in_flight >= 10


def test_stop_is_prompt_and_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    tw = TwilioLocal().start()
    port = int(tw.base_url.rsplit(":", 1)[1])
    client = make_client(tw)
    send(client)  # leaves an idle keep-alive connection
    tw.drop(RESIDENT)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(client)
    tw.hang(RESIDENT, 10.0)
    with pytest.raises(requests.exceptions.Timeout):  # the client leaves, the server writes later
        send(make_client(tw, 0.2))
    tw.hang(RESIDENT, 10.0)  # a request still sleeping server-side while we stop
    pending = threading.Thread(target=lambda: _ignore_errors(make_client(tw, 5.0)))
    pending.start()
    time.sleep(0.1)
    started = time.monotonic()
    tw.stop()
    assert time.monotonic() - started < 1.0
    pending.join(timeout=5)
    assert not pending.is_alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    time.sleep(0.1)
    assert capfd.readouterr().err == ""


def _ignore_errors(client: Client) -> None:
    try:
        send(client)
    except Exception:  # whatever the stopping server causes
        pass


def test_sms_segments() -> None:
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("ñ" * 160) == 1 and sms_segments("ú" * 160) == 3  # ñ is GSM-7, ú is not
    assert sms_segments("á" * 70) == 1 and sms_segments("á" * 71) == 2
    assert sms_segments("{" * 80) == 1 and sms_segments("{" * 81) == 2


def test_refuse_closes_the_port_for_a_while_then_listens_again(tw: TwilioLocal) -> None:
    client = make_client(tw, timeout=2.0)
    base = tw.base_url
    send(client)  # leaves a keep-alive connection, which refuse() cuts
    tw.refuse(0.5)
    assert tw.refusing and tw.base_url == base
    with pytest.raises(requests.exceptions.ConnectionError) as err:
        send(client)
    assert "refused" in str(err.value).lower()
    time.sleep(0.8)
    assert not tw.refusing
    assert send(client).startswith("SM") and tw.base_url == base
    (window,) = tw.refusals
    assert window[1] - window[0] >= 0.5
    assert tw.count == 2


def test_a_burst_of_failures_ends_by_itself(tw: TwilioLocal) -> None:
    client = make_client(tw)
    tw.fail("*", 429, 20429, for_seconds=0.3)
    with pytest.raises(TwilioRestException) as err:
        send(client)
    assert (err.value.status, err.value.code) == (429, 20429)
    time.sleep(0.4)
    assert send(client).startswith("SM")
    assert [e["status"] for e in tw.errors] == [429] and tw.count == 1
