"""Zona information from a resident's phone (INFO, "6 Mi barrio"), in Spanish and Aymara."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from bot.channels import segments
from storage.db import transaction
from storage.info import add_item, resolve_scope
from storage.models import InfoItem
from tests.conftest import Chat
from tests.factories import neighbour, onboard
from tests.helpers import Script, play, starts

CHECKED = datetime(2026, 11, 20, 15, tzinfo=UTC)


def add_info(chat: Chat, category: str, scope: str, es: str, ay: str | None = None) -> None:
    with transaction(chat.sessions) as session:
        add_item(session, category, resolve_scope(session, scope), es, ay, CHECKED)


def sopocachi(chat: Chat) -> None:
    add_info(
        chat,
        "health",
        "zona:Sopocachi",
        "Centro de Salud Sopocachi, Calle Belisario Salinas 520, de 7:30 a 19:30.",
        "Centro de Salud Sopocachi, Belisario Salinas thakhi 520, 7:30 - 19:30.",
    )
    add_info(
        chat,
        "market",
        "zona:Sopocachi",
        "Feria de la plaza Abaroa: sábados de 7:00 a 13:00.",
        "Abaroa plazan qhatu: sábado urux 7:00 - 13:00.",
    )
    add_info(
        chat,
        "subalcaldia",
        "macro:Cotahuma",
        "Subalcaldía Cotahuma: Av. Landaeta, de 8:30 a 16:30.",
    )


# The categories, one item at a time with the day it was checked, MAS, back, another category.
BROWSE: dict[str, Script] = {
    "es": [
        (
            "INFO",
            starts("Informacion de Sopocachi: 1 Salud; 2 Ferias; 3 Emergencias; 4 Subalcaldia."),
        ),
        ("1", ("Centro de Salud Sopocachi", "(revisado el 20/11/2026) 1/1", "0: volver")),
        ("0", starts("Informacion de Sopocachi: 1 Salud")),
        # The three emergency numbers in one SMS.
        ("3", ("Policia (Radio Patrulla) 110, Bomberos 119, Ambulancia (SAME) 118", "1/1")),
        ("mas", ("No hay mas en esta categoria", "1 Salud")),
        ("4", ("Subalcaldia Cotahuma", "1/1")),
        ("2", ("plaza Abaroa: sabados", "1/1")),
        ("0", "Informacion de Sopocachi"),
        ("0", starts("Menu: 1 Reportar")),
    ],
    "ay": [
        ("6", "Zonaja: 1 Zonamat"),
        ("1", starts("Sopocachi zonat informacion: 1 Salud; 2 Qhatu; 3 Emergencia")),
        ("maya", ("Belisario Salinas thakhi", "(20/11/2026 uñakipata) 1/1", "kutt'aña")),
        ("2", ("Abaroa plazan qhatu", "1/1")),
        # No Aymara text: the Spanish one.
        ("4", ("Subalcaldia Cotahuma: Av. Landaeta", "1/1")),
        ("kutt'aña", "Sopocachi zonat informacion"),
        ("3", ("110, Bomberos 119, Ambulancia (SAME) 118", "1/1", "0: kutt'aña")),
        ("juk'ampi", ("Janiw", "Sopocachi zonat informacion")),
        ("0", starts("MENU: 1")),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_residents_browse_their_zona_information_one_sms_at_a_time(chat: Chat, lang: str) -> None:
    sopocachi(chat)
    onboard(chat, "1" if lang == "es" else "2")
    for reply in play(chat, BROWSE[lang]):
        assert segments(reply) == 1, reply


def test_the_menu_offers_mi_barrio_and_keeps_its_numbers(chat: Chat) -> None:
    onboard(chat)
    menu = chat.say("MENU")
    assert "6 Mi barrio" in menu and "5 Perfil" in menu and segments(menu) == 1
    assert "Mis reportes" in chat.say("MENU") and "no tiene reportes" in chat.say("4")
    chat.say("MENU")
    assert chat.say("mi barrio").startswith("Mi barrio: 1 Informacion de su zona, 2 Ofrezco")
    assert chat.say("1").startswith("Informacion de Sopocachi")


def test_every_zona_has_the_emergency_numbers_and_only_its_own_items(chat: Chat) -> None:
    sopocachi(chat)
    elsewhere = neighbour(chat, "+59171000201", zone="Achumani")
    listing = elsewhere.say("INFO")
    assert listing.startswith("Informacion de Achumani: 1 Emergencias.")
    assert "Salud" not in listing and "Subalcaldia" not in listing
    assert "110" in elsewhere.say("1")
    # Same macrodistrito (Cotahuma), another zona: the subalcaldía, not Sopocachi's post.
    alto = neighbour(chat, "+59171000202", zone="Sopocachi Alto")
    assert alto.say("INFO").startswith("Informacion de Sopocachi Alto: 1 Emergencias; 2 Subalc")


@pytest.mark.parametrize(("lang", "sorry"), [("1", "No entend"), ("2", "Janiw mensajem")])
def test_a_text_that_is_no_category_is_asked_again_then_back_to_the_menu(
    chat: Chat, lang: str, sorry: str
) -> None:
    onboard(chat, lang)
    chat.say("INFO")
    again = chat.say("hospital")
    assert sorry in again and "1 Emergencia" in again and segments(again) == 1
    chat.say("9")
    assert "1" in chat.say("hospital")  # the third miss goes back to the menu
    assert "3 Emergencias" not in chat.say("MENU")


@pytest.mark.parametrize("word", ["BAJA", "Sayt'ayaña", "no me manden más mensajes"])
def test_opting_out_wins_inside_the_information(chat: Chat, word: str) -> None:
    onboard(chat)
    chat.say("INFO")
    chat.say("1")
    assert "no le enviaremos mas mensajes" in chat.say(word)
    assert "Usted se dio de baja" in chat.say("1")


def test_info_before_signing_up_is_help(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert "BAJA" in chat.say("INFO")


def test_a_word_after_an_item_is_read_as_a_menu_choice(chat: Chat) -> None:
    onboard(chat)
    chat.say("INFO")
    chat.say("1")
    assert "No hay noticias" in chat.say("noticias")


# 6 Mi barrio takes the words of its options, as the main menu does, in both languages.
BARRIO_WORDS: dict[str, list[tuple[str, str]]] = {
    "es": [
        ("CURSOS", "Cursos"),
        ("Ofrezco", "ofrece"),
        ("busco", "busca"),
        ("INFO", "Informacion de Sopocachi"),
        ("información de su zona", "Informacion de Sopocachi"),
    ],
    "ay": [
        ("yatiqaña", "Curso"),
        ("OFREZCO", "servicios churasma"),
        ("servicio thaqaña", "thaq"),
        ("zonamat información", "Sopocachi zonat informacion"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_mi_barrio_takes_the_words_of_its_options(chat: Chat, lang: str) -> None:
    onboard(chat, "1" if lang == "es" else "2")
    for word, expected in BARRIO_WORDS[lang]:
        chat.say("MENU")
        chat.say("6")
        reply = chat.say(word)
        assert expected.casefold() in reply.casefold(), (word, reply)
        assert "No entend" not in reply and "Janiw mensajem" not in reply
        assert segments(reply) == 1


def remove(chat: Chat, text: str) -> None:
    with transaction(chat.sessions) as session:
        session.execute(delete(InfoItem).where(InfoItem.text_es.like(f"%{text}%")))


@pytest.mark.parametrize(
    ("lang", "gone", "listing"),
    [
        ("1", "Esa informacion ya no esta.", "Informacion de Sopocachi: 1 Salud; 2 Emergencias"),
        (
            "2",
            "Uka informacionax janiw utjxiti.",
            "Sopocachi zonat informacion: 1 Salud; 2 Emergencia",
        ),
    ],
)
def test_an_item_deleted_while_a_resident_reads_it_is_said_to_be_gone(
    chat: Chat, lang: str, gone: str, listing: str
) -> None:
    sopocachi(chat)
    add_info(chat, "market", "zona:Sopocachi", "Feria de la calle Guachalla: jueves.")
    onboard(chat, lang)
    chat.say("INFO")
    assert "1/2" in chat.say("2")  # the first of the two markets
    remove(chat, "plaza Abaroa")
    reply = chat.say("MAS")  # the one being read is gone: said so, with the categories
    assert reply.startswith(gone) and ("Ferias" in reply or "Qhatu" in reply)
    assert segments(reply) == 1
    remove(chat, "Guachalla")
    reply = chat.say("2")  # a whole category gone since the list was sent
    assert reply.startswith(gone) and listing in reply and segments(reply) == 1


@pytest.mark.parametrize("lang", ["1", "2"])
def test_a_zona_with_every_category_lists_them_in_one_sms(chat: Chat, lang: str) -> None:
    for category in ("health", "school", "police", "market", "water", "trash", "junta", "places"):
        add_info(chat, category, "zona:Sopocachi", f"Dato de {category}.")
    add_info(chat, "subalcaldia", "macro:Cotahuma", "Subalcaldía Cotahuma.")
    onboard(chat, lang)
    listing = chat.say("INFO")
    assert "10 Lugares" in listing or "10 Barrio chiqanaka" in listing
    assert segments(listing) == 1, listing
    assert "Dato de places" in chat.say("10")
