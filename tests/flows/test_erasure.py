"""BORRAR leaves nothing that points at the person, and every anonymous count stays true.

The check reads every column of every table after the erasure, so a table or a column added
later is covered without anyone remembering to add it here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from bot.engine import InboundMessage
from bot.inbound import receive
from bot.outbound import notify, status_update
from storage import reports as report_store
from storage.db import transaction
from storage.models import Base, Report, ReportSupporter, Resident, ServiceOffer, Vote
from tests.conftest import Chat
from tests.factories import add_poll

PHONE = "+59171230001"
NEIGHBOUR = "+59171230002"
DESCRIPTION = "Fuga de agua frente a la casa de Doña Remedios"
PLACE = "Calle Guachalla 1234"
PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME77"
LATITUDE, LONGITUDE = -16.509876, -68.127654
NOTE = "La cuadrilla irá a Calle Guachalla 1234 el lunes"


def whatsapp(sessions: Any, text: str, **pin: Any) -> str:
    msg = InboundMessage(phone=PHONE, channel="whatsapp", body=text, **pin)
    return "\n".join(receive(sessions, "SM" + uuid.uuid4().hex, msg))


def traces(sessions: Any) -> list[str]:
    """Every stored value, table by table, that holds something of the erased person.

    What was sent to the neighbour who follows the same report is the neighbour's (their
    copy of the staff note stays theirs), and so are the search results they got while the
    offer was published, with the person's consent (the replies kept with their texts);
    everything else is read.
    """
    digits = PHONE.lstrip("+")
    words = (digits, DESCRIPTION, "Guachalla", "Remedios", PHOTO, "ME77")
    found = []
    with sessions() as session:
        neighbour_id = session.scalar(select(Resident.id).where(Resident.phone == NEIGHBOUR))
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                if table.name == "outbound_messages" and row["to_address"] == NEIGHBOUR:
                    continue
                for column, value in row.items():
                    if (table.name, column) == ("inbound_messages", "replies") and row[
                        "resident_id"
                    ] == neighbour_id:
                        continue
                    text = str(value)
                    if any(word in text for word in words) or value in (LATITUDE, LONGITUDE):
                        found.append(f"{table.name}.{column} = {text[:60]}")
    return found


def test_erasing_leaves_no_phone_text_place_or_photo_and_keeps_the_counts(sessions: Any) -> None:
    with transaction(sessions) as session:
        poll = add_poll(session, "¿Feria el domingo en la plaza?")
    for text in ("hola", "1", "Sopocachi", "1", "1", "1", DESCRIPTION):
        whatsapp(sessions, text)
    pin = {"latitude": LATITUDE, "longitude": LONGITUDE, "address": PLACE, "media": [PHOTO]}
    whatsapp(sessions, "", **pin)
    assert "recibido" in whatsapp(sessions, "1")
    whatsapp(sessions, "2")  # the open polls
    assert "su voto cuenta" in whatsapp(sessions, "1")

    neighbour = Chat(sessions, phone=NEIGHBOUR)
    for text in ("hola", "1", "Sopocachi", "1", "1", "1"):
        reply = neighbour.say(text)
    assert "1 Yo también lo tengo" in reply
    assert "sumamos su apoyo" in neighbour.say("1")  # "me too"
    with transaction(sessions) as session:
        report = session.scalars(select(Report)).one()
        report_store.set_status(session, report, "in_progress", NOTE)
        for follower in report_store.followers(session, report):
            notify(session, follower, status_update(report, NOTE), topic="reports")
    # A service offered to the neighbours, with the phone shared.
    assert "¿Qué servicio ofrece?" in whatsapp(sessions, "OFREZCO")
    whatsapp(sessions, "1")
    whatsapp(sessions, "Plomera, Doña Remedios")
    assert "se muestra hasta el" in whatsapp(sessions, "1")
    assert "Plomera" in neighbour.say("BUSCO") + neighbour.say("1")
    assert traces(sessions), "the scripted data should be there before the erasure"

    assert "¿Borrar" in whatsapp(sessions, "BORRAR")
    assert "borrados" in whatsapp(sessions, "1")

    assert traces(sessions) == []
    assert "Todavia no hay ofertas" in neighbour.say("BUSCO") + neighbour.say("1")
    with sessions() as session:
        report = session.scalars(select(Report)).one()
        assert (report.category, report.status, report.zone_id is not None) == (
            "agua",
            "in_progress",
            True,
        )
        assert session.scalar(select(func.count()).select_from(ReportSupporter)) == 1
        assert (
            session.scalar(select(func.count()).select_from(Vote).where(Vote.poll_id == poll.id))
            == 1
        )
        assert session.scalar(select(func.count()).select_from(ServiceOffer)) == 0
        erased = session.scalars(select(Resident).where(Resident.status == "erased")).one()
        assert erased.phone is None and erased.zone_id is not None


MAPPER_WORDS = "Basural junto a la casa de Don Eusebio"


def test_erasing_a_mapper_removes_the_role_and_what_their_items_say(sessions: Any) -> None:
    from storage.leaders import add_leader
    from storage.models import MappedItem, Mapper, Zone

    for text in ("hola", "1", "Sopocachi", "1"):
        whatsapp(sessions, text)
    lead = Chat(sessions, phone=NEIGHBOUR)
    for text in ("hola", "1", "Sopocachi", "1"):
        lead.say(text)
    with transaction(sessions) as session:
        zone = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        add_leader(session, NEIGHBOUR, zone)
    assert "es mapeador" in lead.say("MAPEADOR ALTA " + PHONE[4:])
    for text in ("MAPEO", "2", "3", MAPPER_WORDS):
        whatsapp(sessions, text)
    whatsapp(sessions, "", latitude=LATITUDE, longitude=LONGITUDE, media=[PHOTO])
    assert "su registro" in whatsapp(sessions, "1")
    for text in ("MAPEO", "2", "1", "Foco quemado frente a Don Eusebio", "0"):
        whatsapp(sessions, text)
    whatsapp(sessions, "1")
    with sessions() as session:
        first, second = session.scalars(select(MappedItem.id).order_by(MappedItem.id)).all()
    assert "es el reporte" in lead.say(f"APROBAR {second}")  # a mapped report in their name

    assert "borrados" in whatsapp(sessions, "BORRAR") + whatsapp(sessions, "1")

    with sessions() as session:
        assert session.scalars(select(Mapper)).all() == []
        kept = session.scalars(select(MappedItem).order_by(MappedItem.id)).all()
        # Counted still (kind, zona, status), pointing at no one.
        assert [(i.kind, i.status) for i in kept] == [
            ("trash_point", "pending"),
            ("broken_light", "approved"),
        ]
        for item in kept:
            assert (item.description, item.latitude, item.media_url) == (None, None, None)
        report = session.scalars(select(Report)).one()
        assert report.mapped and report.description is None
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    assert "Eusebio" not in str(value), f"{table.name}.{column}"
                    assert value not in (LATITUDE, LONGITUDE), f"{table.name}.{column}"
    assert first < second
