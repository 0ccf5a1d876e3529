"""Residents type anything, in any order: random conversations keep what every text promises.

Hypothesis drives one new phone per example through sequences of keywords (Spanish, Aymara,
English), menu numbers, zona names, report words and arbitrary text, on SMS and WhatsApp, with
Twilio repeating some messages and the resident sometimes coming back after the flow timeout.
After every text:
- the resident gets exactly one message back, never an empty one;
- on SMS it is GSM-7 and fits one segment (what they pay for and what a basic phone shows);
- an opt-out word always opts out, and an opted-out resident hears nothing but how to come back
  (unless they come back, erase their data, or are answering the erasure's question);
- a repeated MessageSid gets the same reply and changes nothing.

The examples are derandomised, so every run (and CI) replays the same conversations.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import is_gsm7, segments
from bot.engine import InboundMessage
from bot.flows import Reply, account
from bot.i18n import keyword
from bot.inbox import receive
from bot.render import render
from bot.text import normalize
from storage.models import Conversation, Resident, utcnow

WORDS = [
    *"0123456789",
    "10",
    "99",
    "hola",
    "Kamisaki",
    "BAJA",
    "salir",
    "Sayt'ayaña",
    "STOP",
    "ALTA",
    "start",
    "AYUDA",
    "yanapa",
    "help",
    "MENU",
    "inicio",
    "IDIOMA",
    "BORRAR",
    "sí",
    "no",
    "jani",
    "Jisa",
    "español",
    "aymara",
    "Sopocachi",
    "sopocachi alto",
    "San Pedro",
    "mirafores",
    "Villa Fátima",
    "Obrajes",
    "Zona Sur",
    "agua",
    "luz",
    "basura",
    "calle",
    "seguridad",
    "salud",
    "Calle 21 de Calacoto, frente al mercado: el hueco ya causó dos accidentes esta semana.",
    "",
    "   ",
    "🙂🙂",
    "a" * 1600,
    "'; DROP TABLE residents;--",
    "\x01\x02",
]

# Menu numbers a third of the time, so that flows are entered and answered, not only left.
TEXTS = st.one_of(st.sampled_from("0123456"), st.sampled_from(WORDS), st.text(max_size=300))


@dataclass(frozen=True)
class Step:
    text: str
    channel: str
    repeated: bool  # Twilio delivers this MessageSid a second time
    much_later: bool  # the resident writes after the flow timeout


STEPS = st.builds(
    Step,
    text=TEXTS,
    channel=st.sampled_from(["sms", "sms", "whatsapp"]),
    repeated=st.booleans(),
    much_later=st.integers(0, 9).map(lambda n: n == 0),
)

# Most examples start from a finished sign-up, so that the menus and flows get typed at too.
SIGNED_UP = st.sampled_from(
    [(), ("hola", "1", "Sopocachi", "1"), ("Kamisaki", "2", "San Pedro", "1")]
).map(lambda texts: [Step(text, "sms", repeated=False, much_later=False) for text in texts])

_phones = itertools.count(1)


@dataclass(frozen=True)
class Seen:
    """What a text may change, as the database has it after the text."""

    status: str | None
    language: str | None
    flow: str | None
    step: str | None


def seen(sessions: sessionmaker[Session], phone: str) -> Seen:
    with sessions() as session:
        row = session.execute(
            select(Resident.status, Resident.language, Conversation.flow, Conversation.step)
            .outerjoin(Conversation, Conversation.resident_id == Resident.id)
            .where(Resident.phone == phone)
        ).one_or_none()
    return Seen(*row) if row else Seen(None, None, None, None)


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(signed_up=SIGNED_UP, more=st.lists(STEPS, min_size=1, max_size=25))
def test_any_conversation_keeps_what_every_text_promises(
    sessions: sessionmaker[Session], signed_up: list[Step], more: list[Step]
) -> None:
    phone = f"+5917{next(_phones) % 10**7:07d}"  # a new resident per example
    now = utcnow()
    before = seen(sessions, phone)
    assert before.status is None
    for step in [*signed_up, *more]:
        if step.much_later:
            now += timedelta(minutes=31)
        msg = InboundMessage(phone=phone, channel=step.channel, body=step.text)
        sid = "SM" + uuid.uuid4().hex
        replies = receive(sessions, sid, msg, now=now)
        after = seen(sessions, phone)
        said = f"{step.text!r} on {step.channel} ({before} -> {after}): {replies!r}"

        assert len(replies) == 1 and replies[0].strip(), said
        if step.channel == "sms":
            assert is_gsm7(replies[0]) and segments(replies[0]) == 1, said

        kw = keyword(normalize(step.text))
        if kw == "optout":
            assert after.status == "opted_out", said
        if before.status == "opted_out" and kw not in ("optin", "erase") and before.flow != "erase":
            still = Reply(account.STILL_OPTED_OUT, bilingual=before.language is None)
            assert replies == [render([still], before.language, step.channel)], said
            assert after == before, said

        if step.repeated:
            assert receive(sessions, sid, msg, now=now) == replies, said
            assert seen(sessions, phone) == after, said
        event(f"reached {after.status} / {after.flow}")
        before = after
