"""Notices that come due with time, sent by the sweeper: a zona's leader told of information
nobody has checked, a neighbour told their offer of a service (OFREZCO) ends soon, a leader told
of youth mappers' items waiting for their review, and a zona's leaders told that neighbours'
reports hid an offer.

Each is one SMS (or WhatsApp message) in the resident's language, never in quiet hours, never to
a phone that opted out or never signed up (the message needs their language and their consent
to be written to), queued through the outbox in the same transaction that records it was sent
(`_send`).

An item of a zona not checked for INFO_STALE_DAYS is flagged to its editor, the zona's leader:
how many items wait and that INFO EDITAR checks or corrects them, at most once a week per
leader (leaders.info_reminded_at).

An offer shown to neighbours is flagged to its offerer OFFER_WARN_DAYS before it ends, with the
date and how to renew it (OFREZCO, then 1), once per period (service_offers.expiry_warned_at,
cleared when it is renewed).

An offer hidden by its third report is told to its zona's leaders, to review it (OFERTAS), once
per hiding (service_offers.hidden_told_at, cleared when a review shows it again): a report at
night is told in the morning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbound import (
    HIDDEN_FOR_LEADER,
    MAPPING_WAITING,
    OFFER_ENDING,
    STALE_INFO,
    channel_for,
    service_label,
)
from bot.render import Reply, render
from storage import info as info_store
from storage import mapping as mapping_store
from storage import services as services_store
from storage.broadcasts import LA_PAZ, QuietHours
from storage.enums import ResidentStatus
from storage.models import Leader, Resident, Zone, aware
from storage.outbox import queue_message

log = logging.getLogger(__name__)

# A leader with stale items hears about them at most this often.
REMIND_EVERY = timedelta(days=7)
# A leader hears that mapped items wait at most this often.
MAPPING_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Sweep:
    """What every notice of one sweep shares: the database, the moment and how texts fold."""

    sessions: sessionmaker[Session]
    now: datetime
    quiet_hours: QuietHours
    fold: bool = True


@dataclass(frozen=True)
class Notice:
    """One message due: to whom, what, and the row whose `field` records when it was sent."""

    to: Resident
    reply: Reply
    row: object
    field: str


def _send(sweep: Sweep, due: Callable[[Session], Iterable[Notice]], done: str) -> int:
    """Queue every notice `due` finds, each in its resident's language and channel, and record
    it sent, in one transaction; nothing in quiet hours. How many were queued (`done`, with
    that number, goes to the log)."""
    if sweep.quiet_hours.contains(sweep.now):
        return 0
    sent = 0
    with sweep.sessions() as session, session.begin():
        for notice in due(session):
            channel = channel_for(notice.to, sweep.now)
            body = render([notice.reply], notice.to.language, channel, fold=sweep.fold)
            queue_message(session, notice.to, body, channel=channel)
            setattr(notice.row, notice.field, sweep.now)
            sent += 1
    if sent:
        log.info(done, sent)
    return sent


def _leaders(session: Session, zone_ids: Iterable[int]) -> Iterator[tuple[Leader, Resident, Zone]]:
    """The leaders of these zonas who are signed up, with their resident row and zona."""
    wanted = list(zone_ids)
    if not wanted:
        return
    for leader in session.scalars(
        select(Leader).where(Leader.zone_id.in_(wanted)).order_by(Leader.id)
    ):
        resident = session.scalar(select(Resident).where(Resident.phone == leader.phone))
        zone = session.get(Zone, leader.zone_id)
        if resident is not None and resident.status == ResidentStatus.ACTIVE and zone is not None:
            yield leader, resident, zone


def remind_stale_info(sweep: Sweep, stale_days: float) -> int:
    """Queue the reminder for every leader due one; how many were queued."""
    if stale_days <= 0:
        return 0

    def due(session: Session) -> Iterator[Notice]:
        stale = info_store.stale_counts(session, sweep.now - timedelta(days=stale_days))
        for leader, resident, zone in _leaders(session, stale):
            last = leader.info_reminded_at
            if last is None or sweep.now - aware(last) >= REMIND_EVERY:
                values = {"n": stale[leader.zone_id], "zone": zone.name, "days": int(stale_days)}
                yield Notice(resident, Reply(STALE_INFO, values), leader, "info_reminded_at")

    done = "reminded %d leader(s) of zona information due for a check"
    return _send(sweep, due, done)


def warn_ending_offers(sweep: Sweep, warn_days: float) -> int:
    """Queue the warning for every offer due one; how many were queued."""
    if warn_days <= 0:
        return 0

    def due(session: Session) -> Iterator[Notice]:
        for offer in services_store.ending_offers(session, sweep.now, timedelta(days=warn_days)):
            date = aware(offer.expires_at).astimezone(LA_PAZ).strftime("%d/%m/%Y")
            reply = Reply(OFFER_ENDING, {"offer_text": offer.text, "date": date})
            yield Notice(offer.resident, reply, offer, "expiry_warned_at")

    done = "told %d neighbour(s) their offer ends soon"
    return _send(sweep, due, done)


def tell_mapping_waiting(sweep: Sweep) -> int:
    """Tell each zona's leader that mapped items wait for review (MAPEO REVISAR): when items
    recorded since their last such SMS wait, at most once a day. How many were queued."""

    def due(session: Session) -> Iterator[Notice]:
        waiting = mapping_store.waiting_by_zone(session)
        for leader, resident, zone in _leaders(session, waiting):
            n, newest = waiting[leader.zone_id]
            last = aware(leader.mapping_told_at) if leader.mapping_told_at else None
            if last is not None and (sweep.now - last < MAPPING_EVERY or aware(newest) <= last):
                continue  # told today, or nothing recorded since they were told
            reply = Reply(MAPPING_WAITING, {"n": n, "zone": zone.name})
            yield Notice(resident, reply, leader, "mapping_told_at")

    done = "told %d leader(s) of mapped items waiting for review"
    return _send(sweep, due, done)


def tell_hidden_offers(sweep: Sweep) -> int:
    """Tell a zona's leaders that reports hid an offer of their zona (OFERTAS reviews it): once
    per hiding, told in the morning when it was hidden at night. An offer of a zona without a
    leader signed up waits until one is. How many messages were queued."""

    def due(session: Session) -> Iterator[Notice]:
        for offer in services_store.hidden_untold(session):
            values = {"category": service_label(offer.category), "zone": offer.zone.name}
            for _, resident, _ in _leaders(session, [offer.zone_id]):
                yield Notice(resident, Reply(HIDDEN_FOR_LEADER, values), offer, "hidden_told_at")

    done = "told %d leader(s) that reports hid an offer of their zona"
    return _send(sweep, due, done)
