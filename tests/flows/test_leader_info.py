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
TOO_LONG = "Centro de Salud " + "muy grande " * 15


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
            starts(
                "Revisar Sopocachi: 1 Salud; 2 Escuela; 3 Policia; 4 Ferias; 5 Agua; 6 Basura; "
                "7 Junta vecinal; 8 Lugares. 0: salir."
            ),
        ),
        ("9", "Revisar Sopocachi: 1 Salud"),
        ("4", ("Ferias 1/2: Feria de la plaza Abaroa", "(revisado el 20/11/2026)", "1 Sigue")),
        ("MAS", "Ferias 2/2: Feria de la calle Guachalla"),
        ("1", "Listo: quedo como revisado hoy"),
        ("quizas", "Responda 1 si sigue correcto, 2 para cambiarlo, 3 para agregar otro"),
        ("0", "1 Salud; 2 Escuela"),
        ("1", ("Salud 1/1: Centro de Salud Sopocachi", "2 Cambiar, 3 Agregar")),
        ("2", "Escriba el nuevo texto en un solo mensaje"),
        # Too long: the limit, and the leader is still asked for the text.
        (TOO_LONG, ("Es muy largo para un SMS: caben unas 99 letras", "su texto tiene 180")),
        # The health post had an Aymara text: the leader is told it goes.
        (NEW_HOURS, ("Quedara asi: Centro de Salud Sopocachi", "texto en aymara se borra", "1 Si")),
        ("tal vez", "Responda 1 para guardar o 2 para no guardar"),
        ("1", "Guardado: los vecinos ya leen el nuevo texto, revisado hoy."),
    ],
    "ay": [
        ("INFO EDITAR", starts("Sopocachi uñakipaña: 1 Salud; 2 Yatiqañ uta; 3 Policia; 4 Qhatu")),
        ("pusi", ("Qhatu 1/2: Feria de la plaza Abaroa", "(20/11/2026 uñakipata)", "1 Walikis")),
        ("juk'ampi", "Qhatu 2/2: Feria de la calle Guachalla"),
        ("maya", "Walikiwa: jichhüru uñakipataw qhipari"),
        ("kutt'aña", "1 Salud; 2 Yatiqañ uta"),
        ("1", ("Salud 1/1: Centro de Salud Sopocachi", "3 Yapxataña")),
        ("2", "Machaq qillqata mä sapa mensajena qillqt'am"),
        ("", "Machaq qillqata"),
        (TOO_LONG, ("wali jach'awa: fechamp chikax 99 letranakaw", "qillqatamax 180 letrani")),
        (NEW_HOURS, ("Akham qhiparani: Centro de Salud", "Aymar qillqatax chhaqtaniwa", "1 Jisa")),
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


JUNTA = "Junta vecinal de Sopocachi: reunion el primer lunes del mes, 19:00, sede de la plaza."

# A zona with nothing of its own in a category: the leader adds its first item by SMS, and
# another one beside an item already there (3 Agregar).
ADD: dict[str, Script] = {
    "es": [
        ("INFO EDITAR", "7 Junta vecinal"),
        ("7", starts("Junta vecinal: su zona todavia no tiene este dato. Escribalo")),
        (JUNTA, ("Se agregara a Junta vecinal: Junta vecinal de Sopocachi", "1 Si / 2 No")),
        ("1", "Agregado: los vecinos de Sopocachi ya lo leen con INFO, revisado hoy."),
        ("INFO EDITAR", "4 Ferias"),
        ("4", "Ferias 1/2"),
        ("3", starts("Escriba el nuevo dato de Ferias en un solo mensaje")),
        ("0", starts("Revisar Sopocachi: 1 Salud")),
        ("4", "Ferias 1/2"),
        ("3", "nuevo dato de Ferias"),
        ("Feria del mercado Bolivar: domingos de 7 a 14.", "Se agregara a Ferias: Feria del"),
        ("si", "Agregado: los vecinos de Sopocachi"),
    ],
    "ay": [
        ("INFO EDITAR", "7 Junta vecinal"),
        ("paqallqu", starts("Junta vecinal: zonamax janiw aka datox utjkiti.")),
        (JUNTA, ("Junta vecinal ukar yapxatani: Junta vecinal de Sopocachi", "1 Jisa")),
        ("jisa", "Yapxatatawa: Sopocachi markachirinakax INFO ukamp liyipxiwa"),
        ("INFO EDITAR", "4 Qhatu"),
        ("4", "Qhatu 1/2"),
        ("kimsa", starts("Qhatu machaq dato mä sapa mensajena qillqt'am")),
        ("kutt'aña", starts("Sopocachi uñakipaña: 1 Salud")),
        ("4", "Qhatu 1/2"),
        ("3", "Qhatu machaq dato"),
        ("Feria del mercado Bolivar: domingos de 7 a 14.", "Qhatu ukar yapxatani: Feria del"),
        ("1", "Yapxatatawa"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_leader_adds_items_to_their_own_zona(chat: Chat, lang: str) -> None:
    ids = zona_items(chat)
    lead = leader(chat, lang="1" if lang == "es" else "2")
    for reply in play(lead, ADD[lang]):
        assert segments(reply) == 1, reply
    with chat.sessions() as session:
        added = list(session.scalars(select(InfoItem).where(InfoItem.id > ids["other"])))
        sopocachi_id = session.scalars(select(Leader)).one().zone_id
        leader_id = session.scalars(select(Leader)).one().id
        session.expunge_all()
    assert [(i.category, i.zone_id, i.macrodistrict_id, i.text_ay) for i in added] == [
        ("junta", sopocachi_id, None, None),
        ("market", sopocachi_id, None, None),
    ]
    assert added[0].text_es == JUNTA and aware(added[0].checked_at) == NOON
    assert [(e.action, e.actor, e.target_id) for e in audit(chat)] == [
        ("info.add", f"leader {leader_id}", str(added[0].id)),
        ("info.add", f"leader {leader_id}", str(added[1].id)),
    ]
    resident = neighbour(chat, "+59171000303", lang="1" if lang == "es" else "2")
    assert "3 Junta vecinal; 4 Emergencia" in resident.say("INFO")
    assert "reunion el primer lunes" in resident.say("3")


@pytest.mark.parametrize(
    ("lang", "back"), [("1", "Menu: 1 Reportar"), ("2", "MENU: 1"), (None, "Listo. Escriba INFO")]
)
def test_0_at_the_categories_goes_back_with_a_reply(
    chat: Chat, lang: str | None, back: str
) -> None:
    zona_items(chat)
    lead = leader(chat, lang=lang)
    lead.say("INFO EDITAR")
    reply = lead.say("0")
    assert reply.startswith(back) and segments(reply) == 1
    if lang is None:  # a leader who is no resident: what they write next starts afresh
        assert lead.say("INFO EDITAR").startswith("Revisar Sopocachi")


@pytest.mark.parametrize("lang", ["1", "2"])
def test_a_text_too_long_keeps_the_leader_at_the_text_however_often(chat: Chat, lang: str) -> None:
    ids = zona_items(chat)
    lead = leader(chat, lang=lang)
    lead.say("INFO EDITAR")
    lead.say("4")
    lead.say("2")
    for _ in range(4):  # more than the three misses that send a resident back to the menu
        assert "99" in lead.say(TOO_LONG)
    # The first market has no Aymara text: nothing to say about one being cleared.
    confirm = lead.say("Feria de la plaza Abaroa: sábados de 7 a 14.")
    assert "aymara" not in confirm.casefold() and "Aymar" not in confirm
    lead.say("1")
    assert items(chat)[ids["market1"]].text_es == "Feria de la plaza Abaroa: sábados de 7 a 14."


def test_a_leader_of_another_zona_never_sees_sopocachi_items(chat: Chat) -> None:
    zona_items(chat)
    lead = leader(chat, leads="Achumani")
    assert lead.say("INFO EDITAR").startswith("Revisar Achumani: 1 Salud; 2 Escuela")
    assert "Centro de Salud Achumani" in lead.say("1")
    assert lead.say("MAS").startswith("Salud 1/1")  # only Achumani's post, not Sopocachi's


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
