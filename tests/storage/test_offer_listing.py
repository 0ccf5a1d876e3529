"""The console's offer listing works each offer's status out in SQL: it must give the status
services.offer_status gives in Python, for every status and where the rules overlap."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import services
from storage.db import transaction
from storage.models import Resident, Zone, utcnow

# (text, pending, paused, days until it ends, reports, status neighbours see)
CASES = [
    ("shown", False, False, 30, 0, "active"),
    ("shown, two reports", False, False, 30, 2, "active"),
    ("waiting", True, False, 30, 0, "pending"),
    ("waiting and reported", True, False, 30, 3, "pending"),
    ("waiting, ended", True, False, -1, 0, "pending"),
    ("reported", False, False, 30, 3, "hidden"),
    ("reported, paused, ended", False, True, -1, 3, "hidden"),
    ("paused", False, True, 30, 0, "paused"),
    ("paused, ended", False, True, -1, 0, "paused"),
    ("ended", False, False, -1, 0, "expired"),
    ("ends right now", False, False, 0, 0, "expired"),
]


def test_sql_and_python_agree_on_every_offer_status(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        zone = session.scalars(select(Zone).where(Zone.name == "Sopocachi")).one()
        reporters = []
        for n in range(3):
            reporter = Resident(phone=f"+5917300{n:04d}", language="es", zone_id=zone.id)
            session.add(reporter)
            reporters.append(reporter)
        for n, (text, pending, paused, days, reports, _) in enumerate(CASES):
            resident = Resident(phone=f"+5917301{n:04d}", language="es", zone_id=zone.id)
            session.add(resident)
            session.flush()
            offer = services.publish_offer(session, resident, "plumbing", text, now)
            offer.pending, offer.paused = pending, paused
            offer.expires_at = now + timedelta(days=days)
            for reporter in reporters[:reports]:
                services.report_offer(session, offer.id, reporter.id, now)
    with sessions() as session:
        listed = services.offers_listed(session, None, now)
        in_sql = {offer.text: status for offer, _, status in listed}
        in_python = {
            offer.text: services.offer_status(offer, reports, now) for offer, reports, _ in listed
        }
        expected = {text: status for text, *_, status in CASES}
        assert in_sql == expected
        assert in_python == expected
        counts = services.offer_status_counts(session, [zone.id], now)
        assert counts == {"active": 2, "pending": 3, "hidden": 2, "paused": 2, "expired": 2}
        # One status, one page: the filter and the limit are the database's.
        [(hidden, reports, status)] = services.offers_listed(
            session, [zone.id], now, "hidden", offset=1, limit=5
        )
        assert (hidden.text, reports, status) == ("reported", 3, "hidden")
        assert services.offers_listed(session, [zone.id + 1000], now) == []
