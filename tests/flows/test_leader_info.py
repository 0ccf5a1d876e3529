"""INFO EDITAR: a council leader keeps their zona's information current by SMS, es and ay."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from bot.channels import segments
from storage.db import transaction
from storage.info import add_item, resolve_scope
from storage.models import AuditEntry, InfoItem, Leader, aware
from tests.conftest import Chat
from tests.factories import NOON, leader, neighbour
from tests.helpers import Script, play, starts

CHECKED = datetime(2026, 11, 20, 15, tzinfo=UTC)
NEW_HOURS = "Centro de Salud Sopocachi: ahora de 7:00 a 20:00, también sábados."


def add_info(chat: Chat, category: str, scope: str, es: str, ay: str | None = None) -> int:
    with transaction(chat.sessions) as session:
        return add_item(session, category, resolve_scope(session, scope), es, ay, CHECKED).id


def items(chat: Chat) -> dict[int, InfoItem]:
    with chat.sessions() as session:
        found = {i.id: i for i in session.scalars(select(InfoItem))}
        session.expunge_all()
    return found


def audit(chat: Chat) -> list[AuditEntry]:
    with chat.sessions() as session:
        found = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        session.expunge_all()
    return found


def zona_items(chat: Chat) -> dict[str, int]:
    return {
        "health": add_info(
            chat,
            "health",
            "zona:Sopocachi",
            "Centro de Salud Sopocachi, Calle Belisario Salinas 520, de 7:30 a 19:30.",
            "Centro de Salud Sopocachi, Belisario Salinas thakhi 520, 7:30 - 19:30.",
        ),
        "market1": add_info(
            chat, "market", "zona:Sopocachi", "Feria de la plaza Abaroa: sábados de 7 a 13."
        ),
        "market2": add_info(
            chat, "market", "zona:Sopocachi", "Feria de la calle Guachalla: jueves de 8 a 14."
        ),
        # Not the leader's to edit: the macrodistrito's and another zona's.
        "macro": add_info(chat, "subalcaldia", "macro:Cotahuma", "Subalcaldía Cotahuma."),
        "other": add_info(chat, "health", "zona:Achumani", "Centro de Salud Achumani."),
    }


EDIT: dict[str, Script] = {
    "es": [
        (
            "INFO EDITAR",
            starts("Revisar Sopocachi: 1 Salud; 2 Ferias. 0: salir."),
        ),
        ("7", "Revisar Sopocachi: 1 Salud"),
        ("2", ("Ferias 1/2: Feria de la plaza Abaroa", "(revisado el 20/11/2026)", "1 Sigue")),
        ("MAS", "Ferias 2/2: Feria de la calle Guachalla"),
        ("1", "Listo: quedo como revisado hoy"),
        ("quizas", "Responda 1 si sigue correcto, 2 para cambiarlo"),
        ("0", "1 Salud; 2 Ferias"),
        ("1", ("Salud 1/1: Centro de Salud Sopocachi", "2 Cambiar")),
        ("2", "Escriba el nuevo texto en un solo mensaje"),
        ("Centro de Salud " + "muy grande " * 15, "Es muy largo para un SMS"),
        (NEW_HOURS, ("Quedara asi: Centro de Salud Sopocachi: ahora de 7:00 a 20:00", "1 Si")),
        ("tal vez", "Responda 1 para guardar o 2 para no guardar"),
        ("1", "Guardado: los vecinos ya leen el nuevo texto, revisado hoy."),
    ],
    "ay": [
        ("INFO EDITAR", starts("Sopocachi uñakipaña: 1 Salud; 2 Qhatu")),
        ("paya", ("Qhatu 1/2: Feria de la plaza Abaroa", "(20/11/2026 uñakipata)", "1 Walikis")),
        ("juk'ampi", "Qhatu 2/2: Feria de la calle Guachalla"),
        ("maya", "Walikiwa: jichhüru uñakipataw qhipari"),
        ("kutt'aña", "1 Salud; 2 Qhatu"),
        ("1", "Salud 1/1: Centro de Salud Sopocachi"),
        ("2", "Machaq qillqata mä sapa mensajena qillqt'am"),
        ("", "Machaq qillqata"),
        (NEW_HOURS, ("Akham qhiparani: Centro de Salud Sopocachi", "Imañati? 1 Jisa / 2 Janiwa")),
        ("jisa", "Imatawa: markachirinakax machaq qillqat liyipxiwa"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_leader_checks_and_edits_their_zona_information(chat: Chat, lang: str) -> None:
    ids = zona_items(chat)
    lead = leader(chat, lang="1" if lang == "es" else "2")
    before = items(chat)

    for reply in play(lead, EDIT[lang]):
        assert segments(reply) == 1, reply

    after = items(chat)
    # The second market item is checked today, its text as it was.
    assert aware(after[ids["market2"]].checked_at) == NOON
    assert after[ids["market2"]].text_es == before[ids["market2"]].text_es
    assert aware(after[ids["market1"]].checked_at) == CHECKED
    # The health post has the leader's words, for every resident, checked today.
    health = after[ids["health"]]
    assert (health.text_es, health.text_ay) == (NEW_HOURS, None)
    assert aware(health.checked_at) == NOON
    # Nothing outside the zona moved.
    for key in ("macro", "other"):
        assert after[ids[key]].text_es == before[ids[key]].text_es
        assert aware(after[ids[key]].checked_at) == CHECKED

    with chat.sessions() as session:
        leader_row = session.scalars(select(Leader)).one()
    check, edit = audit(chat)
    assert (check.action, check.via, check.target_id) == ("info.check", "sms", str(ids["market2"]))
    assert (edit.action, edit.target_id) == ("info.edit", str(ids["health"]))
    assert edit.actor == f"leader {leader_row.id}" and "+591" not in edit.actor
    assert edit.before is not None and edit.before["text_es"].startswith("Centro de Salud")
    assert edit.after is not None and edit.after["text_es"] == NEW_HOURS

    # Residents read the new text, with today's date, in either language.
    for phone, language in (("+59171000301", "1"), ("+59171000302", "2")):
        resident = neighbour(chat, phone, lang=language)
        resident.say("INFO")
        assert "ahora de 7:00 a 20:00" in resident.say("1")


@pytest.mark.parametrize(("lang", "said"), [("1", "No cambiamos nada"), ("2", "Janiw kuns")])
def test_a_leader_who_says_no_changes_nothing(chat: Chat, lang: str, said: str) -> None:
    ids = zona_items(chat)
    lead = leader(chat, lang=lang)
    lead.say("INFO EDITAR")
    lead.say("1")
    lead.say("2")
    lead.say(NEW_HOURS)
    assert said in lead.say("2")
    assert items(chat)[ids["health"]].text_es.startswith("Centro de Salud Sopocachi, Calle")
    assert audit(chat) == []


@pytest.mark.parametrize(("lang", "said"), [("1", "todavia no tiene"), ("2", "janiw pachpa")])
def test_a_zona_without_its_own_items_is_told_who_adds_them(
    chat: Chat, lang: str, said: str
) -> None:
    add_info(chat, "subalcaldia", "macro:Cotahuma", "Subalcaldía Cotahuma.")
    lead = leader(chat, lang=lang)
    reply = lead.say("editar info")
    assert said in reply and "Sopocachi" in reply and segments(reply) == 1


def test_a_leader_of_another_zona_never_sees_sopocachi_items(chat: Chat) -> None:
    zona_items(chat)
    lead = leader(chat, leads="Achumani")
    assert lead.say("INFO EDITAR").startswith("Revisar Achumani: 1 Salud.")
    assert "Centro de Salud Achumani" in lead.say("1")


def test_info_editar_from_a_resident_who_leads_nothing_edits_nothing(chat: Chat) -> None:
    zona_items(chat)
    resident = neighbour(chat, "+59171000310")
    reply = resident.say("INFO EDITAR")
    assert "No entendi" in reply and "Revisar" not in reply
    assert audit(chat) == []


@pytest.mark.parametrize(("lang", "said"), [("1", "ya no esta"), ("2", "janiw utjxiti")])
def test_an_item_removed_meanwhile_is_not_saved(chat: Chat, lang: str, said: str) -> None:
    ids = zona_items(chat)
    lead = leader(chat, lang=lang)
    lead.say("INFO EDITAR")
    lead.say("1")
    lead.say("2")
    lead.say(NEW_HOURS)
    with transaction(chat.sessions) as session:
        session.execute(delete(InfoItem).where(InfoItem.id == ids["health"]))
    assert said in lead.say("1")
    assert audit(chat) == []


def test_a_leader_removed_meanwhile_saves_nothing(chat: Chat) -> None:
    ids = zona_items(chat)
    lead = leader(chat)
    lead.say("INFO EDITAR")
    lead.say("1")
    lead.say("2")
    lead.say(NEW_HOURS)
    with transaction(chat.sessions) as session:
        session.execute(delete(Leader))
    assert "ya no figura como dirigente" in lead.say("1")
    assert items(chat)[ids["health"]].text_es != NEW_HOURS


@pytest.mark.parametrize("word", ["BAJA", "Sayt'ayaña"])
def test_opting_out_wins_inside_info_editar(chat: Chat, word: str) -> None:
    zona_items(chat)
    lead = leader(chat)
    lead.say("INFO EDITAR")
    lead.say("1")
    lead.say("2")
    assert "no le enviaremos mas mensajes" in lead.say(word)
