"""Youth mappers by SMS and WhatsApp: registration by a leader, MAPEO, review, progress."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels import segments
from bot.engine import InboundMessage
from bot.inbound import receive
from storage.db import transaction
from storage.leaders import add_leader
from storage.models import (
    InfoItem,
    MappedItem,
    Mapper,
    OutboundMessage,
    Report,
    Resident,
    aware,
)
from tests.conftest import Chat
from tests.factories import leader, neighbour, zone_id
from tests.helpers import Script, play, starts

MAPPER = "+59171000950"
PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME50"
LATITUDE, LONGITUDE = -16.5101, -68.1265


def whatsapp(chat: Chat, text: str = "", **extra: Any) -> str:
    msg = InboundMessage(phone=chat.phone, channel="whatsapp", body=text, **extra)
    return "\n".join(receive(chat.sessions, "SM" + uuid.uuid4().hex, msg, now=chat.now))


def sent_to(chat: Chat, phone: str) -> list[str]:
    """What we wrote (outside replies) to this phone, oldest first."""
    with chat.sessions() as session:
        rid = session.scalar(select(Resident.id).where(Resident.phone == phone))
        return list(
            session.scalars(
                select(OutboundMessage.body)
                .where(OutboundMessage.resident_id == rid)
                .order_by(OutboundMessage.id)
            )
        )


def items(chat: Chat) -> list[MappedItem]:
    with chat.sessions() as session:
        found = list(session.scalars(select(MappedItem).order_by(MappedItem.id)))
        session.expunge_all()
    return found


def mapper(lead: Chat, lang: str = "1", phone: str = MAPPER, zone: str = "Sopocachi") -> Chat:
    """A resident of the leader's zona, registered by the leader by SMS."""
    found = neighbour(lead, phone, lang=lang, zone=zone)
    reply = lead.say(f"MAPEADOR ALTA {phone[4:]}")
    assert "mapeador" in reply and phone[4:] in reply  # "es mapeador de", "mapeadorawa"
    return found


def record(chat: Chat, group: str, kind: str, text: str) -> str:
    chat.say("MAPEO")
    chat.say(group)
    chat.say(kind)
    chat.say(text)
    return chat.say("1")


# --- registration --------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "said"), [("1", "jovenes mapeadores"), ("2", "waynanakatakiwa")])
def test_mapeo_from_someone_who_is_no_mapper_gets_one_clear_answer(
    chat: Chat, lang: str, said: str
) -> None:
    lead = leader(chat)
    resident = neighbour(lead, "+59171000951", lang=lang)
    reply = resident.say("MAPEO")
    assert said in reply and segments(reply) == 1
    assert items(chat) == []


@pytest.mark.parametrize(
    ("lang", "welcome"), [("1", "Usted ahora es mapeador de Sopocachi"), ("2", "mapeadorawa")]
)
def test_a_leader_registers_a_resident_of_their_zona_who_gets_one_welcome_sms(
    chat: Chat, lang: str, welcome: str
) -> None:
    lead = leader(chat)
    neighbour(lead, MAPPER, lang=lang)
    reply = lead.say("MAPEADOR ALTA 71000950")
    assert "Listo: 71000950 es mapeador de Sopocachi" in reply and segments(reply) == 1
    [sent] = sent_to(chat, MAPPER)
    assert welcome in sent and "MAPEO" in sent and segments(sent) == 1
    assert "ya es mapeador" in lead.say("MAPEADOR ALTA +591 71000950")
    assert len(sent_to(chat, MAPPER)) == 1  # no second welcome
    sopocachi = zone_id(chat, "Sopocachi")
    with chat.sessions() as session:
        row = session.scalars(select(Mapper)).one()
        assert row.active and row.zone_id == sopocachi
        assert row.registered_by.startswith("leader:")


def test_a_leader_cannot_register_someone_outside_their_zona_or_not_signed_up(chat: Chat) -> None:
    lead = leader(chat)
    neighbour(lead, "+59171000952", zone="Achumani")
    assert "no esta inscrito en Sopocachi" in lead.say("MAPEADOR ALTA 71000952")
    assert "no esta inscrito en Sopocachi" in lead.say("MAPEADOR ALTA 71000999")
    assert "No entendi el numero" in lead.say("MAPEADOR ALTA doce")
    with chat.sessions() as session:
        assert session.scalars(select(Mapper)).all() == []


def test_the_same_words_from_a_resident_who_is_no_leader_register_nobody(chat: Chat) -> None:
    lead = leader(chat)
    neighbour(lead, MAPPER)
    other = neighbour(lead, "+59171000953")
    assert "No entendi" in other.say("MAPEADOR ALTA 71000950")
    with chat.sessions() as session:
        assert session.scalars(select(Mapper)).all() == []


@pytest.mark.parametrize(("lang", "farewell"), [("1", "ya no es mapeador"), ("2", "Yuspagara")])
def test_baja_removes_a_mapper_who_is_told_and_can_no_longer_map(
    chat: Chat, lang: str, farewell: str
) -> None:
    lead = leader(chat)
    youth = mapper(lead, lang)
    assert "Listo: 71000950 ya no es mapeador de Sopocachi" in lead.say("MAPEADOR BAJA 71000950")
    assert farewell in sent_to(chat, MAPPER)[-1]
    assert "no es mapeador de Sopocachi" in lead.say("MAPEADOR BAJA 71000950")
    assert "MAPEO" in youth.say("MAPEO") and items(chat) == []


def test_a_mapper_removed_while_recording_is_told_and_nothing_is_kept(chat: Chat) -> None:
    lead = leader(chat)
    youth = mapper(lead)
    youth.say("MAPEO")
    youth.say("1")
    youth.say("1")
    youth.say("Plaza Avaroa")
    lead.say("MAPEADOR BAJA 71000950")
    assert "ya no figura como mapeador" in youth.say("1")
    assert items(chat) == []


# --- MAPEO by SMS -------------------------------------------------------------------------

RECORD: dict[str, Script] = {
    "es": [
        ("MAPEO", starts("Mapeo de Sopocachi. ¿Qué registra? 1 Algo que la zona tiene")),
        ("5", "Mapeo de Sopocachi. ¿Qué registra?"),
        ("1", starts("¿Qué tiene? 1 Parque o plaza; 2 Grifo de agua;")),
        ("0", "¿Qué registra?"),
        ("1", "8 Mercado; 9 Sede social; 10 Parada; 11 Otro. 0 Volver"),
        ("12", starts("¿Qué tiene? 1 Parque o plaza")),  # no room for "No entendí"
        ("1", "Parque o plaza: describalo en hasta 80 letras"),
        ("🙂 7", "Escriba con palabras"),  # an emoji or a menu number is no description
        ("x" * 81, "Es muy largo: use hasta 80 letras"),
        ("Plaza con juegos frente a la iglesia", ("Parque o plaza en Sopocachi", "1 Enviar")),
        ("quizas", "Responda 1 para enviar el registro"),
        ("2", "No registramos nada"),
        ("MAPEO", "¿Qué registra?"),
        (
            "2",
            (
                starts("¿Qué falta o esta mal? 1 Luz rota; 2 Sin agua; 3 Basural; 4 Lugar"),
                "5 Bache; 6 Desagüe tapado; 7 Perros sueltos; 8 Deslizamiento; 9 Otro. 0 Volver",
            ),
        ),
        ("1", ("Luz rota: describalo", "Ejemplo: Hueco grande en la esquina")),
        ("Foco quemado en la esquina de la 20 de Octubre", "Luz rota en Sopocachi: Foco"),
        ("1", "Gracias: su registro"),
    ],
    "ay": [
        ("MAPEO", starts("Mapeo Sopocachi. Kunsa qillqantta? 1 Zonan utjki uka")),
        ("5", "Kunsa qillqantta?"),
        ("maya", starts("Kunas utji? 1 Parque, plaza; 2 Uma grifo;")),
        ("0", "Kunsa qillqantta?"),
        ("1", "0 Kutt'aña"),
        ("12", starts("Kunas utji? 1 Parque, plaza")),
        ("1", "Parque, plaza: 80 letranakakama"),
        ("🙂 7", "arunakamp qillqt'am"),
        ("x" * 81, "Sinti jach'awa: 80"),
        ("Plaza con juegos frente a la iglesia", ("Parque, plaza, Sopocachi", "1 Apayaña")),
        ("inas", "Apayañatakix 1"),
        ("2", "Janiw kunsa qillqktti"),
        ("MAPEO", "Kunsa qillqantta?"),
        (
            "paya",
            (
                starts("Kunas jan walt'i? 1 P'akit qhana (luz);"),
                "5 P'iya; 6 Desagüe jist'ata; 7 Anunaka; 8 Deslizamiento; 9 Yaqha. 0 Kutt'aña",
            ),
        ),
        ("1", ("P'akit qhana (luz): 80", "Sañani: Escuela esquinan")),
        ("Foco quemado en la esquina de la 20 de Octubre", "P'akit qhana (luz), Sopocachi"),
        ("1", "Yuspagara:"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_mapper_records_by_sms_and_every_answer_is_one_sms(chat: Chat, lang: str) -> None:
    youth = mapper(leader(chat), "1" if lang == "es" else "2")
    for reply in play(youth, RECORD[lang]):
        assert segments(reply) == 1, reply
    [item] = items(chat)
    assert (item.kind, item.status, item.channel) == ("broken_light", "pending", "sms")
    assert item.description == "Foco quemado en la esquina de la 20 de Octubre"
    assert item.zone_id == zone_id(chat, "Sopocachi") and item.latitude is None
    assert f"registro {item.id}" in youth.log[-1][1] or f"{item.id} qillqatamax" in youth.log[-1][1]


@pytest.mark.parametrize(("lang", "gone"), [("1", "Volvamos al menu"), ("2", "MENU")])
def test_three_misses_take_a_mapper_back_to_the_menu(chat: Chat, lang: str, gone: str) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    youth.say("nada")
    youth.say("nada")
    assert gone in youth.say("nada")


# --- MAPEO on WhatsApp: a pin and a photo --------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "ask", "got_pin", "summary"),
    [
        ("1", "envíe la ubicación del lugar", "Ubicación recibida", "con ubicación y foto"),
        ("2", "Ubicacion, foto ukanak", "Ubicacion katuqatawa", "ubicacion, foto ukanakampi"),
    ],
)
def test_on_whatsapp_a_mapper_adds_a_pin_and_a_photo(
    chat: Chat, lang: str, ask: str, got_pin: str, summary: str
) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    youth.say("1")
    youth.say("2")
    assert ask in whatsapp(youth, "Grifo público en la plaza")
    pin = whatsapp(youth, latitude=LATITUDE, longitude=LONGITUDE, address="Plaza Avaroa")
    assert got_pin in pin
    done = whatsapp(youth, media=[PHOTO])
    assert summary in done and "Grifo" in done
    whatsapp(youth, "1")
    [item] = items(chat)
    assert (item.kind, item.latitude, item.longitude) == ("water_tap", LATITUDE, LONGITUDE)
    assert (item.media_url, item.channel) == (PHOTO, "whatsapp")


@pytest.mark.parametrize(("lang", "got_photo"), [("1", "Foto recibida"), ("2", "Foto katuqatawa")])
def test_on_whatsapp_the_pin_and_photo_are_optional(chat: Chat, lang: str, got_photo: str) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    youth.say("2")
    youth.say("3")
    # A photo with its caption as the description: kept, then asked for the pin.
    assert got_photo in whatsapp(youth, "Basura acumulada en la esquina", media=[PHOTO])
    assert "0" in whatsapp(youth, "hola")  # neither a pin nor 0: asked again
    assert "1 " in whatsapp(youth, "0")
    whatsapp(youth, "1")
    [item] = items(chat)
    assert (item.kind, item.media_url, item.latitude) == ("trash_point", PHOTO, None)


# --- review by the leader ------------------------------------------------------------------


def test_leader_reviews_one_item_per_sms_and_approves_an_asset_into_zona_information(
    chat: Chat,
) -> None:
    lead = leader(chat)
    youth = mapper(lead)
    record(youth, "1", "1", "Plaza Avaroa con juegos para niños")
    record(youth, "1", "4", "Cancha de fútbol de la calle Guachalla")
    first, second = items(chat)

    shown = lead.say("MAPEO REVISAR")
    assert f"Por revisar (2): {first.id} Parque o plaza: Plaza Avaroa" in shown
    assert f"APROBAR {first.id} / RECHAZAR {first.id}" in shown and "MAS: otro" in shown
    assert segments(shown) == 1
    assert f"{second.id} Cancha" in lead.say("MAS")
    assert "No hay registros" in lead.say("MAS")

    approved = lead.say(f"APROBAR {first.id}")
    assert f"Aprobado {first.id}: ya es informacion de Sopocachi. Por revisar: 1." in approved
    sopocachi = zone_id(chat, "Sopocachi")
    with chat.sessions() as session:
        info = session.scalars(select(InfoItem).where(InfoItem.source == "mapeo")).one()
        assert info.category == "places" and info.zone_id == sopocachi
        assert info.text_es == "Parque o plaza: Plaza Avaroa con juegos para niños"
        assert info.text_ay == "Parque, plaza: Plaza Avaroa con juegos para niños"
        assert aware(info.checked_at) == lead.now
        row = session.get(MappedItem, first.id)
        assert row is not None and row.status == "approved" and row.info_item_id == info.id
        assert row.reviewer is not None and row.reviewer.startswith("leader:")
    assert "fue aprobado: ya es informacion de la zona" in sent_to(chat, MAPPER)[-1]
    # Residents read it with INFO, dated the day it was approved.
    youth.say("INFO")
    assert "Plaza Avaroa" in youth.say("2")
    assert "No hay un registro" in lead.say(f"APROBAR {first.id}")


def test_an_approved_need_becomes_a_mapped_report_that_follows_up_with_the_mapper(
    chat: Chat,
) -> None:
    lead = leader(chat)
    youth = mapper(lead, "2")
    record(youth, "2", "4", "Esquina oscura sin luz")
    [item] = items(chat)
    reply = lead.say(f"CORREGIR {item.id} Esquina oscura y sin luz, calle Ecuador")
    assert f"Aprobado {item.id}: es el reporte R-" in reply
    with chat.sessions() as session:
        report = session.scalars(select(Report)).one()
        mapper_id = session.scalar(select(Resident.id).where(Resident.phone == MAPPER))
        assert (report.category, report.mapped, report.resident_id) == (
            "seguridad",
            True,
            mapper_id,
        )
        assert report.description == "Esquina oscura y sin luz, calle Ecuador"
    told = sent_to(chat, MAPPER)[-1]
    assert report.code in told and "iyaw satawa" in told and segments(told) == 1
    # The report is the mapper's: they find it among their reports.
    assert report.code in youth.say("4")


@pytest.mark.parametrize(("lang", "told"), [("1", "no fue aprobado: Ya"), ("2", "janiw iyaw")])
def test_a_rejected_item_tells_the_mapper_why(chat: Chat, lang: str, told: str) -> None:
    lead = leader(chat)
    youth = mapper(lead, lang)
    record(youth, "2", "2", "No hay agua")
    [item] = items(chat)
    assert f"Rechazado {item.id}" in lead.say(f"RECHAZAR {item.id} Ya está reportado")
    assert told in sent_to(chat, MAPPER)[-1]
    [item] = items(chat)
    assert (item.status, item.note) == ("rejected", "Ya está reportado")
    with chat.sessions() as session:
        assert session.scalars(select(Report)).all() == []


def test_a_leader_reaches_only_the_items_of_their_zona(chat: Chat) -> None:
    lead = leader(chat)
    other = Chat(chat.sessions, phone="+59171000960", now=lead.now)
    other.say("hola")
    other.say("1")
    other.say("Achumani")
    other.say("1")
    achumani = zone_id(chat, "Achumani")
    with transaction(chat.sessions) as session:
        add_leader(session, "+59171000960", achumani)
    youth = mapper(lead)
    record(youth, "1", "5", "Escuela Sopocachi")
    [item] = items(chat)
    assert "No hay un registro" in other.say(f"APROBAR {item.id}")
    assert "No hay registros de mapeo por revisar en Achumani" in other.say("MAPEO REVISAR")
    assert items(chat)[0].status == "pending"


def test_leader_progress_is_one_sms_with_hand_counted_figures(chat: Chat) -> None:
    lead = leader(chat)
    youth = mapper(lead)
    mapper(lead, phone="+59171000961")
    record(youth, "1", "1", "Plaza Avaroa")
    record(youth, "1", "1", "Plaza España")
    record(youth, "2", "3", "Basural en la quebrada")
    first, second, third = items(chat)
    lead.say(f"APROBAR {first.id}")
    lead.say(f"RECHAZAR {second.id}")
    # 2 mappers; 3 items: 1 approved, 1 rejected, 1 pending; kinds park and trash point: 2 of
    # 18; by mapper the one who recorded (the other recorded nothing).
    reply = lead.say("MAPEO AVANCE")
    assert reply == (
        "Mapeo de Sopocachi: mapeadores 2, registros 3, aprobados 1, rechazados 1, "
        "por revisar 1. Tipos: 2 de 18.\nPor mapeador: ...0950: 3 (aprobados 1)."
    )
    assert segments(reply) == 1
    # A leader who maps nothing gets their mapping commands for MAPEO.
    assert "MAPEADOR ALTA" in lead.say("MAPEO")


def test_a_mapper_flow_left_long_ago_times_out(chat: Chat) -> None:
    youth = mapper(leader(chat))
    youth.say("MAPEO")
    youth.later(120)
    assert "volvemos al inicio" in youth.say("1")


# --- a photo or a pin that comes early, or with words too long -----------------------------


@pytest.mark.parametrize(
    ("lang", "kept", "too_long", "got_photo"),
    [
        ("1", "Guardamos su foto para este registro", "Es muy largo", "Foto recibida"),
        ("2", "Fotomax aka qillqatatakiw imasi", "Sinti jach'awa", "Foto katuqatawa"),
    ],
)
def test_a_photo_whose_caption_is_too_long_is_kept_and_only_shorter_words_are_asked(
    chat: Chat, lang: str, kept: str, too_long: str, got_photo: str
) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    youth.say("2")
    youth.say("3")
    caption = "Basura acumulada en la esquina de la calle Guachalla, junto al mercado, hace semanas"
    assert len(caption) > 80
    reply = whatsapp(youth, caption, media=[PHOTO])
    assert kept in reply and too_long in reply and segments(reply) == 1
    # The shorter words alone: the photo is still there, only the pin is asked for.
    assert got_photo in whatsapp(youth, "Basura en la esquina de la Guachalla")
    whatsapp(youth, "0")
    whatsapp(youth, "1")
    [item] = items(chat)
    assert (item.media_url, item.description) == (PHOTO, "Basura en la esquina de la Guachalla")


@pytest.mark.parametrize(
    ("lang", "kept_pin", "kept_photo", "summary"),
    [
        (
            "1",
            "Guardamos su ubicación para este registro",
            "Guardamos su foto para este registro",
            "con ubicación y foto",
        ),
        (
            "2",
            "Ubicacionamax aka qillqatatakiw imasi",
            "Fotomax aka qillqatatakiw imasi",
            "ubicacion, foto ukanakampi",
        ),
    ],
)
def test_a_pin_and_a_photo_sent_before_the_kind_are_kept_for_the_item(
    chat: Chat, lang: str, kept_pin: str, kept_photo: str, summary: str
) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    # The pin at the group step, the photo at the kind step: each kept, and said so.
    pin = whatsapp(youth, latitude=LATITUDE, longitude=LONGITUDE)
    assert kept_pin in pin and ("2 Algo que" in pin or "2 Pist" in pin)
    youth.say("1")
    photo = whatsapp(youth, media=[PHOTO])
    assert kept_photo in photo
    youth.say("2")
    # Both are there: the words lead straight to the summary.
    done = whatsapp(youth, "Grifo público en la plaza")
    assert summary in done
    whatsapp(youth, "1")
    [item] = items(chat)
    assert (item.kind, item.latitude, item.longitude) == ("water_tap", LATITUDE, LONGITUDE)
    assert item.media_url == PHOTO


def test_new_kinds_map_to_report_categories_and_other_is_not_coverage(chat: Chat) -> None:
    lead = leader(chat)
    youth = mapper(lead)
    record(youth, "2", "5", "Bache grande en la Guachalla")
    record(youth, "2", "7", "Perros sueltos junto a la escuela")
    record(youth, "2", "9", "Muro a punto de caer")
    record(youth, "1", "8", "Mercado Sopocachi")
    pothole, dogs, other, market = items(chat)
    assert (pothole.kind, dogs.kind, other.kind, market.kind) == (
        "pothole",
        "stray_dogs",
        "other_need",
        "market",
    )
    for found in (pothole, dogs, other, market):
        lead.say(f"APROBAR {found.id}")
    with chat.sessions() as session:
        categories = list(session.scalars(select(Report.category).order_by(Report.id)))
        info = session.scalars(select(InfoItem).where(InfoItem.source == "mapeo")).one()
    assert categories == ["calles", "salud", "otro"]
    assert (info.category, info.text_es) == ("market", "Mercado: Mercado Sopocachi")
    # "Otro" says nothing about what was looked for: 3 kinds covered, not 4.
    assert "Tipos: 3 de 18" in lead.say("MAPEO AVANCE")


# --- APROBAR approves as it is; CORREGIR corrects ----------------------------------------

APPROVE_AS_IS: dict[str, Script] = {
    "es": [
        ("MAPEO", ("MAPEADOR ALTA", "MAS: como revisar")),
        ("MAS", ("APROBAR N lo aprueba tal cual", "CORREGIR N y el texto lo corrige y aprueba")),
    ],
    "ay": [
        ("MAPEO", ("MAPEADOR ALTA", "MAS: kunjams uñakipaña")),
        ("MAS", ("APROBAR N: iyaw saña", "CORREGIR N qillqatampi: askichaña")),
    ],
}


@pytest.mark.parametrize(
    ("lang", "how", "approved"),
    [("es", "Escriba CORREGIR", "Aprobado"), ("ay", "CORREGIR {n} askichat", "iyaw sata")],
)
def test_aprobar_with_words_approves_as_is_and_corregir_corrects(
    chat: Chat, lang: str, how: str, approved: str
) -> None:
    lead = leader(chat, lang="1" if lang == "es" else "2")
    for reply in play(lead, APPROVE_AS_IS[lang]):
        assert segments(reply) == 1, reply
    youth = mapper(lead)
    record(youth, "1", "1", "Plaza Avaroa con juegos")
    record(youth, "2", "5", "Bache en la Guachalla")
    first, second = items(chat)
    # Words after APROBAR N are a leader's courtesy, not a new description.
    assert approved in lead.say(f"APROBAR {first.id} ok gracias")
    # CORREGIR without words says how; with words it corrects and approves.
    asked = lead.say(f"CORREGIR {second.id}")
    assert how.format(n=second.id) in asked and "Bache en la Guachalla" in asked
    assert items(chat)[1].status == "pending"
    assert approved in lead.say(f"corregir {second.id} Bache hondo en la calle Guachalla")
    first, second = items(chat)
    assert (first.status, first.description) == ("approved", "Plaza Avaroa con juegos")
    assert (second.status, second.description) == (
        "approved",
        "Bache hondo en la calle Guachalla",
    )
    with chat.sessions() as session:
        info = session.scalars(select(InfoItem).where(InfoItem.source == "mapeo")).one()
        report = session.scalars(select(Report)).one()
    assert info.text_es == "Parque o plaza: Plaza Avaroa con juegos"
    assert report.description == "Bache hondo en la calle Guachalla"


# --- a mapper who moves ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "moved", "no_mapper"),
    [
        ("1", "Ya no es mapeador de Sopocachi; el dirigente de Achumani", "jovenes mapeadores"),
        ("2", "Janiw Sopocachi mapeadorakxtati; Achumani dirigentew", "waynanakatakiwa"),
    ],
)
def test_a_mapper_who_moves_zona_is_told_the_role_ends_and_maps_no_more(
    chat: Chat, lang: str, moved: str, no_mapper: str
) -> None:
    lead = leader(chat)
    youth = mapper(lead, lang)
    youth.say("5")
    youth.say("1")
    reply = youth.say("Achumani")
    assert moved in reply and segments(reply) == 1
    assert no_mapper in youth.say("MAPEO")
    with chat.sessions() as session:
        row = session.scalars(select(Mapper)).one()
        assert not row.active and row.removed_at is not None
    # Back in Sopocachi, the leader may register them again.
    youth.say("5")
    youth.say("1")
    assert "Ya no es mapeador" not in youth.say("Sopocachi")
    assert "es mapeador de" in lead.say("MAPEADOR ALTA 71000950")


# --- a mapper's own progress, leaving the role; the leader's lines by mapper ---------------

MINE: dict[str, Script] = {
    "es": [
        (
            "MAPEO AVANCE",
            "Su mapeo en Sopocachi: registros 3, aprobados 1, por revisar 1, rechazados 1.",
        ),
        ("MAPEO BAJA", ("¿Dejar de ser mapeador de Sopocachi?", "1 Si, dejar / 2 No, seguir")),
        ("quizas", "Responda 1 para dejar de ser mapeador o 2 para seguir"),
        ("seguir", "Sigue como mapeador de Sopocachi"),
        ("MAPEO BAJA", "¿Dejar de ser mapeador"),
        ("1", "Listo: ya no es mapeador de Sopocachi"),
        ("MAPEO", "jovenes mapeadores"),
        ("MAPEO AVANCE", "jovenes mapeadores"),
    ],
    "ay": [
        (
            "MAPEO AVANCE",
            "Mapeomax, Sopocachi: qillqatanaka 3, iyaw sata 1, uñakipañataki 1, jan iyaw sata 1.",
        ),
        ("MAPEO BAJA", ("Sopocachi mapeador jaytañati?", "1 Jisa, jaytaña / 2 Janiwa")),
        ("inas", "Mapeador jaytañatakix 1"),
        ("2", "Sopocachi mapeadorakitawa"),
        ("MAPEO BAJA", "jaytañati?"),
        ("jaytaña", "Walikiwa: janiw Sopocachi mapeadorakxtati"),
        ("MAPEO", "waynanakatakiwa"),
    ],
}


@pytest.mark.parametrize("lang", ["es", "ay"])
def test_a_mapper_sees_their_progress_and_leaves_the_role_after_confirming(
    chat: Chat, lang: str
) -> None:
    lead = leader(chat)
    youth = mapper(lead, "1" if lang == "es" else "2")
    record(youth, "1", "1", "Plaza Avaroa")
    record(youth, "1", "4", "Cancha Guachalla")
    record(youth, "2", "3", "Basural en la quebrada")
    first, second, _ = items(chat)
    lead.say(f"APROBAR {first.id}")
    lead.say(f"RECHAZAR {second.id}")
    for reply in play(youth, MINE[lang]):
        assert segments(reply) == 1, reply
    with chat.sessions() as session:
        assert not session.scalars(select(Mapper)).one().active
    # What they recorded stays for review.
    assert [i.status for i in items(chat)] == ["approved", "rejected", "pending"]


def test_leader_progress_lists_mappers_by_items_as_far_as_one_sms_holds(chat: Chat) -> None:
    lead = leader(chat)
    phones = [f"+5917100097{n}" for n in range(6)]
    youths = [mapper(lead, phone=phone) for phone in phones]
    for n, youth in enumerate(youths):
        for k in range(n + 1):
            record(youth, "1", "1", f"Plaza {k}")
    reply = lead.say("MAPEO AVANCE")
    assert segments(reply) == 1
    # The most active first; the others do not fit beside the zona's figures.
    assert reply.endswith("\nPor mapeador: ...0975: 6 (aprobados 0).")
    assert "+591" not in reply


def test_an_aymara_leader_reads_progress_and_review_counts_without_plural_slips(
    chat: Chat,
) -> None:
    lead = leader(chat, lang="2")
    youth = mapper(lead)
    record(youth, "1", "1", "Plaza Avaroa")
    record(youth, "1", "4", "Cancha Guachalla")
    first, _ = items(chat)
    assert "Uñakipañataki: 1." in lead.say(f"APROBAR {first.id}")
    reply = lead.say("MAPEO AVANCE")
    assert reply.startswith("Mapeo Sopocachi: mapeadores 1, qillqatanaka 2, iyaw sata 1")
    assert reply.endswith("Sapa mapeador: ...0950: 2 (iyaw sata 1).") and segments(reply) == 1


@pytest.mark.parametrize(("lang", "summary"), [("1", "(con foto)"), ("2", "(fotompi)")])
def test_a_photo_sent_at_the_summary_is_kept_and_summed_up_again(
    chat: Chat, lang: str, summary: str
) -> None:
    youth = mapper(leader(chat), lang)
    youth.say("MAPEO")
    youth.say("1")
    youth.say("4")
    youth.say("Cancha de la Guachalla")  # by SMS: straight to the summary
    assert summary in whatsapp(youth, media=[PHOTO])
    whatsapp(youth, "1")
    [item] = items(chat)
    assert (item.kind, item.media_url) == ("sports_field", PHOTO)
