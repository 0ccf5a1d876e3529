"""Every measure against a count made by hand on a small scripted fortnight.

Two weeks in November 2026 (Mondays the 2nd and the 9th, noon in La Paz):
- week 1: Ana (es, sms, Sopocachi) signs up on the 2nd and reports no water on the 3rd;
  Bea (ay, sms, Sopocachi) signs up on the 3rd and says "me too"; Caro (es, WhatsApp,
  Miraflores) signs up on the 4th and reports a street light; Dani declines consent. The
  municipality takes Ana's report up 6 hours after it was filed and resolves it 48 hours
  after; Ana confirms it is resolved. An announcement on the 5th reaches Ana and Bea and
  fails for Caro.
- week 2: a city poll on the 9th goes to Ana and Bea; Ana votes on the 10th, when Bea
  moves to Achumani; Twilio tells us on the 11th that Caro opted out.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import actions
from bot.config import Config
from bot.evidence.measures import place, series
from bot.targets import resolve
from storage import broadcasts as store
from storage.db import transaction
from storage.models import Delivery, Report, Resident, ResidentZone, Zone
from storage.residents import opt_out
from tests.conftest import Chat
from tests.factories import AY, add_poll, onboard, report
from worker.followups import send_due_followups

ANA, BEA, CARO, DANI = "+59171000001", "+59171000002", "+59171000003", "+59171000004"
WEEK1 = (date(2026, 11, 2), date(2026, 11, 8))
WEEK2 = (date(2026, 11, 9), date(2026, 11, 15))


def noon(day: int, hours: float = 0) -> datetime:
    """Noon in La Paz (16:00 UTC) on a November day, plus some hours."""
    return datetime(2026, 11, day, 16, tzinfo=UTC) + timedelta(hours=hours)


def at(chat: Chat, moment: datetime) -> Chat:
    chat.now = moment
    return chat


def resident_id(sessions: sessionmaker[Session], phone: str) -> int:
    with sessions() as session:
        return session.scalars(select(Resident.id).where(Resident.phone == phone)).one()


def deliver(sessions: sessionmaker[Session], broadcast_id: int, statuses: dict[str, str]) -> None:
    """Delivery rows as the worker leaves them once Twilio has answered."""
    with transaction(sessions) as session:
        for phone, status in statuses.items():
            rid = session.scalars(select(Resident.id).where(Resident.phone == phone)).one()
            session.add(Delivery(broadcast_id=broadcast_id, resident_id=rid, status=status))


def week_one(sessions: sessionmaker[Session], config: Config) -> dict[str, Chat]:
    ana = onboard(at(Chat(sessions, phone=ANA), noon(2)))
    bea = onboard(at(Chat(sessions, phone=BEA), noon(3, 1)), lang="2")
    caro = onboard(at(Chat(sessions, phone=CARO, channel="whatsapp"), noon(4)), zone="Miraflores")
    dani = at(Chat(sessions, phone=DANI), noon(4))
    for text in ("hola", "1", "Sopocachi", "2"):
        dani.say(text)
    at(ana, noon(3))
    report(ana)  # 1: agua
    at(bea, noon(3, 1))
    bea.say("1")
    assert "1 Nayans ukhamaraki" in bea.say("1")  # "me too", in Aymara
    bea.say("1")
    at(caro, noon(4, 2))
    report(caro, category="2", text="El foco de la esquina no prende")
    quick = dataclasses.replace(config, followup_days=1.0)
    with transaction(sessions) as session:
        agua = session.scalars(select(Report).where(Report.category == "agua")).one()
        actions.change_report_status(session, quick, agua, "in_progress", None, now=noon(3, 6))
        actions.change_report_status(session, quick, agua, "resolved", None, now=noon(5))
    assert send_due_followups(sessions, now=noon(6, 1)) == 1
    assert "confirmar que el reporte" in at(ana, noon(6, 2)).say("1")
    with transaction(sessions) as session:
        announcement = store.create_broadcast(
            session,
            kind="announcement",
            target=resolve(session, "all"),
            text_es="Corte de agua el jueves.",
            text_ay=AY,
            quiet_hours=store.QuietHours.parse("off"),
            now=noon(5),
        ).id
    deliver(sessions, announcement, {ANA: "delivered", BEA: "read", CARO: "failed"})
    return {"ana": ana, "bea": bea, "caro": caro}


def week_two(sessions: sessionmaker[Session], people: dict[str, Chat]) -> None:
    with transaction(sessions) as session:
        poll = add_poll(session, "¿Feria el domingo?", created_at=noon(9), closes_in=None)
        invitation = store.create_broadcast(
            session,
            kind="poll",
            target=resolve(session, "all"),
            text_es="¿Feria el domingo? Responda 1 Sí 2 No",
            text_ay=AY,
            poll_id=poll.id,
            quiet_hours=store.QuietHours.parse("off"),
            now=noon(9),
        ).id
    deliver(sessions, invitation, {ANA: "delivered", BEA: "delivered"})
    ana = at(people["ana"], noon(10))
    ana.say("2")
    assert "Votaron" in ana.say("1")
    bea = at(people["bea"], noon(10, 3))
    bea.say("5")
    bea.say("1")
    bea.say("Achumani")
    with transaction(sessions) as session:
        opt_out(session, [resident_id(sessions, CARO)], noon(11))


def zone_history(sessions: sessionmaker[Session]) -> list[tuple[str | None, str]]:
    with sessions() as session:
        return [
            (phone, zone)
            for phone, zone in session.execute(
                select(Resident.phone, Zone.name)
                .join(ResidentZone, ResidentZone.resident_id == Resident.id)
                .join(Zone, Zone.id == ResidentZone.zone_id)
                .order_by(ResidentZone.since, ResidentZone.id)
            )
        ]


def between(session: Session, days: tuple[date, date], **where: str) -> dict[str, Any]:
    [week] = series(session, place(session, **where), *days, step="week")
    return week


NOTHING = {"n": 0, "median": None, "p90": None}


def test_each_measure_matches_a_count_by_hand(
    sessions: sessionmaker[Session], config: Config
) -> None:
    people = week_one(sessions, config)
    with sessions() as session:
        sopocachi_before = between(session, WEEK1, zone="Sopocachi")
    assert zone_history(sessions) == [(ANA, "Sopocachi"), (BEA, "Sopocachi"), (CARO, "Miraflores")]
    week_two(sessions, people)
    # Dani declined: her zona went with her row.
    assert zone_history(sessions) == [
        (ANA, "Sopocachi"),
        (BEA, "Sopocachi"),
        (CARO, "Miraflores"),
        (BEA, "Achumani"),
    ]

    with sessions() as session:
        city1 = between(session, WEEK1)
        city2 = between(session, WEEK2)
        sopocachi1 = between(session, WEEK1, zone="Sopocachi")
        sopocachi2 = between(session, WEEK2, zone="Sopocachi")
        miraflores1 = between(session, WEEK1, zone="Miraflores")
        achumani2 = between(session, WEEK2, zone="Achumani")
        [month] = series(session, place(session), date(2026, 11, 1), date(2026, 11, 30), "month")

    assert city1["residents"] == {
        "signed_up_new": 3,  # Ana, Bea, Caro; Dani declined
        "signed_up": 3,
        "signed_up_during": 3,
        "active": 3,
        "opted_out": 0,
        "participation_rate": 1.0,
        "by_language": {"ay": 1, "es": 2},
        "active_by_channel": {"sms": 2, "whatsapp": 1},
    }
    assert city1["reports"] == {
        "new": 2,
        "by_category": {"agua": 1, "alumbrado": 1},
        "by_status": {"received": 1, "resolved": 1},
        "hours_to_first_change": {"n": 1, "median": 6.0, "p90": 6.0},
        "hours_to_resolution": {"n": 1, "median": 48.0, "p90": 48.0},
        "resolved": 1,
        "confirmed": 1,
        "reopened": 0,
        "confirmed_share": 1.0,
        "reopen_rate": 0.0,
        "supporters": 1,
    }
    assert city1["polls"] == {"polls": 0, "invited": 0, "voted": 0, "turnout": None}
    assert city1["broadcasts"] == {
        "broadcasts": 1,
        "recipients": 3,
        "delivered": 2,
        "failed": 1,
        "opted_out_after": 1,  # Caro, 6 days after the announcement
    }

    assert city2["residents"] == {
        "signed_up_new": 0,
        "signed_up": 2,  # Caro left
        "signed_up_during": 3,
        "active": 2,  # Ana voted, Bea changed zona; Caro said nothing
        "opted_out": 1,
        "participation_rate": round(2 / 3, 4),
        "by_language": {"ay": 1, "es": 1},
        "active_by_channel": {"sms": 2},
    }
    assert city2["reports"]["new"] == 0
    assert city2["reports"]["hours_to_resolution"] == NOTHING
    assert city2["polls"] == {"polls": 1, "invited": 2, "voted": 1, "turnout": 0.5}
    assert city2["broadcasts"] == {
        "broadcasts": 1,
        "recipients": 2,
        "delivered": 2,
        "failed": 0,
        "opted_out_after": 0,
    }

    # Bea counts in Sopocachi for week 1 even though she lives in Achumani now.
    assert sopocachi1 == sopocachi_before
    assert sopocachi1["residents"]["signed_up_new"] == 2
    assert sopocachi1["residents"]["by_language"] == {"ay": 1, "es": 1}
    assert sopocachi1["reports"]["new"] == 1
    assert sopocachi1["reports"]["supporters"] == 1
    assert sopocachi1["broadcasts"]["recipients"] == 2
    assert sopocachi1["broadcasts"]["failed"] == 0
    assert miraflores1["residents"]["signed_up_new"] == 1
    assert miraflores1["reports"]["by_category"] == {"alumbrado": 1}
    assert miraflores1["broadcasts"]["failed"] == 1
    assert miraflores1["reports"]["hours_to_first_change"] == NOTHING

    assert sopocachi2["residents"]["signed_up"] == 1  # Ana; Bea moved
    assert sopocachi2["residents"]["active"] == 1
    # The poll went out while Bea still lived in Sopocachi.
    assert sopocachi2["polls"] == {"polls": 1, "invited": 2, "voted": 1, "turnout": 0.5}
    assert achumani2["residents"]["signed_up"] == 1
    assert achumani2["residents"]["active"] == 1
    assert achumani2["residents"]["signed_up_new"] == 0

    assert month["residents"]["signed_up_new"] == 3
    assert month["residents"]["active"] == 3
    assert month["reports"]["new"] == 2
    assert month["polls"]["turnout"] == 0.5
    assert month["broadcasts"]["recipients"] == 5


def test_a_macrodistrict_adds_up_its_zonas(sessions: sessionmaker[Session], config: Config) -> None:
    week_two(sessions, week_one(sessions, config))
    with sessions() as session:
        centro = between(session, WEEK1, macro="Centro")
        miraflores = between(session, WEEK1, zone="Miraflores")
        city = between(session, WEEK1)
    assert centro["residents"] == miraflores["residents"]
    assert centro["place"] == {"kind": "macro", "name": "Centro"}
    assert city["residents"]["signed_up_new"] == 3
