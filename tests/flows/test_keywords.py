"""Keywords work at any point, before any flow, in Spanish, Aymara and English."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.channels import is_gsm7, segments
from bot.i18n.keywords import COURTESY, KEYWORDS, keyword
from bot.text import normalize
from storage.models import Conversation, ReceivedMessage, Resident
from storage.seed import read_zones
from tests.conftest import Chat
from tests.factories import find_resident, neighbour, onboard, report, resident

OPT_OUT_WORDS = [
    "BAJA",
    "Salir",
    "cancelar",
    "ALTO",
    "parar",
    "Detener",
    "STOP",
    "stop!",
    "Unsubscribe",
    "QUIT",
    "baja.",
    " ¡BAJA! ",
    "sayt'ayaña",
    # Courtesy, emoji and repetition around the word, and plain requests to stop.
    "BAJA por favor",
    "baja, gracias 🙏",
    "STOP please",
    "BAJA BAJA",
    "❤️ Baja",
    "Sayt’ayaña 🙏",
    "Ya basta!",
    "Quiero darme de baja",
    "No me manden más mensajes",
    "no quiero recibir mensajes",
    # Plain words, however the resident addresses the bot (bot.i18n.keywords.ASKING_TO_STOP).
    "Ya no me escriban",
    "no me manden nada por favor",
    "No me envíe más SMS",
    "no nos escriban nunca más",
    "No quiero que me manden más mensajes",
    "No quiero recibir nada",
    "Quiero dejar de recibir mensajes",
    "Dejen de enviarme mensajes!!",
    "deja de escribirme",
    "Sáquenme de la lista, gracias",
    "Quiero salir de la lista",
    "quisiera darme de baja de mi barrio",
    "Please stop texting me",
    "don't text me anymore",
    "Remove me from the list",
]


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
def test_opt_out_words_are_recognised(word: str) -> None:
    assert keyword(normalize(word)) == "optout"


@pytest.mark.parametrize(
    "word",
    [
        "jani",
        "Janiwa",
        "JANI",
        "no",
        "no, por favor",
        "Alto Obrajes",
        "Sopocachi Alto",
        "salir a votar",
        "el agua sale baja",  # a report, not BAJA
        "presión baja por favor",
        "por favor",
        "ya",
        # Complaints and reports that share words with a request to stop.
        "no me llegan los mensajes",
        "no me envíen al técnico, vengan ustedes",
        "no quiero nada",
        "no quiero",
        "no me escriban en inglés",
        "dejen de tirar basura",
        "saquen la basura de la esquina",
        "stop sign broken",
    ],
)
def test_no_zone_names_and_reports_are_not_opt_out(word: str) -> None:
    assert keyword(normalize(word)) != "optout"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ayuda por favor", "help"), ("Menú, gracias", "menu"), ("ALTA porfa 🙏", "optin")],
)
def test_courtesy_around_any_keyword_is_understood(text: str, expected: str) -> None:
    assert keyword(normalize(text)) == expected


def test_opt_out_said_politely_in_the_middle_of_a_report_still_wins(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("1")
    reply = chat.say("Ya no quiero recibir mensajes, gracias")  # "ya" and "gracias" aside
    assert resident(chat.sessions, chat.phone).status == "opted_out", reply


def test_asking_in_plain_words_in_the_middle_of_a_report_opts_out(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("3")
    reply = chat.say("Ya no me escriban, por favor")
    assert resident(chat.sessions, chat.phone).status == "opted_out", reply
    assert "no le enviaremos más mensajes" in reply.replace("mas", "más")


def test_no_zona_is_taken_for_an_opt_out() -> None:
    for zone in read_zones():
        assert keyword(normalize(zone.name)) != "optout", zone.name


def test_opt_out_wins_in_the_middle_of_onboarding(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    reply = chat.say("BAJA")
    assert "no le enviaremos más mensajes" in reply.replace("mas", "más")
    assert resident(chat.sessions, chat.phone).status == "opted_out"


def test_opt_out_before_choosing_a_language_is_confirmed_in_both(chat: Chat) -> None:
    chat.say("hola")
    reply = chat.say("STOP")
    assert "ALTA" in reply and "Walikiw" in reply and "Listo" in reply


def test_opt_out_in_aymara_is_confirmed_in_aymara(chat: Chat) -> None:
    onboard(chat, "2")
    reply = chat.say("Baja")
    assert "janiw juk'amp mensajenak" in reply


def test_opted_out_resident_gets_one_line_on_how_to_rejoin(chat: Chat) -> None:
    onboard(chat)
    chat.say("SALIR")
    for text in ("hola", "1", "menu", "AYUDA", "BAJA"):
        reply = chat.say(text)
        assert "Para volver, escriba ALTA" in reply
        assert "\n" not in reply
    assert resident(chat.sessions, chat.phone).status == "opted_out"


def test_opt_out_of_an_unknown_number_is_kept_as_suppression(chat: Chat) -> None:
    reply = chat.say("STOP")
    assert "ALTA" in reply
    assert resident(chat.sessions, chat.phone).status == "opted_out"


def test_opt_back_in_returns_an_onboarded_resident_to_the_menu(chat: Chat) -> None:
    onboard(chat)
    chat.say("BAJA")
    reply = chat.say("ALTA")
    assert "de vuelta" in reply and "Menu" in reply
    assert resident(chat.sessions, chat.phone).status == "active"
    assert resident(chat.sessions, chat.phone).opted_out_at is None


def test_opt_back_in_before_finishing_signup_restarts_onboarding(chat: Chat) -> None:
    chat.say("STOP")
    assert "1 Español / 2 Aymar aru" in chat.say("START")
    assert resident(chat.sessions, chat.phone).status == "onboarding"


def test_yes_does_nothing_special_for_an_active_resident(chat: Chat) -> None:
    onboard(chat)
    assert "No entendí" in chat.say("yes").replace("entendi", "entendí")


@pytest.mark.parametrize("word", ["AYUDA", "yanapa", "HELP"])
def test_help_in_any_language(chat: Chat, word: str) -> None:
    onboard(chat)
    reply = chat.say(word)
    assert "BAJA" in reply and "IDIOMA" in reply


@pytest.mark.parametrize("word", ["AYUDA", "yanapa", "help"])
def test_help_before_a_language_is_chosen_fits_one_sms_in_both_languages(
    chat: Chat, word: str
) -> None:
    chat.say("hola")
    reply = chat.say(word)
    assert "BAJA: no recibir mensajes" in reply
    assert "BAJA: mensajenak jan katuqaña" in reply
    assert reply.endswith("1 Español / 2 Aymar aru")
    assert is_gsm7(reply) and segments(reply) == 1
    assert "¿En qué zona vive?" in chat.say("1")  # the choice is still the step


def test_help_during_onboarding_keeps_the_step(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert "BAJA" in chat.say("ayuda")
    assert chat.say("Sopocachi").startswith("Zona Sopocachi.")


@pytest.mark.parametrize("word", ["MENU", "menú", "Inicio"])
def test_menu_leaves_any_flow(chat: Chat, word: str) -> None:
    onboard(chat)
    chat.say("BORRAR")
    reply = chat.say(word)
    assert reply.startswith("Menu:")
    chat.say("1")  # would have confirmed erasing inside the flow
    assert resident(chat.sessions, chat.phone).status == "active"


def test_language_switch_from_spanish_to_aymara_and_back(chat: Chat) -> None:
    onboard(chat)
    assert "1 Español / 2 Aymar aru" in chat.say("IDIOMA")
    reply = chat.say("2")
    assert "aymar arut" in reply and "Yanapa" in reply
    assert resident(chat.sessions, chat.phone).language == "ay"
    chat.say("aru")
    assert "le escribiremos en español" in chat.say("1")


def test_idioma_during_onboarding_goes_back_to_the_language_choice(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert "1 Español / 2 Aymar aru" in chat.say("idioma")
    assert "Kawki zonan" in chat.say("2")


def test_erase_needs_confirmation_and_removes_personal_data(chat: Chat) -> None:
    onboard(chat)
    assert "1 Si, borrar / 2 No" in chat.say("BORRAR")
    reply = chat.say("1")
    assert "Sus datos fueron borrados" in reply
    assert find_resident(chat.sessions, chat.phone) is None  # no row with that phone any more
    with chat.sessions() as session:
        anonymous = session.scalars(select(Resident)).one()
        assert anonymous.phone is None and anonymous.status == "erased"
        assert anonymous.zone_id is not None  # the anonymous aggregate stays
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
        bodies = [b for b in session.scalars(select(ReceivedMessage.body)) if b]
        assert bodies == []
    # The same phone writing again is a new person.
    assert "1 Español / 2 Aymar aru" in chat.say("hola")


def test_erase_can_be_declined(chat: Chat) -> None:
    onboard(chat)
    chat.say("borrar")
    assert "No borramos nada" in chat.say("2")
    assert resident(chat.sessions, chat.phone).status == "active"


def test_erase_works_for_someone_who_opted_out(chat: Chat) -> None:
    onboard(chat)
    chat.say("BAJA")
    assert "¿Borrar" in chat.say("BORRAR")
    assert "borrados" in chat.say("1")
    assert find_resident(chat.sessions, chat.phone) is None


def test_erase_before_consent_removes_everything_at_once(chat: Chat) -> None:
    chat.say("hola")
    chat.say("1")
    assert "borrados" in chat.say("BORRAR")
    with chat.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_keyword_sets_do_not_overlap() -> None:
    names = list(KEYWORDS)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not KEYWORDS[a] & KEYWORDS[b], (a, b)


def test_no_keyword_holds_a_courtesy_word() -> None:
    # keyword() sets courtesy words aside before its second look: one inside a keyword would
    # make "ya no me escriban" and "no me escriban" two different things.
    for words in KEYWORDS.values():
        for word in words:
            assert not set(word.split()) & COURTESY, word


def test_keywords_are_stored_normalised() -> None:
    for words in KEYWORDS.values():
        for word in words:
            assert normalize(word) == word


# Typed as people do when a phone or a habit gets in the way: fullwidth letters, letters spaced
# out or held down, and the plain ways of saying it in English and Spanish.
OPT_OUT_AS_TYPED = [
    "ＢＡＪＡ",
    "ｓｔｏｐ",
    "B A J A",
    "b a j a",
    "S T O P",
    "B-A-J-A",
    "b.a.j.a",
    "bajaaa",
    "BAJAAAA!!",
    "Stoooop",
    "salirrr",
    "baja baja baja",
    "stop all",
    "STOP ALL",
    "unsubscribe me",
    "Unsubscribe me please",
    "déjenme en paz",
    "Déjeme en paz",
    "dejame tranquilo",
]


@pytest.mark.parametrize("text", OPT_OUT_AS_TYPED)
def test_opt_out_typed_with_odd_letters_or_plain_words_is_recognised(text: str) -> None:
    assert keyword(normalize(text)) == "optout"


@pytest.mark.parametrize(
    "text",
    [
        "a y b",
        "la paz",
        "s o s",
        "1 2 3",
        "bajada",
        "baja la luz",
        "alto obrajes",
        "jani",
        "janiii",
    ],
)
def test_spacing_and_stretching_do_not_make_words_into_opt_outs(text: str) -> None:
    assert keyword(normalize(text)) != "optout"


def test_a_stretched_keyword_means_only_one_thing() -> None:
    meanings: dict[str, set[str]] = {}
    for name, words in KEYWORDS.items():
        for word in words:
            if " " not in word:
                squeezed = "".join(c for i, c in enumerate(word) if i == 0 or c != word[i - 1])
                meanings.setdefault(squeezed, set()).add(name)
    assert {w: n for w, n in meanings.items() if len(n) > 1} == {}


def test_fullwidth_stretched_opt_out_in_a_conversation_opts_out(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")  # in the middle of a report
    assert "no le enviaremos mas mensajes" in chat.say("ＢＡＪＡＡＡ")  # SMS: GSM-7 folds á
    found = find_resident(chat.sessions, chat.phone)
    assert found is not None and found.status == "opted_out"


# After a list that reads other texts as menu choices (an INFO item, the news, search results,
# my reports), a text the menu does not take either gets "not understood" and the menu; the text
# after that is the menu's, not lost.
@pytest.mark.parametrize(
    ("opening", "lang"),
    [
        (["INFO", "1"], "1"),
        (["INFO", "1"], "2"),
        (["3"], "1"),
        (["4"], "2"),
        (["6", "3", "1"], "1"),
    ],
)
def test_a_text_no_list_takes_leaves_the_resident_at_the_menu(
    chat: Chat, opening: list[str], lang: str
) -> None:
    from tests.flows.test_participation import add_news

    add_news(chat, "Feria de salud el sábado.", "Sabado salud feria.")
    plumber = neighbour(chat, "+59171000222")
    for text in ("OFREZCO", "1", "Arreglo grifos", "1"):
        plumber.say(text)
    onboard(chat, lang=lang)
    report(chat)
    for text in opening:
        chat.say(text)
    lost = chat.say("xyz")
    assert ("No entendi" in lost) if lang == "1" else ("MENU: 1" in lost), lost
    mi_barrio = chat.say("6")
    assert mi_barrio.startswith("Mi barrio: 1" if lang == "1" else "Zonaja: 1"), mi_barrio
    help_first = chat.say("0")
    assert "BAJA" in help_first
    assert chat.say("6").startswith("Mi barrio: 1" if lang == "1" else "Zonaja: 1")
