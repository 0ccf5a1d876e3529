"""Neighbours' services from a resident's phone (OFREZCO, BUSCO), in Spanish and Aymara."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import segments
from storage.models import ServiceOffer, utcnow
from tests.conftest import Chat
from tests.factories import neighbour, onboard
from tests.helpers import Script, play, starts

NOW = utcnow()


def offers(chat: Chat) -> int:
    with chat.sessions() as session:
        return session.scalar(select(func.count()).select_from(ServiceOffer)) or 0


def offer(chat: Chat, category: str = "1", text: str = "Arreglo grifos y cañerías") -> Chat:
    """The chat's resident publishes an offer (OFREZCO, category, text, yes); the chat."""
    chat.say("OFREZCO")
    chat.say(category)
    chat.say(text)
    assert "hasta el" in chat.say("1")
    return chat


def search(chat: Chat, category: str = "1") -> str:
    chat.say("MENU")  # whatever the searcher was doing (or a flow timed out long ago)
    chat.say("BUSCO")
    return chat.say(category)


OFFER: dict[str, Script] = {
    "es": [
        ("OFREZCO", starts("¿Qué servicio ofrece? 1 Plomeria; 2 Electricidad;")),
        ("1", "Describa su servicio en hasta 30 letras"),
        ("Arreglo grifos, cañerías, termotanques y duchas", "Es muy largo: use hasta 30"),
        ("Arreglo grifos y cañerías", ("busquen Plomeria", "su numero 71234567", "1 Si / 2 No")),
        ("si", ("Listo: su oferta de Plomeria se muestra hasta el", "OFREZCO")),
    ],
    "ay": [
        ("6", "Zonaja: 1 Zonamat informacion, 2 Servicio churaña"),
        ("paya", starts("Kuna servicios churasma? 1 Plomeria;")),
        ("1", "30 letranakampi qillqt'am"),
        ("Arreglo grifos y cañerías", ("Plomeria thaqiri", "jakhuma 71234567", "1 Jisa")),
        ("jisa", ("Walikiwa: Plomeria servicioma", "OFREZCO")),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_an_offer_is_published_after_the_resident_agrees_to_share_the_phone(
    chat: Chat, lang: str
) -> None:
    onboard(chat, "1" if lang == "es" else "2")
    for reply in play(chat, OFFER[lang]):
        assert segments(reply) == 1, reply
    assert offers(chat) == 1


@pytest.mark.parametrize(
    ("lang", "no", "said"), [("1", "no", "No publicamos"), ("2", "janiwa", "Janiw kunsa")]
)
def test_saying_no_publishes_nothing(chat: Chat, lang: str, no: str, said: str) -> None:
    onboard(chat, lang)
    chat.say("OFREZCO")
    chat.say("3")
    chat.say("Albañil con experiencia")
    assert said in chat.say(no)
    assert offers(chat) == 0


SEARCH: dict[str, Script] = {
    "es": [
        ("BUSCO", starts("¿Qué servicio busca? 1 Plomeria;")),
        ("1", ("Plomeria: 1 Arreglo grifos y cañerias 71234567 (Sopocachi)", "R y su numero")),
        ("R1", "Gracias: revisaremos esa oferta"),
        ("r 1", "Ya nos habia reportado esa oferta"),
        ("noticias", "No hay noticias"),
    ],
    "ay": [
        ("6", "Zonaja"),
        ("3", starts("Kuna servicios thaqasma? 1 Plomeria;")),
        ("maya", ("1 Arreglo grifos y cañerias 71234567 (Sopocachi)", "Yatiyañatakix")),
        ("R1", "Yuspagara"),
        ("BUSCO", starts("Kuna servicios thaqasma?")),
        ("9", "Zonaman jan ukax jak'ankir zonanakan janiw Yaqha servicio utjkiti"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_neighbour_finds_the_offer_and_can_report_it(chat: Chat, lang: str) -> None:
    offer(onboard(chat))
    seeker = neighbour(chat, "+59171000301", "1" if lang == "es" else "2")
    for reply in play(seeker, SEARCH[lang]):
        assert segments(reply) == 1, reply


def test_own_zona_first_then_the_macrodistrito_never_farther(chat: Chat) -> None:
    offer(neighbour(chat, "+59171000311", zone="Sopocachi Alto"), text="Plomero del Alto")
    offer(neighbour(chat, "+59171000312", zone="Sopocachi"), text="Plomero de abajo")
    offer(neighbour(chat, "+59171000313", zone="Achumani"), text="Plomero del sur")
    found = search(neighbour(chat, "+59171000314", zone="Sopocachi"))
    assert found.index("Plomero de abajo") < found.index("Plomero del Alto")
    assert "Plomero del sur" not in found
    far = search(neighbour(chat, "+59171000315", zone="San Sebastián"))
    assert far.startswith("Todavia no hay ofertas de Plomeria")


def test_at_most_three_offers_in_one_sms(chat: Chat) -> None:
    for n in range(5):
        offer(neighbour(chat, f"+5917100032{n}"), text=f"Plomería número {n}, urgencias")
    found = search(onboard(chat))
    assert segments(found) == 1, found
    assert 1 <= found.count("7100032") <= 3


def test_the_offerer_pauses_resumes_and_deletes(chat: Chat) -> None:
    offer(onboard(chat))
    seeker = neighbour(chat, "+59171000331")
    assert starts("Su oferta de Plomeria: Arreglo grifos y cañerias. Se muestra hasta").search(
        chat.say("OFREZCO")
    )
    assert "Pausada: no se muestra a nadie" in chat.say("2")
    assert "Todavia no hay ofertas" in search(seeker)
    assert "esta pausada" in chat.say("OFREZCO")
    assert "se muestra hasta" in chat.say("2") and "Arreglo" in search(seeker)
    chat.say("OFREZCO")
    assert "Eliminamos su oferta" in chat.say("3")
    assert offers(chat) == 0 and "Todavia no hay ofertas" in search(seeker)
    assert chat.say("OFREZCO").startswith("¿Qué servicio ofrece?")


def test_an_offer_expires_after_90_days_unless_renewed_by_sms(chat: Chat) -> None:
    chat.now = NOW
    offer(onboard(chat))
    seeker = neighbour(chat, "+59171000341")
    seeker.now = NOW + timedelta(days=89)
    assert "Arreglo" in search(seeker)
    seeker.now = chat.now = NOW + timedelta(days=91)
    assert "Todavia no hay ofertas" in search(seeker)
    manage = chat.say("OFREZCO")
    assert "vencio el" in manage and "1 Renovar, 3 Eliminar" in manage
    renewed = chat.say("1")
    assert "Renovada: su oferta se muestra hasta el" in renewed
    assert "Arreglo" in search(seeker)


def test_changing_the_offer_replaces_it(chat: Chat) -> None:
    offer(onboard(chat))
    chat.say("OFREZCO")
    assert chat.say("4").startswith("¿Qué servicio ofrece?")
    chat.say("5")
    chat.say("Clases de matemáticas")
    chat.say("1")
    assert offers(chat) == 1
    seeker = neighbour(chat, "+59171000351")
    assert "Clases de matematicas" in search(seeker, "5")
    assert "Todavia no hay ofertas" in search(seeker, "1")


def test_three_reports_hide_an_offer(chat: Chat) -> None:
    offer(onboard(chat))
    for n in range(3):
        seeker = neighbour(chat, f"+5917100036{n}")
        search(seeker)
        assert "revisaremos" in seeker.say("R1")
    assert "Todavia no hay ofertas" in search(neighbour(chat, "+59171000369"))
    hidden = chat.say("OFREZCO")
    assert "no se muestra: la reportaron 3 vecinos" in hidden
    assert "Se muestra" not in chat.say("1")  # renewing does not bring it back


@pytest.mark.parametrize("at", ["OFREZCO", "category", "text", "BUSCO"])
def test_opting_out_wins_inside_the_services(chat: Chat, at: str) -> None:
    onboard(chat)
    steps = {
        "OFREZCO": ["OFREZCO"],
        "category": ["OFREZCO", "1"],
        "text": ["OFREZCO", "1", "Plomero"],
        "BUSCO": ["BUSCO"],
    }
    for text in steps[at]:
        chat.say(text)
    assert "no le enviaremos mas mensajes" in chat.say("BAJA")
    assert offers(chat) == 0
    assert "Usted se dio de baja" in chat.say("1")


def test_an_offer_of_someone_who_opted_out_is_not_shown(chat: Chat) -> None:
    offer(onboard(chat))
    chat.say("BAJA")
    assert "Todavia no hay ofertas" in search(neighbour(chat, "+59171000371"))
