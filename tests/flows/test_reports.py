"""Reporting a need on a basic phone: category, description, place, confirm, a code back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels import is_gsm7, segments
from storage import reports as store
from storage.db import transaction
from storage.models import Report, ReportSupporter, Resident, utcnow
from tests.conftest import Chat
from tests.factories import CODE, neighbour, onboard, report


def reports_in_db(chat: Chat) -> list[Report]:
    with chat.sessions() as session:
        return list(session.scalars(select(Report).order_by(Report.id)))


def test_report_in_spanish_from_menu_to_code(chat: Chat) -> None:
    onboard(chat)
    assert "1 Agua, 2 Alumbrado, 3 Basura" in chat.say("1")
    assert "Cuéntenos el problema" in chat.say("1")
    assert "¿Donde es?" in chat.say("No hay agua desde el lunes")
    summary = chat.say("Calle Guachalla 123")
    assert summary.startswith("Agua en Sopocachi: No hay agua desde el lunes.")
    assert "Lugar: Calle Guachalla 123." in summary and "1 Enviar / 2 No enviar" in summary
    sent = chat.say("1")
    code = CODE.search(sent)
    assert code, sent
    assert "recibido" in sent
    [saved] = reports_in_db(chat)
    assert saved.code == code.group(0)
    assert (saved.category, saved.status, saved.location) == (
        "agua",
        "received",
        "Calle Guachalla 123",
    )


def test_report_in_aymara(chat: Chat) -> None:
    onboard(chat, "2")
    assert "Kuna jan walt'äwis utji?" in chat.say("maya")  # menu option 1 in Aymara
    chat.say("kimsa")  # 3 = Basura
    chat.say("Basura jan apsutawa")
    summary = chat.say("0")
    assert summary.startswith("Basura, Sopocachi:")
    assert "1 Apayaña / 2 Jan apayaña" in summary.replace("Apayana", "Apayaña")
    assert CODE.search(chat.say("1"))


@pytest.mark.parametrize(
    ("lang", "again"),
    [("1", "Escriba con palabras cual es el problema"), ("2", "arunakamp qillqt'am")],
)
def test_a_bare_number_is_no_description(chat: Chat, lang: str, again: str) -> None:
    # "1" typed at the description (a menu number) would become a report saying "1".
    onboard(chat, lang=lang)
    chat.say("1")
    chat.say("2")
    assert again in chat.say("1")
    assert again in chat.say("12")
    chat.say("Foco roto frente a la escuela")
    chat.say("0")
    chat.say("1")
    [filed] = reports_in_db(chat)
    assert filed.description == "Foco roto frente a la escuela"


def test_category_by_word_and_unknown_category_reprompts(chat: Chat) -> None:
    onboard(chat)
    chat.say("reportar")
    assert "1 Agua" in chat.say("no sé")
    assert "Cuéntenos" in chat.say("luz")
    chat.say("El poste no prende")
    chat.say("0")
    chat.say("1")
    assert reports_in_db(chat)[0].category == "alumbrado"


def test_place_can_be_skipped(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("3")
    chat.say("Basura acumulada")
    summary = chat.say("0")
    assert "Lugar: sin dato." in summary


def test_cancel_at_the_summary_keeps_nothing_and_shows_the_menu(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("2")
    chat.say("Poste caído")
    chat.say("Plaza Abaroa")
    reply = chat.say("2")
    assert "Reporte cancelado" in reply and "1 Reportar" in reply
    assert reports_in_db(chat) == []


def test_every_report_reply_fits_one_sms(chat: Chat) -> None:
    onboard(chat)
    long_text = "Hay un bache enorme frente a la escuela y los autos se chocan " * 5
    for text in ("1", "4", long_text, "Calle Fernando Guachalla esquina 20 de Octubre", "1"):
        reply = chat.say(text)
        assert segments(reply) == 1 and is_gsm7(reply), reply


def test_three_misses_go_back_to_the_menu(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("🙂")
    chat.say("")
    reply = chat.say("99")
    assert "Volvamos al menú" in reply.replace("menu", "menú") and "1 Reportar" in reply


def test_half_written_report_survives_nonsense(chat: Chat) -> None:
    onboard(chat)
    chat.say("1")
    chat.say("1")
    chat.say("Sin agua tres días")
    chat.say("x" * 1600)  # a place, very long: kept (trimmed), summary still one SMS
    reply = chat.say("hmm")
    assert "Responda 1 para enviar" in reply
    assert CODE.search(chat.say("1"))
    assert reports_in_db(chat)[0].description == "Sin agua tres días"


def test_me_too_instead_of_a_duplicate(chat: Chat) -> None:
    onboard(chat)
    code = CODE.search(report(chat)).group(0)  # type: ignore[union-attr]
    other = neighbour(chat, "+59171000002")
    other.say("1")
    offer = other.say("1")
    assert f"Ya hay un reporte de Agua en su zona ({code})" in offer
    assert "1 Yo también" in offer.replace("tambien", "también")
    assert f"sumamos su apoyo al reporte {code}" in other.say("1")
    assert len(reports_in_db(chat)) == 1
    with chat.sessions() as session:
        assert session.scalar(select(ReportSupporter.id)) is not None


def test_it_is_another_problem_goes_on_to_describe_it(chat: Chat) -> None:
    onboard(chat)
    report(chat)
    other = neighbour(chat, "+59171000003")
    other.say("1")
    other.say("1")
    assert "Cuéntenos" in other.say("2")
    other.say("Fuga en la cañería")
    other.say("0")
    other.say("1")
    assert len(reports_in_db(chat)) == 2


def test_no_me_too_offer_for_another_zone_or_an_old_report(chat: Chat) -> None:
    onboard(chat)
    report(chat)
    elsewhere = neighbour(chat, "+59171000004", zone="Achumani")
    elsewhere.say("1")
    assert "Cuéntenos" in elsewhere.say("1")
    with transaction(chat.sessions) as session:
        for row in session.scalars(select(Report)):
            row.created_at = utcnow() - timedelta(days=15)
    same_zone = neighbour(chat, "+59171000005")
    same_zone.say("1")
    assert "Cuéntenos" in same_zone.say("1")


def test_reporter_is_not_offered_to_support_their_own(chat: Chat) -> None:
    onboard(chat)
    code = CODE.search(report(chat)).group(0)  # type: ignore[union-attr]
    chat.say("1")
    chat.say("1")
    assert f"Usted ya sigue el reporte {code}" in chat.say("1")


def test_my_reports_newest_first_in_one_sms(chat: Chat) -> None:
    onboard(chat)
    assert "no tiene reportes" in chat.say("4")
    first = CODE.search(report(chat, "1")).group(0)  # type: ignore[union-attr]
    second = CODE.search(report(chat, "3", "Basura en la esquina")).group(0)  # type: ignore[union-attr]
    listing = chat.say("4")
    assert listing.index(second) < listing.index(first)
    assert f"{first} Agua: recibido" in listing and f"{second} Basura: recibido" in listing
    assert segments(listing) == 1


@pytest.mark.parametrize(
    ("lang", "more", "no_more"),
    [("1", "MAS", "No hay mas reportes suyos"), ("2", "juk'ampi", "Janiw juk'amp reportenakamax")],
)
def test_older_reports_come_with_mas_one_sms_at_a_time(
    chat: Chat, lang: str, more: str, no_more: str
) -> None:
    onboard(chat, lang)
    codes = [CODE.search(report(chat, category)).group(0) for category in "1234567"]  # type: ignore[union-attr]
    pages = [chat.say("4")]
    while CODE.search(pages[-1]):
        assert segments(pages[-1]) == 1, pages[-1]
        pages.append(chat.say(more))
    assert no_more in pages[-1]
    listed = CODE.findall(" ".join(pages))
    assert listed == codes[::-1]  # each once, newest first
    assert len(pages) >= 3  # seven reports do not fit one SMS
    assert "MAS" in pages[0]


def test_whatsapp_photo_and_location_are_kept(chat: Chat) -> None:
    from bot.engine import InboundMessage
    from bot.inbound import receive

    onboard(chat)
    wa = "whatsapp"

    def send(body: str, **extra: object) -> str:
        import uuid

        msg = InboundMessage(phone=chat.phone, channel=wa, body=body, **extra)  # type: ignore[arg-type]
        return "\n".join(receive(chat.sessions, "SM" + uuid.uuid4().hex, msg))

    send("1")
    send("3")
    where = send("Basura en la esquina", media=["https://api.twilio.com/media/ME1"])
    assert "envíe su ubicación" in where  # WhatsApp keeps accents
    summary = send("", latitude=-16.4958, longitude=-68.1381, address="Plaza San Sebastián")
    assert "Lugar: Plaza San Sebastián." in summary
    send("1")
    [saved] = reports_in_db(chat)
    assert saved.media_url == "https://api.twilio.com/media/ME1"
    assert (saved.latitude, saved.longitude) == (-16.4958, -68.1381)
    assert saved.channel == "whatsapp"


def test_codes_avoid_confusable_characters(chat: Chat) -> None:
    with chat.sessions() as session:
        codes = {store.new_code(session) for _ in range(300)}
    assert all(CODE.fullmatch(code) for code in codes)
    assert not any(ch in code[2:] for code in codes for ch in "01OI")


@pytest.mark.parametrize("typed", ["r-7k3p", "R7K3P", "r 7k3p"])
def test_codes_are_found_however_they_are_typed(typed: str) -> None:
    assert store.normalize_code(typed) == "R-7K3P"


def test_reporter_row_is_linked(chat: Chat) -> None:
    onboard(chat)
    report(chat)
    with chat.sessions() as session:
        resident = session.scalar(select(Resident).where(Resident.phone == chat.phone))
    assert resident is not None
    assert reports_in_db(chat)[0].resident_id == resident.id
