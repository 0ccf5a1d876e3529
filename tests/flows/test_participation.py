"""Polls, news and the profile from a resident's phone, in Spanish and Aymara."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import segments
from storage.db import transaction
from storage.models import (
    NewsItem,
    NewsZone,
    Poll,
    Resident,
    Vote,
    Zone,
    utcnow,
)
from tests.conftest import Chat
from tests.factories import add_poll, onboard
from tests.helpers import Script, play, starts


def zone_id(chat: Chat, name: str) -> int:
    with chat.sessions() as session:
        return session.scalars(select(Zone.id).where(Zone.name == name)).one()


def make_poll(
    chat: Chat,
    *,
    zone: str | None = None,
    question: str = "¿Feria el domingo?",
    closes_in: timedelta | None = timedelta(days=3),
) -> int:
    with transaction(chat.sessions) as session:
        return add_poll(session, question, zone=zone, closes_in=closes_in).id


def votes(chat: Chat) -> int:
    with chat.sessions() as session:
        return session.scalar(select(func.count()).select_from(Vote)) or 0


def test_no_open_polls_says_so_and_shows_the_menu(chat: Chat) -> None:
    onboard(chat)
    reply = chat.say("2")
    assert "No hay encuestas abiertas" in reply and "1 Reportar" in reply


# The only open poll, from the menu: asked at once, its results after the vote, one SMS.
VOTE: dict[str, Script] = {
    "es": [
        ("2", starts("¿Feria el domingo? 1 Si, 2 No")),
        ("1", ("Gracias, su voto cuenta", "Si 1 (100%)", "Votaron 1 de 1 vecinos")),
    ],
    # The menu number as an Aymara word, the answer by its label.
    "ay": [
        ("paya", starts("Domingo feria lurañani? 1 Jisa, 2 Janiwa")),
        ("janiwa", ("Janiwa 1 (100%)", "chimpuntapxi")),
    ],
}


@pytest.mark.parametrize(("lang", "digit"), [("es", "1"), ("ay", "2")], ids=["es", "ay"])
def test_single_poll_is_asked_at_once_and_results_follow_the_vote(
    chat: Chat, lang: str, digit: str
) -> None:
    make_poll(chat)
    onboard(chat, digit)
    *_, result = play(chat, VOTE[lang])
    assert segments(result) == 1


def test_voting_again_changes_the_vote_and_counts_people_once(chat: Chat) -> None:
    make_poll(chat)
    onboard(chat)
    chat.say("2")
    chat.say("1")
    chat.say("2")
    changed = chat.say("2")
    assert "Cambiamos su voto" in changed and "No 1 (100%)" in changed
    assert votes(chat) == 1


def test_turnout_counts_eligible_residents_of_the_zone(chat: Chat) -> None:
    make_poll(chat, zone="Sopocachi")
    onboard(chat)
    onboard(Chat(chat.sessions, phone="+59171000101"))
    elsewhere = onboard(Chat(chat.sessions, phone="+59171000102"), zone="Achumani")
    assert "No hay encuestas abiertas" in elsewhere.say("2")
    chat.say("2")
    assert "Votaron 1 de 2 vecinos" in chat.say("1")


def test_several_polls_are_listed_then_one_is_picked(chat: Chat) -> None:
    make_poll(chat, question="¿Feria el domingo?")
    make_poll(chat, question="¿Arreglamos primero la plaza?")
    onboard(chat)
    listing = chat.say("2")
    assert listing.startswith("Encuestas abiertas: 1 ")
    assert "¿Arreglamos primero" in listing and "¿Feria el domingo" in listing
    first = listing.split("1 ", 1)[1].split(",")[0]
    question = chat.say("1")
    assert question.startswith(first.rstrip(".").rstrip())


@pytest.mark.parametrize("lang", ["1", "2"])
def test_many_long_open_polls_are_listed_in_one_sms(chat: Chat, lang: str) -> None:
    for n in range(6):
        make_poll(chat, question=f"¿Está de acuerdo con arreglar la plaza número {n} este mes?")
    onboard(chat, lang)
    listing = chat.say("2")
    assert segments(listing) == 1, listing
    assert ", 3 " in listing  # still a choice of several
    first = listing.split("1 ", 1)[1].split(", 2 ")[0].removesuffix("...").rstrip()
    assert chat.say("1").startswith(first)


def plaza_polls(chat: Chat, count: int) -> None:
    """`count` open city polls, the newest last, each naming its plaza by number."""
    with transaction(chat.sessions) as session:
        for n in range(count):
            add_poll(
                session,
                f"Plaza {n}: ¿la arreglamos este mes con el presupuesto vecinal?",
                f"Plaza {n}: aka phaxsi askichañatakix iyaw sasmati?",
                created_at=utcnow() - timedelta(minutes=count - n),
            )


def plazas(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"Plaza (\d)", text)]


@pytest.mark.parametrize(("lang", "no_more"), [("1", "No hay mas encuestas"), ("2", "Janiw")])
def test_more_open_polls_than_fit_come_page_by_page_with_mas(
    chat: Chat, lang: str, no_more: str
) -> None:
    plaza_polls(chat, 7)
    onboard(chat, lang)
    pages = [chat.say("2")]
    assert chat.say("no entiendo") == pages[0]  # not a choice: the same page again
    while "MAS" in pages[-1]:
        assert segments(pages[-1]) == 1, pages[-1]
        pages.append(chat.say("MAS"))
    assert segments(pages[-1]) == 1, pages[-1]
    assert len(pages) >= 2
    listed = [n for page in pages for n in plazas(page)]
    assert listed == [6, 5, 4, 3, 2, 1, 0]  # each once, newest first
    assert no_more in chat.say("MAS")
    # Numbers count from 1 on every page: 1 is the first poll of the last page shown.
    assert plazas(chat.say("1")) == plazas(pages[-1])[:1]


PLACES = [
    "En la plaza Avaroa",
    "En la calle Ecuador",
    "En el parque Triangular",
    "En la cancha del colegio",
    "En la sede vecinal",
    "En la avenida 6 de Agosto",
    "En el mercado",
    "En la calle Rosendo Gutiérrez",
    "No hacerla este año",
]


@pytest.mark.parametrize("lang", ["1", "2"])
def test_results_of_a_poll_with_nine_long_options_fit_one_sms(chat: Chat, lang: str) -> None:
    with transaction(chat.sessions) as session:
        question = "¿Dónde hacemos la feria de Alasitas este año en la zona?"
        add_poll(session, question, None, options=[(label, label) for label in PLACES])
    onboard(chat, lang)
    chat.say("2")
    thanks = chat.say("9")
    assert segments(thanks) == 1, thanks
    assert "9: 1" in thanks or "No hacerla" in thanks  # the vote shows in the counts
    assert votes(chat) == 1


def test_a_closed_poll_says_so_and_shows_results(chat: Chat) -> None:
    poll_id = make_poll(chat)
    onboard(chat)
    chat.say("2")
    with transaction(chat.sessions) as session:
        session.get(Poll, poll_id).closes_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    reply = chat.say("1")
    assert "Esta encuesta ya cerro" in reply and "Votaron 0 de" in reply
    assert votes(chat) == 0


def test_a_bad_answer_reprompts_then_returns_to_the_menu(chat: Chat) -> None:
    make_poll(chat)
    onboard(chat)
    chat.say("2")
    assert "Responda con el numero" in chat.say("7")
    chat.say("quizas")
    assert "Volvamos al menu" in chat.say("🙂")


def test_reply_to_a_poll_invitation_counts_outside_the_menu(chat: Chat) -> None:
    poll_id = make_poll(chat)
    onboard(chat)
    with transaction(chat.sessions) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == chat.phone)).one()
        resident.conversation.expect = {"kind": "poll", "id": poll_id}  # type: ignore[union-attr]
    reply = chat.say("2")  # would be "Encuestas" from the menu
    assert "Gracias, su voto cuenta" in reply and "No 1 (100%)" in reply
    assert votes(chat) == 1
    # Once answered, "2" is the menu again.
    assert "¿Feria el domingo?" in chat.say("2")


def add_news(chat: Chat, es: str, ay: str, zone: str | None = None, minutes_ago: int = 0) -> None:
    with transaction(chat.sessions) as session:
        item = NewsItem(
            text_es=es,
            text_ay=ay,
            target="all" if zone is None else f"zona:{zone}",
            citywide=zone is None,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(item)
        session.flush()
        if zone:
            zid = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
            session.add(NewsZone(news_id=item.id, zone_id=zid))


def test_news_newest_first_with_more(chat: Chat) -> None:
    add_news(chat, "Feria de salud el sábado.", "Sabado salud feria.", minutes_ago=60)
    add_news(
        chat,
        "Corte de agua el martes en Sopocachi.",
        "Martes uma jani utjkaniti.",
        zone="Sopocachi",
    )
    add_news(chat, "Obras en Achumani.", "Achumani lurawinaka.", zone="Achumani")
    onboard(chat)
    first = chat.say("3")
    assert first.startswith("Corte de agua el martes") and "MAS: la anterior" in first
    second = chat.say("MAS")
    assert second.startswith("Feria de salud") and "Achumani" not in second
    assert "No hay mas noticias" in chat.say("mas")


def test_news_in_aymara(chat: Chat) -> None:
    add_news(chat, "Feria de salud el sábado.", "Sabado salud feria.")
    onboard(chat, "2")
    assert chat.say("3").startswith("Sabado salud feria.")


def test_no_news_yet(chat: Chat) -> None:
    onboard(chat)
    assert "No hay noticias para su zona" in chat.say("3")


def test_leaving_news_with_a_menu_number(chat: Chat) -> None:
    add_news(chat, "Uno.", "Maya.", minutes_ago=5)
    add_news(chat, "Dos.", "Paya.")
    onboard(chat)
    chat.say("3")
    assert "1 Agua" in chat.say("1")  # straight into reporting


def test_profile_changes_zone(chat: Chat) -> None:
    onboard(chat)
    assert chat.say("5").startswith("Zona: Sopocachi. 1 Cambiar zona")
    chat.say("1")
    assert "su zona ahora es Achumani" in chat.say("achumani")
    with chat.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == chat.phone)).one()
    assert resident.zone_id == zone_id(chat, "Achumani")


def test_profile_changes_language(chat: Chat) -> None:
    onboard(chat)
    chat.say("perfil")
    assert "1 Español / 2 Aymar aru" in chat.say("2")
    assert "aymar arut" in chat.say("2")


def test_profile_topics_toggle(chat: Chat) -> None:
    onboard(chat)
    chat.say("5")
    topics = chat.say("3")
    assert "1 Anuncios: si; 2 Encuestas: si; 3 Noticias: si; 4 Sus reportes: si" in topics
    assert segments(topics) == 1
    assert "3 Noticias: no" in chat.say("3")
    chat.say("0")
    with chat.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == chat.phone)).one()
    assert resident.topics == ["announcements", "polls", "reports"]


def test_menu_words_in_both_languages(chat: Chat) -> None:
    onboard(chat, "2")
    assert chat.say("yatiyawinaka").startswith("Zonamatakix janiw yatiy")
    assert "1 Uma" in chat.say("reportar")


def test_unknown_menu_choice_gets_the_menu(chat: Chat) -> None:
    onboard(chat)
    reply = chat.say("9")
    assert reply.startswith("No entendi su mensaje.") and "1 Reportar" in reply
    assert chat.say("0").startswith("Mi Barrio, con la Alcaldia")
