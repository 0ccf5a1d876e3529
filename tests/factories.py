"""Residents, reports, polls and broadcasts made the way the app makes them, and read back.

One definition of each, shared by every area: `onboard(chat)` means the same sign-up in a flow
test, a webhook test and a staff-command test, so a change to onboarding is made here once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.targets import resolve
from storage import broadcasts as store
from storage.db import transaction
from storage.leaders import add_leader
from storage.models import (
    Broadcast,
    Delivery,
    Poll,
    PollOption,
    PollZone,
    Resident,
    Zone,
    utcnow,
)
from tests.conftest import Chat

PHONE = "+59171234567"  # the phone of Chat and inbound_params unless a test names another
# A report's code as residents receive it.
CODE = re.compile(r"R-[2-9A-HJ-NP-Z]{4}")

# -- through the conversation -------------------------------------------------------------


def onboard(chat: Chat, lang: str = "1", zone: str = "Sopocachi") -> Chat:
    """Sign the chat's phone up: language (1 Spanish, 2 Aymara), zona, consent; the same chat."""
    for text in ("hola", lang, zone, "1"):
        chat.say(text)
    return chat


def neighbour(chat: Chat, phone: str, lang: str = "1", zone: str = "Sopocachi") -> Chat:
    """Another resident, signed up on the same database and at the same time as `chat`."""
    return onboard(Chat(chat.sessions, phone=phone, now=chat.now), lang, zone)


def report(
    chat: Chat,
    category: str = "1",
    text: str = "No hay agua desde el lunes",
    place: str = "Calle Guachalla 123",
) -> str:
    """A report filed from the menu to the end (1 Enviar); the reply that carries its code."""
    chat.say("1")
    chat.say(category)
    chat.say(text)
    chat.say(place)
    return chat.say("1")


# -- straight into the database -----------------------------------------------------------

# Broadcast texts in both languages, and no quiet hours.
ES = "Mañana no hay agua de 8:00 a 14:00."
AY = "Qharürux janiw uma utjkaniti 8:00 14:00 ukjakama."
OFF = store.QuietHours.parse("off")

_next_phone = iter(range(59171100000, 59171999999))


def add_residents(
    sessions: sessionmaker[Session],
    count: int,
    *,
    zone: str = "Sopocachi",
    language: str = "es",
    status: str = "active",
    topics: list[str] | None = None,
    channel: str = "sms",
    whatsapp_recent: bool = False,
) -> list[int]:
    """Residents inserted as the onboarding flow leaves them; returns their ids."""
    now = utcnow()
    with transaction(sessions) as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).first()
        assert zone_id is not None, zone
        rows = [
            Resident(
                phone=f"+{next(_next_phone)}",
                language=language,
                zone_id=zone_id,
                status=status,
                topics=list(topics) if topics is not None else None,
                last_channel=channel,
                consent_at=now if status != "onboarding" else None,
                whatsapp_last_inbound_at=now - timedelta(hours=1) if whatsapp_recent else None,
            )
            for _ in range(count)
        ]
        for row in rows:
            if topics is None:
                row.topics = ["announcements", "polls", "news", "reports"]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def announce(
    sessions: sessionmaker[Session],
    target: str = "zona:Sopocachi",
    *,
    es: str = ES,
    ay: str | None = AY,
    kind: str = "announcement",
    urgent: bool = False,
    quiet: store.QuietHours = OFF,
) -> int:
    """A broadcast created as the CLI and the leaders' flow create it; its id."""
    with transaction(sessions) as session:
        return store.create_broadcast(
            session,
            kind=kind,
            target=resolve(session, target),
            text_es=es,
            text_ay=ay,
            urgent=urgent,
            quiet_hours=quiet,
        ).id


YES_NO = (("Sí", "Jisa"), ("No", "Janiwa"))


def add_poll(
    session: Session,
    question_es: str,
    question_ay: str | None = "Domingo feria lurañani?",
    *,
    options: Sequence[tuple[str, str]] = YES_NO,
    zone: str | None = None,
    closes_in: timedelta | None = timedelta(days=3),
    created_at: datetime | None = None,
) -> Poll:
    """A poll for the city, or for one zona by name, with (Spanish, Aymara) options."""
    poll = Poll(
        question_es=question_es,
        question_ay=question_ay,
        target=f"zona:{zone}" if zone else "all",
        citywide=zone is None,
        closes_at=utcnow() + closes_in if closes_in else None,
        created_at=created_at or utcnow(),
    )
    poll.options = [
        PollOption(position=n, label_es=es, label_ay=ay) for n, (es, ay) in enumerate(options, 1)
    ]
    session.add(poll)
    session.flush()
    if zone:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
        session.add(PollZone(poll_id=poll.id, zone_id=zone_id))
    return poll


# -- reading back -------------------------------------------------------------------------


def find_resident(sessions: sessionmaker[Session], phone: str = PHONE) -> Resident | None:
    """The resident row of this phone, or None: never wrote, declined consent, or erased."""
    with sessions() as session:
        return session.scalar(select(Resident).where(Resident.phone == phone))


def resident(sessions: sessionmaker[Session], phone: str = PHONE) -> Resident:
    """The resident row of this phone, which must exist."""
    row = find_resident(sessions, phone)
    assert row is not None, f"no resident for {phone}"
    return row


def phones(sessions: sessionmaker[Session], ids: list[int]) -> list[str]:
    """The phones of these residents."""
    with sessions() as session:
        return list(session.scalars(select(Resident.phone).where(Resident.id.in_(ids))))


def deliveries(sessions: sessionmaker[Session], broadcast_id: int) -> dict[int, Delivery]:
    """Delivery rows by resident id."""
    with sessions() as session:
        return {
            d.resident_id: d
            for d in session.scalars(select(Delivery).where(Delivery.broadcast_id == broadcast_id))
        }


def broadcast(sessions: sessionmaker[Session], broadcast_id: int) -> Broadcast:
    """The broadcast row as it is now."""
    with sessions() as session:
        found = session.get(Broadcast, broadcast_id)
        assert found is not None
        return found


# --- council leaders ---------------------------------------------------------------------

LEADER = "+59171000900"
# Midday in La Paz (UTC-4), so no reply depends on quiet hours unless a test wants them.
NOON = utcnow().replace(hour=16, minute=0, second=0, microsecond=0)


def zone_id(chat: Chat, name: str) -> int:
    with chat.sessions() as session:
        return session.scalars(select(Zone.id).where(Zone.name == name)).one()


NOTICE = "Mañana minga de limpieza en la plaza a las 8. Traigan escobas."


def leader(
    chat: Chat, *, lang: str | None = "1", home: str = "Sopocachi", leads: str = "Sopocachi"
) -> Chat:
    """A leader of `leads`; an onboarded resident of `home` unless lang is None."""
    found = Chat(chat.sessions, phone=LEADER, now=NOON)
    if lang is not None:
        onboard(found, lang, home)
    with transaction(chat.sessions) as session:
        add_leader(session, LEADER, zone_id(chat, leads))
    return found
