"""What residents pay: whole SMS conversations in Spanish and in Aymara, measured.

Done means (issue 5): over SMS, 100% of what the bot sends is GSM-7 and at least 90% of it fits
one segment, in both languages. Each language gets a complete scripted conversation: sign-up
(with a misspelt zona, a declined consent, the macrodistrito lists), help, the menu, a report
with a "me too" from a neighbour, polls, news, the profile, keywords, a timeout, opting out and
back in, and the messages the municipality starts (a status change, the "¿Se resolvió?"
follow-up). docs/sms-cost.md, the per-message table, must be current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import is_gsm7, segments
from bot.cli import main
from bot.i18n import cost as smscost
from storage.db import transaction
from storage.models import (
    NewsItem,
    NewsZone,
    OutboundMessage,
    Resident,
    Zone,
    utcnow,
)
from tests.conftest import Chat
from tests.factories import add_poll
from tests.helpers import REPO, terminal
from worker.followups import send_due_followups

CODE = re.compile(r"R-[2-9A-HJ-NP-Z]{4}")
COST_DOC = REPO / "docs" / "sms-cost.md"
SINGLE_SEGMENT_SHARE = 0.90

# What a resident types, in each language (Aymara residents answer with Aymara words where the
# bot understands them; digits work everywhere).
WORDS = {
    "es": {
        "lang": "1",
        "help": "ayuda",
        "language": "idioma",
        "erase": "borrar",
        "yes": "1",
        "no": "2",
        "more": "mas",
        "one": "1",
        "two": "2",
        "three": "3",
        "description": "No hay agua desde el lunes en toda la cuadra, la cañería está rota",
        "place": "Calle Guachalla esquina Ecuador, frente a la tienda",
    },
    "ay": {
        "lang": "2",
        "help": "yanapa",
        "language": "aru",
        "erase": "pichsuña",
        "yes": "jisa",
        "no": "janiwa",
        "more": "juk'ampi",
        "one": "maya",
        "two": "paya",
        "three": "kimsa",
        "description": "Lunes urut uma jan utjkiti, cañeria p'akjatawa",
        "place": "Guachalla thakhi, Ecuador esquina",
    },
}


@dataclass
class Measure:
    lang: str
    texts: list[tuple[str, str]] = field(default_factory=list)  # (what caused it, the SMS)

    def add(self, cause: str, text: str) -> None:
        if text:
            self.texts.append((cause, text))

    def take(self, chat: Chat) -> None:
        for said, reply in chat.log:
            self.add(f"> {said}", reply)
        chat.log.clear()

    @property
    def single_share(self) -> float:
        return sum(1 for _, t in self.texts if segments(t) == 1) / len(self.texts)

    def report(self) -> str:
        longer = [
            f"  {segments(t)} SMS after {cause!r}: {t!r}"
            for cause, t in self.texts
            if segments(t) > 1
        ]
        return (
            f"{self.lang}: {len(self.texts)} SMS, "
            f"{sum(1 for _, t in self.texts if is_gsm7(t))} GSM-7, "
            f"{self.single_share:.1%} single-segment" + ("\n" + "\n".join(longer) if longer else "")
        )


def _zone_id(sessions: sessionmaker[Session], name: str) -> int:
    with sessions() as session:
        return session.scalars(select(Zone.id).where(Zone.name == name)).one()


def _poll(sessions: sessionmaker[Session], question_es: str, question_ay: str) -> None:
    options = [
        ("En la plaza", "Plazana"),
        ("En la calle Murillo", "Murillo thakhina"),
        ("No sabe", "Janiw yatkiti"),
    ]
    with transaction(sessions) as session:
        add_poll(session, question_es, question_ay, options=options, zone="Sopocachi")


def _news(sessions: sessionmaker[Session], es: str, ay: str, minutes_ago: int) -> None:
    zone_id = _zone_id(sessions, "Sopocachi")
    with transaction(sessions) as session:
        item = NewsItem(
            text_es=es,
            text_ay=ay,
            target="zona:Sopocachi",
            citywide=False,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(item)
        session.flush()
        session.add(NewsZone(news_id=item.id, zone_id=zone_id))


def _outbound(sessions: sessionmaker[Session], phone: str) -> list[OutboundMessage]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .join(Resident, Resident.id == OutboundMessage.resident_id)
                .where(Resident.phone == phone)
                .order_by(OutboundMessage.id)
            )
        )


@pytest.fixture
def staff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    """Municipal staff at a terminal whose DATABASE_URL is the test database."""
    unset = ("REDIS_URL", "PUBLIC_URL", "GSM7_FOLD", "TWILIO_ACCOUNT_SID")
    return terminal(monkeypatch, tmp_path, db_url, unset=unset, FOLLOWUP_DAYS="0")


def converse(lang: str, chat: Chat, staff: CliRunner) -> Measure:
    """One complete SMS conversation (two residents and the municipality) in one language."""
    w = WORDS[lang]
    sessions = chat.sessions
    measure = Measure(lang)

    # A neighbour signs up the long way: unknown zona, macrodistritos, their zonas, declines,
    # then comes back and accepts.
    other = Chat(sessions, phone="+59171000077")
    for text in ("Hola", w["lang"], "zona que no existe", w["one"], w["two"], w["no"]):
        other.say(text)
    for text in ("Hola", w["lang"], "Sopocachi", w["yes"]):
        other.say(text)
    measure.take(other)

    # The resident: sign-up with a misspelt zona and an answer the bot does not take.
    for text in ("Hola", w["lang"], "sopocahi", "quizas", w["yes"]):
        chat.say(text)
    # Help, nonsense, the menu.
    for text in (w["help"], "qwerty", "menu"):
        chat.say(text)
    # A report, with a wrong answer at the summary; then the list of their reports.
    chat.say(w["one"])  # report a problem
    chat.say(w["one"])  # water
    chat.say(w["description"])
    chat.say(w["place"])
    chat.say(w["three"])
    sent = chat.say(w["yes"])
    found = CODE.search(sent)
    assert found, chat.log
    code = found.group(0)
    chat.say("4")
    # The neighbour has the same problem: "me too".
    for text in (w["one"], w["one"], w["yes"]):
        other.say(text)
    measure.take(other)

    # Polls: one question, a bad answer, a vote, a changed vote; then a list of two.
    _poll(
        sessions,
        "¿Prefiere la feria dominical en la plaza o en la calle Murillo?",
        "Domingo feria plazan jan ukax Murillo thakhin lurañani?",
    )
    for text in ("2", "7", w["one"], "2", w["two"]):
        chat.say(text)
    _poll(sessions, "¿Arreglamos primero la cancha o la plaza?", "Cancha jan ukax plaza?")
    for text in ("2", w["one"], w["three"]):
        chat.say(text)

    # News: the newest, an older one, no more.
    _news(
        sessions,
        "Feria de salud el sábado de 9:00 a 13:00 en la plaza Abaroa: vacunas y control.",
        "Sabado urut 9:00 ukat 13:00 kama plaza Abaroan salud feria: vacunanaka.",
        minutes_ago=90,
    )
    _news(
        sessions,
        "Corte de agua el martes de 8:00 a 14:00 en Sopocachi por trabajos en la red.",
        "Martes urut 8:00 ukat 14:00 kama Sopocachin uma jan utjkaniti.",
        minutes_ago=5,
    )
    for text in ("3", w["more"], w["more"]):
        chat.say(text)

    # Profile: topics on and off, a new zona.
    for text in ("5", w["three"], w["three"], w["three"], "0", "5", w["one"], "achumani"):
        chat.say(text)

    # Keywords: language, erase (kept), a timeout, opting out and back in.
    for text in (w["language"], w["lang"], w["erase"], w["no"]):
        chat.say(text)
    chat.say(w["one"])
    chat.later(45)
    chat.say("hola")
    for text in ("BAJA", "hola", "ALTA"):
        chat.say(text)
    measure.take(chat)

    # The municipality: a status change with a note, then resolved and the follow-up question.
    before = {phone: len(_outbound(sessions, phone)) for phone in (chat.phone, other.phone)}
    for args in (
        ["reports", "set-status", code, "in-progress", "--note", "Cuadrilla asignada el lunes"],
        ["reports", "set-status", code, "resolved"],
    ):
        result = staff.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert send_due_followups(sessions) == 1
    for phone, count in before.items():
        for message in _outbound(sessions, phone)[count:]:
            assert message.channel == "sms"
            measure.add(f"(sent to {phone})", message.body or "")
    chat.say(w["yes"])  # yes, it was resolved
    measure.take(chat)
    return measure


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_whole_sms_conversations_are_gsm7_and_mostly_one_segment(
    lang: str, chat: Chat, staff: CliRunner
) -> None:
    measure = converse(lang, chat, staff)
    print(measure.report())
    assert len(measure.texts) >= 50  # a real conversation, not a handful of replies
    not_gsm = [t for _, t in measure.texts if not is_gsm7(t)]
    assert not_gsm == [], measure.report()
    assert measure.single_share >= SINGLE_SEGMENT_SHARE, measure.report()


def test_the_aymara_conversation_is_in_aymara(chat: Chat, staff: CliRunner) -> None:
    """Guards the measure above: the Aymara run must not silently fall back to Spanish."""
    texts = [t for _, t in converse("ay", chat, staff).texts]
    spanish_only = [t for t in texts[2:] if "Responda" in t or "Escriba" in t or "Gracias" in t]
    assert spanish_only == []
    assert any("Yuspagara" in t for t in texts) and any("jan walt'" in t for t in texts)


def test_sms_cost_doc_is_current() -> None:
    """docs/sms-cost.md is generated; regenerate with `mibarrio i18n cost --write ...`."""
    assert COST_DOC.read_text(encoding="utf-8") == smscost.cost_markdown(), (
        "docs/sms-cost.md is stale: run `.venv/bin/mibarrio i18n cost --write docs/sms-cost.md`"
    )
