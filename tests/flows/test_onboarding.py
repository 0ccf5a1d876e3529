"""Signing up, as a resident experiences it: language, zona, consent, in Spanish and Aymara."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.channels import is_gsm7, segments
from storage.models import Conversation, ReceivedMessage, Zone
from tests.conftest import Chat
from tests.factories import find_resident, resident
from tests.helpers import Script, play, starts


def test_first_message_welcomes_in_both_languages_and_offers_the_choice(chat: Chat) -> None:
    reply = chat.say("hola")
    assert "Bienvenido a Mi Barrio" in reply
    assert "Kamisaki" in reply
    assert "1 Español / 2 Aymar aru" in reply
    assert is_gsm7(reply) and segments(reply) == 1


def test_any_first_text_gets_the_welcome_even_a_number(chat: Chat) -> None:
    assert "1 Español / 2 Aymar aru" in chat.say("2")


# Signing up in each language, from the first text to the menu: (text in, the reply contains).
SIGN_UP: dict[str, Script] = {
    "es": [
        ("Buenas", "1 Español / 2 Aymar aru"),
        ("1", "¿En qué zona vive?"),
        ("Sopocachi", (starts("Zona Sopocachi."), "1 Acepto / 2 No acepto")),
        ("1", ("Ya es parte de Mi Barrio", re.compile("Men[úu]"))),
    ],
    # Aymara from the language choice on.
    "ay": [
        ("Kamisaki", "1 Español / 2 Aymar aru"),
        ("2", "Kawki zonan jakasta?"),
        ("san sebastian", (re.compile(r"^Zona San Sebasti[áa]n\."), "1 Iyaw / 2 Janiw")),
        ("maya", "Waliki!"),  # Aymara "one" counts as the digit
    ],
}


@pytest.mark.parametrize("lang", list(SIGN_UP))
def test_onboarding_to_the_menu_speaks_the_chosen_language(chat: Chat, lang: str) -> None:
    play(chat, SIGN_UP[lang])
    person = resident(chat.sessions, chat.phone)
    assert (person.status, person.language) == ("active", lang)
    assert person.consent_at is not None


def test_language_can_be_given_as_a_word(chat: Chat) -> None:
    chat.say("hola")
    assert "Kawki zonan" in chat.say("Aymar aru")
    other = Chat(chat.sessions, phone="+59171000001")
    other.say("hola")
    assert "¿En qué zona vive?" in other.say("Castellano")


def test_a_wrong_language_answer_asks_again(chat: Chat) -> None:
    chat.say("hola")
    again = chat.say("no sé")
    assert "1 Español / 2 Aymar aru" in again
    assert resident(chat.sessions, chat.phone).language is None


def test_exact_zone_name_wins_over_longer_names(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert chat.say("SOPOCACHI").startswith("Zona Sopocachi.")


def test_zone_matching_forgives_accents_case_and_typos(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert chat.say("villa fatima").startswith("Zona Villa Fatima")
    chat.say("2")  # decline: start over to try a typo
    chat.say("hola")
    chat.say("1")
    assert chat.say("Tembladerany").startswith("Zona Tembladerani")


@pytest.mark.parametrize("text", ["SI", "si", "no", "ok", "a", "ya"])
def test_a_short_answer_is_not_taken_for_a_zona(chat: Chat, text: str) -> None:
    # "si" sits inside "Pampahasi": a yes must not sign the resident up there.
    chat.say("hola")
    chat.say("1")
    reply = chat.say(text)
    assert "No encontramos esa zona" in reply and "Elija su macrodistrito" in reply
    chat.say("1")  # Centro
    again = chat.say(text)  # typed at the list of Centro's zonas
    assert not again.startswith("Zona "), again


def test_a_word_of_a_zona_name_finds_it(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert chat.say("fatima").startswith("Zona Villa Fatima")


def test_several_close_zones_are_offered_by_number(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    choices = chat.say("Miraflores Zur")
    assert "Miraflores Sur" in choices and "¿Cual es su zona?" in choices
    names = [
        part.split(" ", 1)[1] for part in choices.split("? ", 1)[1].split(". 0")[0].split(", ")
    ]
    picked = names.index("Miraflores Sur") + 1
    assert chat.say(str(picked)).startswith("Zona Miraflores Sur.")


def test_unknown_zone_offers_macrodistricts_then_their_zones(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    macros = chat.say("Xyzzy Plugh")
    assert "No encontramos esa zona" in macros
    assert "1 Centro" in macros and "Cotahuma" in macros
    zones = chat.say("1")
    assert "Zonas de Centro" in zones and "San Sebastián" in zones.replace("Sebastian", "Sebastián")
    with chat.sessions() as session:
        centro = sorted(session.scalars(select(Zone.name).where(Zone.macrodistrict_id == 1)).all())
    pick = centro.index("San Jorge") + 1
    assert chat.say(str(pick)).startswith("Zona San Jorge.")


def test_zero_goes_back_from_a_macrodistrict_to_the_list(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.say("qwerty asdf")
    chat.say("2")
    assert "Elija su macrodistrito" in chat.say("0")


def test_every_onboarding_reply_fits_one_sms_in_both_languages(chat: Chat) -> None:
    for lang, phone in (("1", "+59171000011"), ("2", "+59171000012")):
        person = Chat(chat.sessions, phone=phone)
        for text in ("hola", lang, "Xyzzy", "2", "0", "Chasquipampa", "1"):
            reply = person.say(text)
            assert segments(reply) == 1, (text, reply)
            assert is_gsm7(reply), reply


def test_declining_consent_keeps_no_data(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.say("Sopocachi")
    reply = chat.say("2")
    assert "no guardamos sus datos" in reply
    assert find_resident(chat.sessions, chat.phone) is None
    with chat.sessions() as session:
        bodies = session.scalars(select(ReceivedMessage.body)).all()
        assert "Sopocachi" not in bodies
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    # Writing again starts from the beginning.
    assert "1 Español / 2 Aymar aru" in chat.say("hola")


def test_consent_needs_a_clear_answer(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.say("Sopocachi")
    assert "Responda 1 si acepta o 2 si no acepta" in chat.say("tal vez")
    assert resident(chat.sessions, chat.phone).status == "onboarding"


def test_onboarding_waits_however_long_the_resident_takes(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.later(60 * 24)
    assert chat.say("Sopocachi").startswith("Zona Sopocachi.")


def test_an_idle_flow_restarts_at_the_menu_with_a_note(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.say("Sopocachi")
    chat.say("1")
    assert "¿Borrar" in chat.say("BORRAR")
    chat.later(31)
    reply = chat.say("1")  # would have erased the data had the flow not expired
    assert "volvemos al inicio" in reply and "Menú" in reply.replace("Menu", "Menú")
    assert resident(chat.sessions, chat.phone).status == "active"


def test_a_flow_within_thirty_minutes_continues(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    chat.say("Sopocachi")
    chat.say("1")
    chat.say("IDIOMA")
    chat.later(29)
    assert "aymar arut" in chat.say("2")
