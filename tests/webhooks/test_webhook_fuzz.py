"""Whatever Twilio (or anyone holding the token) posts, the webhooks answer 200 or 400, never 500.

Hypothesis fills the form with any mix of Twilio's fields and unknown ones, each holding any
text: present or missing, blank, with NUL and other control characters, numbers that are not
numbers. Every request is signed, so it reaches the handlers. Derandomised, so CI replays the
same requests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from tests.conftest import signed_post
from tests.helpers import fuzz_settings

PHONES = st.sampled_from(
    ["+59171234567", "whatsapp:+59171234567", "+59122000000", "whatsapp:+59122000001", "+1 555"]
    + ["whatsapp:US.13491208655302741918", "whatsapp:us.1"]  # WhatsApp usernames
)
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "1e309", "nan"]),
    st.text(max_size=10).map(lambda t: t + "\x00" + t),  # a NUL PostgreSQL cannot store
)
# Numbers past what the columns hold: 32-bit on PostgreSQL, 64-bit on SQLite.
HUGE = st.integers(min_value=2**31, max_value=2**80).map(str)
# Message ids as Twilio sends them, and longer than any it sends.
SIDS = st.one_of(
    st.uuids().map(lambda u: "SM" + u.hex),
    st.text(alphabet="0123456789abcdef", min_size=65, max_size=90).map(lambda t: "SM" + t),
)
FIELDS = {
    "MessageSid": st.one_of(SIDS, VALUES),
    "AccountSid": VALUES,
    "From": st.one_of(PHONES, VALUES),
    "To": st.one_of(PHONES, VALUES),
    "Body": st.one_of(st.sampled_from(["hola", "1", "BAJA", "Sopocachi", "AYUDA"]), VALUES),
    "NumMedia": st.one_of(st.sampled_from(["0", "1", "3", "11", "-2", "x"]), VALUES, HUGE),
    "MediaUrl0": VALUES,
    "MediaContentType0": VALUES,
    "Latitude": st.one_of(st.sampled_from(["-16.5", "91", "inf"]), VALUES),
    "Longitude": st.one_of(st.sampled_from(["-68.1", "-181", "nan"]), VALUES),
    "Address": VALUES,
    "MessageStatus": st.one_of(
        st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]), VALUES
    ),
    "ErrorCode": st.one_of(st.sampled_from(["30003", "0", "x"]), VALUES, HUGE),
    "SmsStatus": VALUES,
    "ApiVersion": VALUES,
}
EXTRA = {"Unknown": VALUES, "ProfileName": VALUES, "WaId": VALUES}
REQUIRED = ("MessageSid", "From", "To", "MessageStatus")
# Mostly forms a handler gets to work on (its required fields there, most of them well formed),
# and some where anything may be missing.
FORMS = st.one_of(
    st.fixed_dictionaries(
        {
            "MessageSid": SIDS,
            "From": PHONES,
            "To": PHONES,
            "MessageStatus": FIELDS["MessageStatus"],
        },
        optional={**{k: v for k, v in FIELDS.items() if k not in REQUIRED}, **EXTRA},
    ),
    st.fixed_dictionaries({}, optional={**FIELDS, **EXTRA}),
)

FUZZ = fuzz_settings(150)


@FUZZ
@given(form=FORMS)
def test_inbound_answers_twiml_or_a_reason_never_an_error(
    client: Any, form: dict[str, str]
) -> None:
    resp = signed_post(client, "/twilio/inbound", form)
    event(f"inbound {resp.status_code}")
    assert resp.status_code in (200, 400), (form, resp.get_data(as_text=True))
    if resp.status_code == 200:
        assert ET.fromstring(resp.get_data()).tag == "Response"
    else:
        assert resp.get_data(as_text=True).strip(), form


@FUZZ
@given(form=FORMS)
def test_status_answers_ok_or_a_reason_never_an_error(client: Any, form: dict[str, str]) -> None:
    resp = signed_post(client, "/twilio/status", form)
    event(f"status {resp.status_code}")
    assert resp.status_code in (200, 400), (form, resp.get_data(as_text=True))
    if resp.status_code == 400:
        assert resp.get_data(as_text=True).strip(), form
