"""The Twilio webhooks as Twilio and residents meet them: signed posts through the real Flask app.

Every request here is signed with twilio's own RequestValidator (tests.conftest.sign) and lands
in a real SQLite or PostgreSQL database; nothing is mocked.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app
from bot.channels import is_gsm7, segments
from bot.config import Config
from storage import statuses
from storage.models import (
    Conversation,
    EarlyStatus,
    OutboundMessage,
    ReceivedMessage,
    Report,
    Resident,
    utcnow,
)
from storage.statuses import apply_early_statuses
from tests.conftest import AUTH_TOKEN, Chat, inbound_params, sign, signed_post
from tests.factories import resident
from tests.helpers import DATA

INBOUND = "/twilio/inbound"
STATUS = "/twilio/status"
PHONE = "+59171234567"
SAMPLES: dict[str, Any] = json.loads((DATA / "webhook-samples.json").read_text(encoding="utf-8"))
INBOUND_SAMPLES = [
    "sms",
    "whatsapp_text",
    "whatsapp_location",
    "whatsapp_photo",
    "whatsapp_button",
]


# --- helpers -----------------------------------------------------------------------------------


def messages(resp: Any) -> list[str]:
    """The <Message> texts of a TwiML response (asserting it is TwiML at all)."""
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/xml"
    root = ET.fromstring(resp.get_data())
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


def reply(resp: Any) -> str:
    """The one message a TwiML response sends back."""
    texts = messages(resp)
    assert len(texts) == 1, texts
    assert texts[0].strip(), "an empty <Message>"
    return texts[0]


def say(client: Any, body: str, phone: str = PHONE, **kwargs: Any) -> Any:
    return signed_post(client, INBOUND, inbound_params(body, phone, **kwargs))


def count(sessions: sessionmaker[Session], model: type, *where: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def conversation(sessions: sessionmaker[Session], phone: str = PHONE) -> Conversation:
    resident_id = resident(sessions, phone).id
    with sessions() as session:
        conv = session.get(Conversation, resident_id)
        assert conv is not None
        return conv


@pytest.fixture
def proxied_app(config: Config) -> Iterator[Flask]:
    """The app as deployed behind a TLS-terminating proxy at https://bot.example.org."""
    application = create_app(replace(config, public_url="https://bot.example.org"))
    application.testing = True
    yield application
    application.extensions["mibarrio"].engine.dispose()


def app_with(config: Config, **changes: Any) -> Flask:
    application = create_app(replace(config, **changes))
    application.testing = True
    return application


# --- signature ---------------------------------------------------------------------------------


def test_the_signing_helper_matches_twilios_published_test_vector() -> None:
    example = SAMPLES["signature_example"]
    assert sign(example["url"], example["params"], example["auth_token"]) == example["signature"]


def test_a_validly_signed_message_gets_a_twiml_reply(client: Any) -> None:
    resp = say(client, "Hola")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert "Bienvenido a Mi Barrio" in reply(resp)


def test_a_message_without_a_signature_is_refused(client: Any, sessions: Any) -> None:
    resp = client.post(INBOUND, data=inbound_params("Hola"))
    assert resp.status_code == 403
    assert count(sessions, Resident) == 0
    assert count(sessions, ReceivedMessage) == 0


def test_a_wrong_signature_is_refused(client: Any, sessions: Any) -> None:
    params = inbound_params("Hola")
    good = sign("http://localhost" + INBOUND, params)
    for bad in ("not-a-signature", good[:-2] + "AA", "", " "):
        resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": bad})
        assert resp.status_code == 403, bad
    assert count(sessions, ReceivedMessage) == 0


def test_a_signature_made_with_another_accounts_token_is_refused(client: Any) -> None:
    params = inbound_params("Hola")
    forged = sign("http://localhost" + INBOUND, params, token=AUTH_TOKEN + "-other")
    resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": forged})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "field, value",
    [("Body", "BAJA"), ("From", "+59171234568"), ("MessageSid", "SM" + "f" * 32)],
)
def test_a_message_altered_after_signing_is_refused(
    client: Any, sessions: Any, field: str, value: str
) -> None:
    params = inbound_params("Hola")
    signature = sign("http://localhost" + INBOUND, params)
    tampered = {**params, field: value}
    resp = client.post(INBOUND, data=tampered, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 403
    assert count(sessions, Resident) == 0


def test_a_field_added_after_signing_is_refused(client: Any) -> None:
    params = inbound_params("Hola")
    signature = sign("http://localhost" + INBOUND, params)
    resp = client.post(
        INBOUND, data={**params, "OptOutType": "STOP"}, headers={"X-Twilio-Signature": signature}
    )
    assert resp.status_code == 403


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(
    proxied_app: Flask, sessions: Any
) -> None:
    client = proxied_app.test_client()
    params = inbound_params("Hola")
    public = sign("https://bot.example.org" + INBOUND, params)
    resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": public})
    assert "Bienvenido a Mi Barrio" in reply(resp)

    params = inbound_params("Hola", "+59171234568")
    internal = sign("http://localhost" + INBOUND, params)
    resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": internal})
    assert resp.status_code == 403
    assert count(sessions, Resident) == 1


def test_behind_a_proxy_a_query_string_is_part_of_the_signed_url(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    params = inbound_params("Hola")
    signature = sign("https://bot.example.org" + INBOUND + "?channel=sms", params)
    resp = client.post(
        INBOUND + "?channel=sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert resp.status_code == 200
    resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "public_url, twilio_signed",
    [
        ("https://bot.example.org", "https://bot.example.org:443"),
        ("https://bot.example.org:443", "https://bot.example.org"),
        ("https://bot.example.org", "https://bot.example.org"),
    ],
)
def test_twilio_may_sign_with_or_without_the_default_port(
    config: Config, public_url: str, twilio_signed: str
) -> None:
    application = app_with(config, public_url=public_url)
    try:
        client = application.test_client()
        params = inbound_params("Hola")
        signature = sign(twilio_signed + INBOUND, params)
        resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature})
        assert "Bienvenido a Mi Barrio" in reply(resp)
        other_port = sign("https://bot.example.org:8443" + INBOUND, params)
        resp = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": other_port})
        assert resp.status_code == 403
    finally:
        application.extensions["mibarrio"].engine.dispose()


def test_a_signature_header_with_non_ascii_characters_is_refused_not_a_crash(
    client: Any, sessions: Any
) -> None:
    params = inbound_params("Hola")
    good = sign("http://localhost" + INBOUND, params)
    headers = {"X-Twilio-Signature": good[:-1] + "ñ"}
    resp = client.post(INBOUND, data=params, headers=headers)
    assert resp.status_code == 403
    assert count(sessions, ReceivedMessage) == 0


def test_status_callbacks_need_a_signature_too(client: Any, sessions: Any) -> None:
    add_outbound(sessions, "SM" + "1" * 32, "queued")
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert client.post(STATUS, data=params).status_code == 403
    bad = {"X-Twilio-Signature": sign("http://localhost" + STATUS, params, token="other")}
    assert client.post(STATUS, data=params, headers=bad).status_code == 403
    assert outbound(sessions, "SM" + "1" * 32).status == "queued"


# --- dedupe ------------------------------------------------------------------------------------


def test_a_message_twilio_delivers_twice_is_answered_the_same_and_applied_once(
    client: Any, sessions: Any
) -> None:
    say(client, "Hola")
    params = inbound_params("2")  # Aymara, at the language step
    first = signed_post(client, INBOUND, params)
    again = signed_post(client, INBOUND, params)
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    reply(first)

    assert resident(sessions).language == "ay"
    conv = conversation(sessions)
    # Applied twice, the second "2" would have been read as the zona and moved on.
    assert (conv.flow, conv.step) == ("onboarding", "zone")
    assert count(sessions, ReceivedMessage, ReceivedMessage.sid == params["MessageSid"]) == 1


def test_a_repeat_does_not_hold_back_the_next_message(client: Any) -> None:
    say(client, "Hola")
    params = inbound_params("1")
    signed_post(client, INBOUND, params)
    signed_post(client, INBOUND, params)
    # Still at the zona question: Sopocachi is taken as the zona, consent is asked.
    assert "Zona Sopocachi" in reply(say(client, "Sopocachi"))


def test_a_repeat_of_a_message_that_got_no_reply_gets_an_empty_response(
    client: Any, sessions: Any
) -> None:
    sid = "SM" + "e" * 32
    with sessions() as session, session.begin():
        session.add(ReceivedMessage(sid=sid, channel="sms", body="Hola", replies=[]))
    resp = signed_post(client, INBOUND, inbound_params("Hola", sid=sid))
    assert messages(resp) == []
    assert b"<Response />" in resp.get_data()
    assert count(sessions, Resident) == 0  # not handled a second time


def test_a_repeat_after_the_resident_erased_their_data_repeats_nothing(
    client: Any, sessions: Any
) -> None:
    onboard_by_webhook(client)
    params = inbound_params("ayuda")
    assert "ALTA: volver" in reply(signed_post(client, INBOUND, params))
    say(client, "borrar")
    assert "borrados" in reply(say(client, "1"))
    # Twilio retries the old message: its reply was erased with the rest of their data.
    resp = signed_post(client, INBOUND, params)
    assert messages(resp) == []


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["From", "To", "MessageSid"])
def test_a_message_missing_a_required_field_is_a_bad_request(
    client: Any, sessions: Any, field: str
) -> None:
    params = inbound_params("Hola")
    del params[field]
    resp = signed_post(client, INBOUND, params)
    assert resp.status_code == 400
    reason = resp.get_data(as_text=True)
    assert re.search(rf"\b{field}\b", reason), reason
    others = {"From", "To", "MessageSid"} - {field}
    assert not any(re.search(rf"\b{name}\b", reason) for name in others), reason
    assert count(sessions, ReceivedMessage) == 0


@pytest.mark.parametrize("field", ["From", "MessageSid"])
def test_a_blank_required_field_counts_as_missing(client: Any, sessions: Any, field: str) -> None:
    params = inbound_params("Hola", **{field: "   "})
    resp = signed_post(client, INBOUND, params)
    assert resp.status_code == 400
    assert field in resp.get_data(as_text=True)
    assert count(sessions, ReceivedMessage) == 0


def test_two_blank_message_sids_are_not_mistaken_for_one_message(
    client: Any, sessions: Any
) -> None:
    """Otherwise the second resident would be sent the first one's reply."""
    say(client, "Hola")
    say(client, "1")
    signed_post(client, INBOUND, inbound_params("Sopocachi", sid=" "))
    resp = signed_post(client, INBOUND, inbound_params("Hola", "+59171234568", sid=" "))
    assert "Sopocachi" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("path", [INBOUND, STATUS])
def test_a_message_sid_with_a_nul_byte_is_a_bad_request_not_a_crash(
    client: Any, sessions: Any, path: str
) -> None:
    # SQLite would store it; PostgreSQL cannot even compare it: both must refuse it alike.
    params = inbound_params("Hola", sid="SM\x00" + "a" * 32, MessageStatus="delivered")
    resp = signed_post(client, path, params)
    assert resp.status_code == 400
    assert "MessageSid" in resp.get_data(as_text=True)
    assert count(sessions, ReceivedMessage) == 0


@pytest.mark.parametrize(
    "sender", ["hola", "whatsapp:", "+591abc", "12", "whatsapp:hola", "+59171234567\x00"]
)
def test_a_sender_that_is_not_a_phone_number_is_a_bad_request(
    client: Any, sessions: Any, sender: str
) -> None:
    resp = signed_post(client, INBOUND, inbound_params("Hola", From=sender))
    assert resp.status_code == 400
    assert "From" in resp.get_data(as_text=True)
    assert count(sessions, Resident) == 0


ODD_BODIES = {
    "empty": "",
    "1600 characters": "a" * 1600,
    "5000 characters": "Sopocachi " * 500,
    "emoji only": "😀🙏🏽👍",
    "control characters": "ho\x00la\x07\x1b\x7f",
    "only a NUL": "\x00",
    "sql": "'; DROP TABLE residents; --",
    "accents and aymara": "Jark’aña ñandú ÁÉÍÓÚ",
    "newlines": "\r\n\r\n\t",
}


@pytest.mark.parametrize("body", list(ODD_BODIES.values()), ids=list(ODD_BODIES))
def test_any_body_gets_a_normal_reply(client: Any, sessions: Any, body: str) -> None:
    say(client, "Hola")
    text = reply(say(client, body))
    # At the language step anything that is not a language gets the question again.
    assert "1 Español / 2 Aymar aru" in text
    assert count(sessions, Resident) == 1
    assert resident(sessions).status == "onboarding"


@pytest.mark.parametrize("body", list(ODD_BODIES.values()), ids=list(ODD_BODIES))
def test_any_body_from_a_new_resident_is_welcomed(client: Any, sessions: Any, body: str) -> None:
    assert "Bienvenido a Mi Barrio" in reply(say(client, body))
    assert count(sessions, Resident) == 1


def test_what_is_kept_of_a_body_is_at_most_1600_characters_without_nul(
    client: Any, sessions: Any
) -> None:
    say(client, "ho\x00la\x07", sid="SM" + "a" * 32)
    say(client, "x" * 5000, sid="SM" + "b" * 32)
    with sessions() as session:
        rows = {r.sid: r.body for r in session.scalars(select(ReceivedMessage))}
    assert rows["SM" + "a" * 32] == "hola\x07"
    assert rows["SM" + "b" * 32] == "x" * 1600


def test_sql_looking_text_is_only_text(client: Any, sessions: Any) -> None:
    say(client, "Hola")
    say(client, "1")
    text = reply(say(client, "'; DROP TABLE residents; --"))
    assert "zona" in text.lower()
    assert resident(sessions).language == "es"
    with sessions() as session:
        bodies = list(session.scalars(select(ReceivedMessage.body)))
    assert "'; DROP TABLE residents; --" in bodies


def test_a_photo_without_text_is_answered(client: Any, sessions: Any) -> None:
    params = inbound_params(
        "",
        channel="whatsapp",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
    )
    assert "Bienvenido a Mi Barrio" in reply(signed_post(client, INBOUND, params))
    with sessions() as session:
        row = session.scalar(select(ReceivedMessage))
        assert row is not None and row.num_media == 1


@pytest.mark.parametrize("num_media", ["abc", "-3", "1e9", "", "99999999999999999999"])
def test_a_garbled_media_count_is_survived(client: Any, num_media: str) -> None:
    params = inbound_params("Hola", NumMedia=num_media, MediaUrl0="https://example.org/x.jpg")
    assert "Bienvenido a Mi Barrio" in reply(signed_post(client, INBOUND, params))


def test_fields_twilio_adds_later_are_ignored(client: Any, sessions: Any) -> None:
    plain = reply(say(client, "Hola", "+59171234568"))
    extra = {
        "FooBar": "1",
        "ReferralNumMedia": "0",
        "ChannelMetadata": '{"type":"whatsapp"}',
        "FromCity": "LA PAZ",
        "MessagingServiceSid": "MG" + "0" * 32,
        "Latitude": "not a number",
        "Longitude": "nan",
    }
    assert reply(say(client, "Hola", **extra)) == plain
    assert count(sessions, Resident) == 2


# --- one resident per phone --------------------------------------------------------------------


def test_a_resident_can_switch_from_sms_to_whatsapp_mid_conversation(
    client: Any, sessions: Any
) -> None:
    assert "Bienvenido a Mi Barrio" in reply(say(client, "Hola"))
    resp = say(client, "1", channel="whatsapp")
    # The answer to the WhatsApp message comes back on it, rendered for WhatsApp (accents kept).
    assert "San Sebastián" in reply(resp)
    assert count(sessions, Resident) == 1
    row = resident(sessions)
    assert (row.language, row.last_channel) == ("es", "whatsapp")
    assert row.whatsapp_last_inbound_at is not None
    # ...and back to SMS, where the text is folded to GSM-7 again.
    assert "Zona Sopocachi" in reply(say(client, "Sopocachi"))
    assert count(sessions, Resident) == 1


@pytest.mark.parametrize("name", INBOUND_SAMPLES)
def test_messages_as_twilio_posts_them_are_answered(client: Any, sessions: Any, name: str) -> None:
    params = {k: v for k, v in SAMPLES[name].items() if not k.startswith("_")}
    reply(signed_post(client, INBOUND, params))
    assert resident(sessions, "+59171234567").last_channel == (
        "whatsapp" if name.startswith("whatsapp") else "sms"
    )


@pytest.mark.parametrize("name", ["status_callback_delivered", "status_callback_undelivered"])
def test_status_callbacks_as_twilio_posts_them_are_applied(
    client: Any, sessions: Any, name: str
) -> None:
    params = SAMPLES[name]
    add_outbound(sessions, params["MessageSid"], "sent")
    assert signed_post(client, STATUS, params).status_code == 200
    row = outbound(sessions, params["MessageSid"])
    assert row.status == params["MessageStatus"]
    assert row.error_code == (int(params["ErrorCode"]) if "ErrorCode" in params else None)


# --- onboarding over the webhook ---------------------------------------------------------------


def onboard_by_webhook(client: Any, phone: str = PHONE) -> list[str]:
    """A Spanish sign-up in Sopocachi, signed and posted as Twilio would; the four replies."""
    return [reply(say(client, body, phone)) for body in ("Hola", "1", "Sopocachi", "1")]


def test_onboarding_in_spanish_ends_at_the_menu_in_one_sms_each(client: Any, sessions: Any) -> None:
    replies = onboard_by_webhook(client)
    assert "Bienvenido a Mi Barrio" in replies[0]
    assert "zona" in replies[1].lower()
    assert "Zona Sopocachi" in replies[2] and "1 Acepto" in replies[2]
    assert "Listo" in replies[3] and "Menu:" in replies[3]
    for text in replies:
        assert is_gsm7(text), text
        assert segments(text) == 1, (len(text), text)
    row = resident(sessions)
    assert (row.status, row.language) == ("active", "es")
    assert row.consent_at is not None and row.zone_id is not None


# --- health ------------------------------------------------------------------------------------


def test_health_without_redis(client: Any) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_health_with_redis(config: Config, redis_url: str) -> None:
    application = app_with(config, redis_url=redis_url)
    try:
        resp = application.test_client().get("/healthz")
    finally:
        application.extensions["mibarrio"].engine.dispose()
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_with_redis_down_is_degraded_not_an_error(config: Config) -> None:
    application = app_with(config, redis_url="redis://127.0.0.1:1/0")
    try:
        resp = application.test_client().get("/healthz")
    finally:
        application.extensions["mibarrio"].engine.dispose()
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")


# --- status callbacks --------------------------------------------------------------------------


def add_outbound(sessions: sessionmaker[Session], sid: str | None, status: str) -> None:
    with sessions() as session, session.begin():
        session.add(
            OutboundMessage(
                twilio_sid=sid, status=status, channel="sms", to_address=PHONE, body="Hola"
            )
        )


def outbound(sessions: sessionmaker[Session], sid: str) -> OutboundMessage:
    with sessions() as session:
        row = session.scalar(select(OutboundMessage).where(OutboundMessage.twilio_sid == sid))
        assert row is not None
        return row


def callback(client: Any, sid: str, status: str, **extra: str) -> Any:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "To": PHONE,
        "From": "+59122000000",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    resp = signed_post(client, STATUS, params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


SID = "SM" + "5" * 32


def test_delivery_statuses_only_move_forward(client: Any, sessions: Any) -> None:
    add_outbound(sessions, SID, "queued")
    callback(client, SID, "sent")
    assert outbound(sessions, SID).status == "sent"
    callback(client, SID, "delivered")
    assert outbound(sessions, SID).status == "delivered"
    callback(client, SID, "sent")  # late, out of order
    callback(client, SID, "queued")
    assert outbound(sessions, SID).status == "delivered"
    callback(client, SID, "read")
    assert outbound(sessions, SID).status == "read"
    callback(client, SID, "delivered")
    assert outbound(sessions, SID).status == "read"


def test_a_failed_message_records_its_error_code(client: Any, sessions: Any) -> None:
    add_outbound(sessions, SID, "queued")
    callback(client, SID, "failed", ErrorCode="30003")
    row = outbound(sessions, SID)
    assert (row.status, row.error_code) == ("failed", 30003)


def test_a_callback_for_a_message_we_do_not_know_changes_nothing(
    client: Any, sessions: Any
) -> None:
    add_outbound(sessions, SID, "queued")
    resp = callback(client, "SM" + "9" * 32, "delivered")
    assert resp.status_code == 200
    assert outbound(sessions, SID).status == "queued"
    assert count(sessions, OutboundMessage) == 1


def early(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(e.sid, e.status) for e in session.scalars(select(EarlyStatus))]


def apply_early(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    with sessions() as session, session.begin():
        return apply_early_statuses(session, now)


def test_a_callback_that_beats_the_stored_sid_is_applied_once_the_sid_is_stored(
    client: Any, sessions: Any
) -> None:
    add_outbound(sessions, None, "sending")  # a message handed to Twilio, its sid not stored
    # Twilio answered the API call and called back before the worker committed the sid.
    callback(client, SID, "sent")
    callback(client, SID, "delivered")
    assert early(sessions) == [(SID, "sent"), (SID, "delivered")]
    add_outbound(sessions, SID, "queued")  # the worker's commit lands
    assert apply_early(sessions) == 2
    assert outbound(sessions, SID).status == "delivered"
    assert early(sessions) == []
    callback(client, SID, "sent")  # late and known now: forward-only, nothing kept
    assert outbound(sessions, SID).status == "delivered"
    assert early(sessions) == []


def test_early_callbacks_whose_sid_never_turns_up_are_dropped_after_two_days(
    client: Any, sessions: Any
) -> None:
    add_outbound(sessions, None, "sending")  # a message handed to Twilio, its sid not stored
    callback(client, SID, "delivered")
    assert apply_early(sessions) == 0
    assert early(sessions) == [(SID, "delivered")]  # still waiting for its sid
    assert apply_early(sessions, utcnow() + timedelta(days=2, minutes=1)) == 0
    assert early(sessions) == []


def test_a_repeated_early_callback_is_kept_once(client: Any, sessions: Any) -> None:
    add_outbound(sessions, None, "sending")  # a message handed to Twilio, its sid not stored
    for _ in range(3):
        callback(client, SID, "delivered")
    assert early(sessions) == [(SID, "delivered")]


def test_an_opt_out_reported_in_a_status_callback_opts_the_resident_out(
    client: Any, sessions: Any
) -> None:
    chat = Chat(sessions, phone=PHONE)
    for text in ("hola", "1", "Sopocachi", "1"):
        chat.say(text)
    with sessions() as session, session.begin():
        resident = session.scalars(select(Resident).where(Resident.phone == PHONE)).one()
        assert resident.status == "active"
        session.add(
            OutboundMessage(
                resident_id=resident.id,
                twilio_sid=SID,
                status="sent",
                channel="sms",
                to_address=PHONE,
                body="Novedad en su reporte",
            )
        )
    callback(client, SID, "undelivered", ErrorCode="21610")
    with sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == PHONE)).one()
        assert resident.status == "opted_out" and resident.opted_out_at is not None
    assert "Para volver, escriba ALTA" in chat.say("menu")  # nothing more until ALTA


def test_a_callback_for_an_unknown_sid_is_not_kept_when_nothing_awaits_a_sid(
    client: Any, sessions: Any
) -> None:
    add_outbound(sessions, SID, "delivered")  # everything we sent has its sid
    callback(client, "SM" + "8" * 32, "delivered")
    assert early(sessions) == []


def test_kept_early_callbacks_are_bounded(
    client: Any, sessions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statuses, "EARLY_STATUS_LIMIT", 3)
    add_outbound(sessions, None, "sending")
    for n in range(10):
        callback(client, f"SM{n:032d}", "delivered")
    assert len(early(sessions)) == 3


def test_a_status_for_a_sid_longer_than_a_message_id_is_a_bad_request(client: Any) -> None:
    resp = signed_post(client, STATUS, {"MessageSid": "SM" + "1" * 70, "MessageStatus": "sent"})
    assert resp.status_code == 400 and "MessageSid" in resp.get_data(as_text=True)


@pytest.mark.parametrize("code", [str(2**31), str(2**63), str(2**70), "-5"])
def test_an_error_code_twilio_never_sends_is_ignored_not_an_error(
    client: Any, sessions: Any, code: str
) -> None:
    add_outbound(sessions, SID, "queued")
    callback(client, SID, "failed", ErrorCode=code)
    row = outbound(sessions, SID)
    assert (row.status, row.error_code) == ("failed", None)


def test_a_callback_with_an_unknown_status_changes_nothing(client: Any, sessions: Any) -> None:
    add_outbound(sessions, SID, "queued")
    callback(client, SID, "teleported")
    assert outbound(sessions, SID).status == "queued"


def test_a_callback_without_a_status_is_a_bad_request(client: Any, sessions: Any) -> None:
    add_outbound(sessions, SID, "queued")
    resp = signed_post(client, STATUS, {"MessageSid": SID, "AccountSid": "AC" + "0" * 32})
    assert resp.status_code == 400
    assert "MessageStatus" in resp.get_data(as_text=True)
    assert outbound(sessions, SID).status == "queued"


@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus"])
def test_a_callback_with_a_blank_field_is_a_bad_request_naming_it(
    client: Any, sessions: Any, field: str
) -> None:
    add_outbound(sessions, SID, "queued")
    params = {"MessageSid": SID, "MessageStatus": "delivered", field: "   "}
    resp = signed_post(client, STATUS, params)
    assert resp.status_code == 400
    assert field in resp.get_data(as_text=True)
    assert outbound(sessions, SID).status == "queued"


def test_a_callback_with_a_garbled_error_code_still_applies_the_status(
    client: Any, sessions: Any
) -> None:
    add_outbound(sessions, SID, "queued")
    callback(client, SID, "undelivered", ErrorCode="abc")
    row = outbound(sessions, SID)
    assert (row.status, row.error_code) == ("undelivered", None)


def test_whatsapp_report_takes_the_photo_and_the_location_pin_as_they_come(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    """Twilio's own WhatsApp photo and location fields end up on the report."""
    samples = json.loads((DATA / "webhook-samples.json").read_text())

    def wa(body: str, **extra: str) -> str:
        return reply(say(client, body, channel="whatsapp", **extra))

    for text in ("hola", "1", "Sopocachi", "1", "1", "3"):
        wa(text)
    photo = {
        k: v for k, v in samples["whatsapp_photo"].items() if k.startswith(("Media", "NumMedia"))
    }
    where = wa("Basura en la esquina", **photo)
    assert "envíe su ubicación" in where  # WhatsApp keeps the accents
    pin = {
        k: samples["whatsapp_location"][k] for k in ("Latitude", "Longitude", "Address", "Label")
    }
    summary = wa("", **pin)
    assert "Lugar: Plaza San Sebastián." in summary
    assert re.search(r"Reporte R-[2-9A-HJ-NP-Z]{4} recibido", wa("1"))
    with sessions() as session:
        saved = session.scalars(select(Report)).one()
    assert saved.media_url == samples["whatsapp_photo"]["MediaUrl0"]
    assert (saved.latitude, saved.longitude) == (-16.4958, -68.1381)
    assert saved.location == "Plaza San Sebastián" and saved.channel == "whatsapp"


# --- senders and fields the database cannot take as they come ---------------------------------


def test_a_whatsapp_username_gets_a_clear_answer_and_its_text_is_kept(
    client: Any, sessions: Any
) -> None:
    params = inbound_params("Hola", "US.13491208655302741918", channel="whatsapp")
    first = signed_post(client, "/twilio/inbound", params)
    assert first.status_code == 200
    text = ET.fromstring(first.get_data()).findtext("Message") or ""
    assert "número de celular" in text and "jakhuma" in text  # both languages, on WhatsApp
    again = signed_post(client, "/twilio/inbound", params)  # Twilio repeats it
    assert again.get_data() == first.get_data()
    with sessions() as session:
        kept = session.scalars(select(ReceivedMessage)).all()
        assert [(m.sid, m.body, m.resident_id) for m in kept] == [
            (params["MessageSid"], "Hola", None)
        ]
    assert count(sessions, Resident) == 0


def test_a_nul_in_a_photo_url_or_a_pin_address_does_not_stop_a_report(
    client: Any, sessions: Any
) -> None:
    def send(body: str, **extra: str) -> Any:
        resp = signed_post(
            client, "/twilio/inbound", inbound_params(body, channel="whatsapp", **extra)
        )
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp

    for body in ("hola", "1", "Sopocachi", "1", "1", "1", "Sin agua"):
        send(body)
    send(
        "",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/media/\x00ME1",
        Latitude="-16.5",
        Longitude="-68.13",
        Address="Calle \x00Guachalla",
    )
    assert "recibido" in send("1").get_data(as_text=True)
    with sessions() as session:
        report = session.scalars(select(Report)).one()
        assert report.media_url == "https://api.twilio.com/media/ME1"
        assert report.location == "Calle Guachalla"
