"""Neighbours' services from a resident's phone (OFREZCO, BUSCO), in Spanish and Aymara."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import segments
from storage.models import OfferReport, ServiceOffer, utcnow
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
    assert re.search(r"\d\d/\d\d/\d{4}", chat.say("1"))  # shown until that date
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


def hide(chat: Chat, phones: str = "+5917100038{}", lang: str = "1") -> None:
    """Three neighbours report the chat's offer (the first one they find): it is hidden."""
    for n in range(3):
        seeker = neighbour(chat, phones.format(n), lang)
        search(seeker)
        seeker.say("R1")


# An offer hidden by reports stays hidden when its offerer renews or changes it.
HIDDEN: dict[str, Script] = {
    "es": [
        ("OFREZCO", ("no se muestra: la reportaron 3 vecinos", "3 Eliminar, 4 Cambiar")),
        ("1", ("sigue oculta por los reportes hasta que su junta", "le avisaremos", "3 Eliminar")),
        ("2", "sigue oculta por los reportes"),
        ("4", starts("¿Qué servicio ofrece?")),
        ("1", "Describa su servicio"),
        ("Arreglo grifos y cañerías", "¿Acepta compartirlo?"),
        ("1", ("Guardamos el cambio", "sigue oculta por los reportes", "le avisaremos")),
        ("OFREZCO", "no se muestra: la reportaron 3 vecinos"),
    ],
    "ay": [
        ("OFREZCO", ("janiw uñstkiti: 3 markachirinakaw yatiyapxi", "3 Apaqaña")),
        ("1", ("reportenakampiw jan uñstkiti", "yatiyapxamawa", "3 Apaqaña")),
        ("4", starts("Kuna servicios churasma?")),
        ("1", "30 letranakampi qillqt'am"),
        ("Arreglo grifos y cañerías", "1 Jisa"),
        ("jisa", ("Mayjt'ayawi imapxta", "reportenakampiw jan uñstkiti")),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_hidden_offer_stays_hidden_when_renewed_or_entered_again(chat: Chat, lang: str) -> None:
    offer(onboard(chat, "1" if lang == "es" else "2"))
    hide(chat)
    for reply in play(chat, HIDDEN[lang]):
        assert segments(reply) == 1, reply
    assert offers(chat) == 1
    assert "Todavia no hay ofertas" in search(neighbour(chat, "+59171000389"))


# Paused, then the 90 days pass: the offer is shown as ended, and renewing brings it back.
EXPIRED_PAUSED: dict[str, Script] = {
    "es": [
        ("OFREZCO", ("vencio el", "1 Renovar, 3 Eliminar, 4 Cambiar, 0 Volver")),
        ("2", ("No entendi", "1 Renovar, 3 Eliminar")),
        ("1", "Renovada: su oferta se muestra hasta el"),
    ],
    "ay": [
        ("OFREZCO", ("urux tukusiwa", "1 Renovar, 3 Apaqaña, 4 Mayjt'ayaña")),
        ("1", "Walikiwa: servicioma"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_an_expired_paused_offer_offers_renewal_not_resuming(chat: Chat, lang: str) -> None:
    chat.now = NOW
    offer(onboard(chat, "1" if lang == "es" else "2"))
    chat.say("OFREZCO")
    chat.say("2")  # paused
    chat.now = NOW + timedelta(days=91)
    for reply in play(chat, EXPIRED_PAUSED[lang]):
        assert "Reanudar" not in reply and "Wasitat" not in reply, reply
    seeker = neighbour(chat, "+59171000391")
    assert "Arreglo" in search(seeker)


# Five plumbers: three in one SMS with MAS, then the other two, then nothing more; 0 goes
# back to Mi barrio.
MORE: dict[str, Script] = {
    "es": [
        ("BUSCO", starts("¿Qué servicio busca?")),
        ("1", ("Plomeria: 1 Plomero 4", "MAS: ver mas")),
        ("MAS", ("Plomeria: 1 Plomero 1", "2 Plomero 0", "R y su numero (R1).")),
        ("R2", "Gracias: revisaremos esa oferta"),
        ("mas", "No hay mas ofertas de Plomeria. 0: volver."),
        ("0", starts("Mi barrio: 1 Informacion de su zona")),
    ],
    "ay": [
        ("BUSCO", starts("Kuna servicios thaqasma?")),
        ("1", ("Plomeria: 1 Plomero 4", "MAS: juk'ampi")),
        ("juk'ampi", ("Plomeria: 1 Plomero 1", "2 Plomero 0", "Yatiyañatakix")),
        ("R2", "Yuspagara"),
        ("mas", "Janiw juk'amp Plomeria servicio utjkiti"),
        ("0", starts("Zonaja: 1 Zonamat")),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_mas_shows_the_next_offers_own_zona_first(chat: Chat, lang: str) -> None:
    # Two in the macrodistrito's other zona first (older), three in the searcher's zona.
    for n in range(5):
        zone = "Sopocachi Alto" if n < 2 else "Sopocachi"
        chat.now = NOW + timedelta(minutes=n)
        offer(neighbour(chat, f"+5917100040{n}", zone=zone), text=f"Plomero {n}")
    seeker = neighbour(chat, "+59171000409", "1" if lang == "es" else "2")
    replies = play(seeker, MORE[lang])
    assert all(segments(reply) == 1 for reply in replies)
    first, second = replies[1], replies[2]
    assert [p in first for p in ("Plomero 4", "Plomero 3", "Plomero 2")] == [True] * 3
    assert "Plomero 1" not in first and "Sopocachi Alto" in second
    with chat.sessions() as session:
        reported = session.scalars(
            select(ServiceOffer.text).join(OfferReport, OfferReport.offer_id == ServiceOffer.id)
        ).all()
    assert reported == ["Plomero 0"]


# The offerer's choices in both languages: pause, resume, renew after the 90 days, change,
# delete; a neighbour reporting twice and finding nothing.
MANAGE: dict[str, dict[str, Script]] = {
    "es": {
        "pause": [
            ("OFREZCO", ("Se muestra hasta", "2 Pausar")),
            ("2", "Pausada: no se muestra a nadie"),
            ("OFREZCO", ("esta pausada", "2 Reanudar")),
            ("2", "Renovada: su oferta se muestra hasta el"),
        ],
        "expiry": [
            ("OFREZCO", ("vencio el", "1 Renovar, 3 Eliminar")),
            ("1", "Renovada: su oferta se muestra hasta el"),
        ],
        "change": [
            ("OFREZCO", "4 Cambiar"),
            ("4", starts("¿Qué servicio ofrece?")),
            ("5", "Describa su servicio"),
            ("Clases de matemáticas", "busquen Clases"),
            ("1", "Listo: su oferta de Clases se muestra hasta el"),
        ],
        "delete": [
            ("OFREZCO", "3 Eliminar"),
            ("3", "Eliminamos su oferta."),
            ("OFREZCO", starts("¿Qué servicio ofrece?")),
        ],
    },
    "ay": {
        "pause": [
            ("OFREZCO", ("urukama uñstani", "2 Pausa")),
            ("2", "Pausata: janiw khitirus uñstkiti"),
            ("OFREZCO", ("servicioma pausata", "2 Wasitat uñstayaña")),
            ("2", "Walikiwa: servicioma"),
        ],
        "expiry": [
            ("OFREZCO", ("urux tukusiwa", "1 Renovar, 3 Apaqaña")),
            ("1", "Walikiwa: servicioma"),
        ],
        "change": [
            ("OFREZCO", "4 Mayjt'ayaña"),
            ("4", starts("Kuna servicios churasma?")),
            ("5", "30 letranakampi qillqt'am"),
            ("Clases de matemáticas", "Yatichaña thaqiri"),
            ("jisa", "Walikiwa: Yatichaña servicioma"),
        ],
        "delete": [
            ("OFREZCO", "3 Apaqaña"),
            ("3", "Servicioma apaqapxta."),
            ("OFREZCO", starts("Kuna servicios churasma?")),
        ],
    },
}
# What a neighbour finds afterwards (plumbing, then tutoring), or None for nothing.
FOUND_AFTER = {
    "pause": ("Arreglo", None),
    "expiry": ("Arreglo", None),
    "change": (None, "Clases de matematicas"),
    "delete": (None, None),
}
NOTHING = {"es": "Todavia no hay ofertas de", "ay": "janiw Plomeria servicio utjkiti"}


@pytest.mark.parametrize("lang", ["es", "ay"])
@pytest.mark.parametrize("branch", list(FOUND_AFTER))
def test_the_offerer_manages_the_offer_in_both_languages(
    chat: Chat, lang: str, branch: str
) -> None:
    chat.now = NOW
    offer(onboard(chat, "1" if lang == "es" else "2"))
    if branch == "expiry":
        chat.now = NOW + timedelta(days=91)
    for reply in play(chat, MANAGE[lang][branch]):
        assert segments(reply) == 1, reply
    seeker = neighbour(chat, "+59171000421", "1" if lang == "es" else "2")
    for category, want in zip(("1", "5"), FOUND_AFTER[branch], strict=True):
        found = search(seeker, category)
        if want is None:
            assert "Arreglo" not in found and "Clases de" not in found, found
        else:
            assert want in found, found


REPORT_TWICE: dict[str, Script] = {
    "es": [
        ("BUSCO", starts("¿Qué servicio busca?")),
        ("1", "R y su numero"),
        ("R1", "Gracias: revisaremos esa oferta."),
        ("R1", "Ya nos habia reportado esa oferta."),
        ("BUSCO", starts("¿Qué servicio busca?")),
        ("2", "Todavia no hay ofertas de Electricidad en su zona ni cerca."),
    ],
    "ay": [
        ("BUSCO", starts("Kuna servicios thaqasma?")),
        ("1", "Yatiyañatakix"),
        ("R1", "Yuspagara: uka servicio uñakipapxani."),
        ("R1", "Uka servicio nayraw yatiyapxistaxa."),
        ("BUSCO", starts("Kuna servicios thaqasma?")),
        ("2", "janiw Electricidad servicio utjkiti"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_reporting_twice_and_finding_nothing_in_both_languages(chat: Chat, lang: str) -> None:
    offer(onboard(chat))
    seeker = neighbour(chat, "+59171000431", "1" if lang == "es" else "2")
    for reply in play(seeker, REPORT_TWICE[lang]):
        assert segments(reply) == 1, reply


@pytest.mark.parametrize(
    ("lang", "again"), [("1", "Describa su servicio en hasta"), ("2", "letranakampi qillqt'am")]
)
def test_a_bare_number_is_no_offer_text(chat: Chat, lang: str, again: str) -> None:
    onboard(chat, lang=lang)
    chat.say("OFREZCO")
    chat.say("4")
    assert again in chat.say("4")
    assert again in chat.say("4")
    chat.say("Arreglo ropa")
    chat.say("1")
    with chat.sessions() as session:
        assert session.scalars(select(ServiceOffer.text)).all() == ["Arreglo ropa"]
