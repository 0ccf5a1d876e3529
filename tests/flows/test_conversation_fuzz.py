"""Residents type anything, in any order: random conversations keep what every text promises.

Hypothesis drives one new phone per example through sequences of keywords (Spanish, Aymara,
English), menu numbers, zona names, report words and arbitrary text, on SMS and WhatsApp, with
Twilio repeating some messages and the resident sometimes coming back after the flow timeout.
After every text:
- the resident gets exactly one message back, never an empty one;
- on SMS it is GSM-7 and fits one segment (what they pay for and what a basic phone shows);
- an opt-out word always opts out, and an opted-out resident hears nothing but how to come back
  (unless they come back, erase their data, or are answering the erasure's question);
- a repeated MessageSid gets the same reply and changes nothing (votes and reports included).

The examples are derandomised, so every run (and CI) replays the same conversations.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import is_gsm7, segments
from bot.engine import InboundMessage
from bot.flows import FLOWS, account
from bot.i18n.keywords import keyword
from bot.inbound import receive
from bot.render import Reply, render
from bot.text import normalize
from storage import info as info_store
from storage import mapping as mapping_store
from storage.courses import seed_starter_courses
from storage.db import transaction
from storage.leaders import add_leader
from storage.models import (
    Broadcast,
    Conversation,
    MappedItem,
    NewsItem,
    NewsZone,
    OutboxEntry,
    Poll,
    Report,
    ReportSupporter,
    Resident,
    Vote,
    Zone,
    utcnow,
)
from tests.factories import add_poll
from tests.helpers import fuzz_settings

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
    "BAJA por favor 🙏",
    "No me manden más mensajes",
    "Ya no me escriban",
    "el agua sale baja",
    "no me llegan los mensajes",
    "ayuda, gracias",
    "ALTA",
    "start",
    "AYUDA",
    "yanapa",
    "help",
    "MENU",
    "inicio",
    "IDIOMA",
    "BORRAR",
    "INFO",
    "INFO EDITAR",
    "OFERTAS",
    "APROBAR 1",
    "mi barrio",
    "MAS",
    "OFREZCO",
    "BUSCO",
    "MAPEO",
    "mapa luraña",
    "MAPEO REVISAR",
    "MAPEO AVANCE",
    "MAPEADOR ALTA 71234567",
    "MAPEADOR BAJA 71234567",
    "APROBAR 1",
    "RECHAZAR 1 no se ve",
    "R1",
    "CURSOS",
    "Yatiqaña",
    "PAUSAR",
    "Arreglo grifos y cañerías",
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

# Most examples start from a finished sign-up, some from a report about to be sent or sent, so
# that the menus and flows get typed at too.
SIGN_UP_ES = ("hola", "1", "Sopocachi", "1")
SIGN_UP_AY = ("Kamisaki", "2", "San Pedro", "1")
REPORT = ("1", "3", "Basura en la esquina", "Calle Murillo")
SIGNED_UP = st.sampled_from(
    [(), SIGN_UP_ES, SIGN_UP_AY, SIGN_UP_ES + REPORT, SIGN_UP_AY + REPORT + ("1",)]
).map(lambda texts: [Step(text, "sms", repeated=False, much_later=False) for text in texts])

_phones = itertools.count(1)


@dataclass(frozen=True)
class Seen:
    """What a text may change, as the database has it after the text."""

    status: str | None
    language: str | None
    flow: str | None
    step: str | None
    votes: tuple[tuple[int, int], ...] = ()  # (poll, option)
    reports: int = 0
    supported: int = 0  # "me too" on someone else's report


def seen(sessions: sessionmaker[Session], phone: str) -> Seen:
    with sessions() as session:
        row = session.execute(
            select(
                Resident.id,
                Resident.status,
                Resident.language,
                Conversation.flow,
                Conversation.step,
            )
            .outerjoin(Conversation, Conversation.resident_id == Resident.id)
            .where(Resident.phone == phone)
        ).one_or_none()
        if row is None:
            return Seen(None, None, None, None)
        votes = session.execute(
            select(Vote.poll_id, Vote.option_id)
            .where(Vote.resident_id == row.id)
            .order_by(Vote.poll_id)
        )
        reports = session.scalar(select(func.count()).where(Report.resident_id == row.id))
        supported = session.scalar(
            select(func.count()).where(ReportSupporter.resident_id == row.id)
        )
    return Seen(*row[1:], tuple((p, o) for p, o in votes), reports or 0, supported or 0)


def open_polls_and_news(sessions: sessionmaker[Session]) -> None:
    """A city poll, a Sopocachi poll, news and the starter courses, once per database: the
    menus then lead somewhere."""
    with transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(Poll)):
            return
        seed_starter_courses(session, utcnow())
        options = [("Sí", "Jisa"), ("No", "Janiwa"), ("Tal vez", "Inas")]
        add_poll(session, "¿Feria el domingo?", options=options)
        add_poll(session, "¿Arreglamos la plaza?", options=options, zone="Sopocachi")
        sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        news = NewsItem(
            text_es="Corte de agua el martes de 9 a 13.",
            text_ay="Martes urux uma janiw utjkaniti.",
            target="zona:Sopocachi",
            citywide=False,
        )
        session.add(news)
        session.flush()
        session.add(NewsZone(news_id=news.id, zone_id=sopocachi))


def send(
    sessions: sessionmaker[Session], phone: str, step: Step, now: datetime
) -> tuple[datetime, str, InboundMessage, list[str]]:
    """One step's text received under a new MessageSid, after the flow timeout if it says so."""
    if step.much_later:
        now += timedelta(minutes=31)
    msg = InboundMessage(phone=phone, channel=step.channel, body=step.text)
    sid = "SM" + uuid.uuid4().hex
    return now, sid, msg, receive(sessions, sid, msg, now=now)


FUZZ = fuzz_settings(200)
# Hundreds of conversations each: about 10 s on SQLite, 20 s on PostgreSQL.
pytestmark = pytest.mark.slow


@FUZZ
@given(signed_up=SIGNED_UP, more=st.lists(STEPS, min_size=1, max_size=25))
def test_any_conversation_keeps_what_every_text_promises(
    sessions: sessionmaker[Session], signed_up: list[Step], more: list[Step]
) -> None:
    open_polls_and_news(sessions)
    phone = f"+5917{next(_phones) % 10**7:07d}"  # a new resident per example
    now = utcnow()
    before = seen(sessions, phone)
    assert before.status is None
    for step in [*signed_up, *more]:
        now, sid, msg, replies = send(sessions, phone, step, now)
        after = seen(sessions, phone)
        said = f"{step.text!r} on {step.channel} ({before} -> {after}): {replies!r}"

        assert len(replies) == 1 and replies[0].strip(), said
        # Where the conversation waits is a step its flow has: the next text is not dropped.
        if after.flow is not None:
            assert after.step in FLOWS[after.flow].steps, said
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
        if after.votes:
            event("voted")
        if after.reports or after.supported:
            event("reported or supported a report")
        before = after


LEADER_WORDS = [
    "ENCUESTA",
    "encuesta",
    "AVISO",
    "RESULTADOS",
    "INFO EDITAR",
    "editar info",
    "OFERTAS",
    "APROBAR 1",
    "rechazar 1",
    "MAPEO",
    "MAPEO REVISAR",
    "MAPEO AVANCE",
    "MAPEADOR ALTA 71234567",
    "MAPEADOR BAJA 71234567",
    "APROBAR 1",
    "RECHAZAR 1",
    "MAS",
    "MENU",
    "AYUDA",
    "BAJA",
    "ALTA",
    *"0123",
    "7",
    "14",
    "99",
    "Si, No",
    "Sí / No / Tal vez",
    "Si\nNo\nTal vez",
    "¿Arreglamos la plaza el sábado?",
    "Corte de agua el martes de 9 a 13 en toda la zona. Guarden agua.",
    "Reunión de la junta 🏛️ el jueves 19:00 en la sede ✅",
    "[urgente] {ver} ~todos~ | €5",
    "a" * 1600,
    "",
]
LEADER_STEPS = st.builds(
    Step,
    text=st.one_of(st.sampled_from(LEADER_WORDS), st.text(max_size=200)),
    channel=st.sampled_from(["sms", "sms", "whatsapp"]),
    repeated=st.booleans(),
    much_later=st.integers(0, 9).map(lambda n: n == 0),
)
# Some examples start with a notice or a poll waiting for "1 Enviar".
NOTICE = ("AVISO", "Corte de agua el martes de 9 a 13 en toda la zona.")
POLL = ("ENCUESTA", "¿Arreglamos la plaza el sábado?", "Si, No", "3")
# INFO EDITAR up to the new text of the zona's health post.
INFO_EDIT = ("INFO EDITAR", "1", "2")
# The reply that shows a leader their poll or notice as the residents will get it, with what it
# costs: that one is as long as what they wrote.
PREVIEW_COST = ("SMS por vecino", "SMS chaniniwa")


def sent(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """Polls, broadcasts and outbox entries in the database."""
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Poll, Broadcast, OutboxEntry)
        )


@FUZZ
@given(
    signed_up=st.sampled_from([(), SIGN_UP_ES, SIGN_UP_AY]).map(
        lambda texts: [Step(text, "sms", repeated=False, much_later=False) for text in texts]
    ),
    started=st.sampled_from([(), NOTICE, POLL, (*NOTICE, "1"), (*POLL, "1"), INFO_EDIT]).map(
        # Twilio delivering "1 Enviar" twice must not send twice.
        lambda texts: [Step(text, "sms", repeated=True, much_later=False) for text in texts]
    ),
    more=st.lists(LEADER_STEPS, min_size=1, max_size=25),
)
def test_any_leader_conversation_keeps_what_every_text_promises(
    sessions: sessionmaker[Session], signed_up: list[Step], started: list[Step], more: list[Step]
) -> None:
    """A junta's leader (signed up or not) typing anything: one reply per text, one SMS unless
    it previews their own poll or notice with its cost, and a repeated text never sends twice."""
    phone = f"+5916{next(_phones) % 10**7:07d}"
    now = utcnow().replace(hour=16, minute=0, second=0, microsecond=0)  # noon in La Paz
    for step in signed_up:
        receive(sessions, "SM" + uuid.uuid4().hex, InboundMessage(phone, "sms", step.text), now=now)
    with transaction(sessions) as session:
        sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        add_leader(session, phone, sopocachi)
        if not info_store.zone_items(session, sopocachi):
            info_store.add_item(
                session, "health", info_store.Scope(zone_id=sopocachi), "Centro de Salud, 7 a 19."
            )
    for step in [*started, *more]:
        now, sid, msg, replies = send(sessions, phone, step, now)
        said = f"{step.text!r} on {step.channel}: {replies!r}"

        assert len(replies) == 1 and replies[0].strip(), said
        if step.channel == "sms":
            assert is_gsm7(replies[0]) or any(cost in replies[0] for cost in PREVIEW_COST), said
            if segments(replies[0]) > 1:
                assert any(cost in replies[0] for cost in PREVIEW_COST), said
                event("previewed a long poll or notice")

        if step.repeated:
            before = sent(sessions)
            assert receive(sessions, sid, msg, now=now) == replies, said
            assert sent(sessions) == before, said
    polls, broadcasts, _ = sent(sessions)
    event(f"polls or notices sent: {'yes' if polls or broadcasts else 'no'}")


# --- a youth mapper on WhatsApp: pins and photos at any step ----------------------------------

MAPPER_WORDS = [
    "MAPEO",
    "mapa luraña",
    "MAPEO AVANCE",
    "MAPEO BAJA",
    "Plaza con juegos frente a la iglesia",
    "Hueco grande en la esquina de la escuela, junto al mercado de la calle Guachalla, hace meses",
    "enviar",
    "dejar",
    "seguir",
    "MAS",
]
PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
# What (re)starts the mapper's flow, and the steps that take a pin or a photo.
MAPPING_STARTS = {normalize(w) for w in ("MAPEO", "mapa luraña", "MAPEO AVANCE", "MAPEO BAJA")}
RECORDING = ("group", "kind", "description", "extras", "confirm")


@dataclass(frozen=True)
class MapperStep:
    text: str
    channel: str
    pin: bool  # WhatsApp: a location pin (Latitude/Longitude)
    photo: bool  # WhatsApp: a photo (MediaUrl0)
    repeated: bool


MAPPER_STEPS = st.builds(
    MapperStep,
    text=st.one_of(
        st.sampled_from(["0", "1", "1", "2"]),  # what moves a recording on, often
        st.sampled_from("0123456789"),
        st.sampled_from(["10", "11", "12"]),
        st.sampled_from(MAPPER_WORDS),
        st.just(""),
        st.text(max_size=120),
    ),
    channel=st.sampled_from(["sms", "whatsapp", "whatsapp"]),
    pin=st.booleans(),
    photo=st.booleans(),
    repeated=st.booleans(),
)


# Some examples start part way into recording an item, so that items get recorded.
MAPPER_STARTS = [
    (),
    ("MAPEO",),
    ("MAPEO", "1"),
    ("MAPEO", "2", "5"),
    ("MAPEO", "1", "8", "Mercado Rodríguez"),
    ("MAPEO", "2", "5", "Bache en la esquina", "0"),
]


def _begun(texts: tuple[str, ...]) -> st.SearchStrategy[tuple[MapperStep, ...]]:
    return st.tuples(
        *(
            st.builds(
                MapperStep,
                text=st.just(text),
                channel=st.sampled_from(["sms", "whatsapp"]),
                pin=st.booleans(),
                photo=st.booleans(),
                repeated=st.just(False),
            )
            for text in texts
        )
    )


def items_of(sessions: sessionmaker[Session], phone: str) -> list[tuple[str, bool, bool]]:
    """(kind, with a pin, with a photo) of what this phone recorded."""
    with sessions() as session:
        rows = session.execute(
            select(MappedItem.kind, MappedItem.latitude, MappedItem.media_url)
            .join(Resident, Resident.id == MappedItem.resident_id)
            .where(Resident.phone == phone)
            .order_by(MappedItem.id)
        )
        return [(kind, lat is not None, bool(url)) for kind, lat, url in rows]


@FUZZ
@given(
    signed_up=st.sampled_from([SIGN_UP_ES, ("Kamisaki", "2", "Sopocachi", "1")]),
    begun=st.sampled_from(MAPPER_STARTS).flatmap(_begun),
    more=st.lists(MAPPER_STEPS, min_size=1, max_size=25),
)
def test_any_mapper_conversation_with_pins_and_photos_keeps_its_promises(
    sessions: sessionmaker[Session],
    signed_up: tuple[str, ...],
    begun: tuple[MapperStep, ...],
    more: list[MapperStep],
) -> None:
    """A mapper typing anything, on WhatsApp with pins and photos at any step: one reply per
    text (one SMS on SMS), the conversation waits at a step its flow has, a repeated message
    changes nothing, and an item recorded keeps every pin and photo sent while recording it."""
    phone = f"+5917{next(_phones) % 10**7:07d}"
    now = utcnow().replace(hour=16, minute=0, second=0, microsecond=0)
    for text in signed_up:
        receive(sessions, "SM" + uuid.uuid4().hex, InboundMessage(phone, "sms", text), now=now)
    with transaction(sessions) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        assert resident.zone_id is not None
        mapping_store.register_mapper(session, resident, resident.zone_id, "cli", now)
    # A pin or photo a recording step took since this item began: the item must have it.
    pin = photo = False
    for step in [*begun, *more]:
        whatsapp = step.channel == "whatsapp"
        msg = InboundMessage(
            phone=phone,
            channel=step.channel,
            body=step.text,
            media=[PHOTO] if whatsapp and step.photo else [],
            latitude=-16.51 if whatsapp and step.pin else None,
            longitude=-68.12 if whatsapp and step.pin else None,
        )
        sid = "SM" + uuid.uuid4().hex
        before = seen(sessions, phone)
        recorded = len(items_of(sessions, phone))
        replies = receive(sessions, sid, msg, now=now)
        after = seen(sessions, phone)
        said = f"{step} ({before} -> {after}): {replies!r}"

        assert len(replies) == 1 and replies[0].strip(), said
        if after.flow is not None:
            assert after.step in FLOWS[after.flow].steps, said
        if step.channel == "sms":
            assert is_gsm7(replies[0]) and segments(replies[0]) == 1, said
        if normalize(step.text) in MAPPING_STARTS or before.flow != "mapping":
            pin = photo = False  # a new start: nothing of an earlier item carries over
        if before.flow == "mapping" and before.step in RECORDING and after.flow == "mapping":
            pin = pin or msg.latitude is not None
            photo = photo or bool(msg.media)
        found = items_of(sessions, phone)
        if len(found) > recorded:
            _, has_pin, has_photo = found[-1]
            assert (has_pin, has_photo) == (pin, photo), said
            event(f"recorded an item (pin {has_pin}, photo {has_photo})")
            pin = photo = False
        if after.flow != "mapping":
            pin = photo = False

        if step.repeated:
            assert receive(sessions, sid, msg, now=now) == replies, said
            assert seen(sessions, phone) == after, said
            assert len(items_of(sessions, phone)) == len(found), said
