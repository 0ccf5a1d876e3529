"""Every yes/no prompt takes every yes word and every no word, in Spanish, Aymara and English.

The words were once written per prompt and drifted ("iyaw" confirmed a leader's message but
was asked again at a report's confirmation): this walks each prompt with each word.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.i18n.keywords import keyword
from bot.text import normalize
from storage import reports as store
from storage.db import transaction
from storage.models import Report, Resident, utcnow
from tests.conftest import Chat
from tests.factories import NOTICE, leader, neighbour, onboard, report
from worker.followups import send_due_followups

# As residents type them: accents, capitals and apostrophes included.
YES_WORDS = {
    "es": ["sí", "Sí", "si", "SI", "s", "acepto", "si acepto", "ok", "okay", "1", "uno"],
    "ay": ["jisa", "Jisa", "jisa'", "jisa’", "iyaw", "Iyaw", "iyawa", "maya", "mä"],
    "en": ["yes", "Yes", "OK"],
}
NO_WORDS = {
    "es": ["no", "No", "NO", "n", "no acepto", "2", "dos"],
    "ay": ["jani", "Jani", "janiwa", "Janiwa", "janiw", "paya", "pä"],
    "en": ["no", "nope"],
}
YES = [(lang, word) for lang, words in YES_WORDS.items() for word in words]
NO = [(lang, word) for lang, words in NO_WORDS.items() for word in words]


def test_every_word_of_the_vocabulary_is_walked() -> None:
    from bot.flows import answers  # here, so the walks below also run against older code

    assert answers.YES <= {normalize(w) for _, w in YES}
    assert answers.NO <= {normalize(w) for _, w in NO}


def test_no_answer_word_is_an_opt_out() -> None:
    for word in [*(w for _, w in YES), *(w for _, w in NO)]:
        assert keyword(normalize(word)) != "optout", word


# --- the prompts: each brings a resident to its question and says what yes and no reply ----


def consent(chat: Chat) -> Chat:
    for text in ("hola", "1", "Sopocachi"):
        chat.say(text)
    return chat


def consented(chat: Chat) -> bool:
    with chat.sessions() as session:
        status = session.scalar(select(Resident.status).where(Resident.phone == chat.phone))
    return status == "active"


def report_confirmation(chat: Chat) -> Chat:
    onboard(chat)
    for text in ("1", "1", "No hay agua desde el lunes"):
        chat.say(text)
    assert "1 Enviar / 2 No enviar" in chat.say("Calle Guachalla 123")
    return chat


def similar_report(chat: Chat) -> Chat:
    onboard(chat)
    report(chat)
    other = neighbour(chat, "+59171000002")
    other.say("1")
    assert "1 Yo también lo tengo / 2 Es otro problema" in other.say("1")
    return other


def followup(chat: Chat) -> Chat:
    onboard(chat)
    report(chat)
    with transaction(chat.sessions) as session:
        [filed] = session.scalars(select(Report))
        store.set_status(
            session, filed, "resolved", None, followup_after=timedelta(0), now=utcnow()
        )
    assert send_due_followups(chat.sessions, now=utcnow() + timedelta(minutes=1)) == 1
    return chat


def erase(chat: Chat) -> Chat:
    onboard(chat)
    assert "borrar / 2 No" in chat.say("BORRAR")
    return chat


def leader_notice(chat: Chat, lang: str | None = "1") -> Chat:
    lead = leader(chat, lang=lang)
    for person in ("+59171000901", "+59171000902"):
        onboard(Chat(chat.sessions, phone=person))
    lead.say("AVISO")
    assert "1 Enviar / 2 No enviar" in lead.say(NOTICE)
    return lead


def non_resident_leader_notice(chat: Chat) -> Chat:
    return leader_notice(chat, lang=None)


Prompt = tuple[Callable[[Chat], Chat], str, str]
PROMPTS: dict[str, Prompt] = {
    # name: (bring a chat to the question, part of the yes reply, part of the no reply)
    "consent": (consent, "Ya es parte de Mi Barrio", "no guardamos sus datos"),
    "report confirmation": (report_confirmation, "recibido", "Reporte cancelado"),
    "similar report": (similar_report, "sumamos su apoyo", "Cuéntenos el problema"),
    "follow-up": (followup, "Gracias por confirmar", "Reabrimos el reporte"),
    "erase": (erase, "Sus datos fueron borrados", "No borramos nada"),
    "leader notice": (leader_notice, "Listo: su aviso va a", "No enviamos nada"),
    "non-resident leader notice": (
        non_resident_leader_notice,
        "Listo: su aviso va a",
        "No enviamos nada",
    ),
}


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize(("lang", "word"), YES)
def test_yes_confirms(chat: Chat, prompt: str, lang: str, word: str) -> None:
    start, yes_reply, _ = PROMPTS[prompt]
    asked = start(chat)
    reply = asked.say(word)
    assert yes_reply in reply, (prompt, word, reply)
    if prompt == "consent":
        assert consented(asked)


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize(("lang", "word"), NO)
def test_no_declines(chat: Chat, prompt: str, lang: str, word: str) -> None:
    start, _, no_reply = PROMPTS[prompt]
    asked = start(chat)
    reply = asked.say(word)
    assert no_reply in reply, (prompt, word, reply)
    if prompt == "consent":
        assert not consented(asked)
