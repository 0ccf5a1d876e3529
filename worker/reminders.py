"""Reminders that come due with time: a zona's leader told of information nobody has checked,
a neighbour told their offer of a service (OFREZCO) ends soon, and a leader told of youth
mappers' items waiting for their review.

An item of a zona not checked for INFO_STALE_DAYS is flagged to its editor, the zona's leader:
one SMS saying how many items wait and that INFO EDITAR checks or corrects them. At most one a
week per leader (leaders.info_reminded_at), never in quiet hours, never to a phone that opted
out or never signed up (the message needs their language and their consent to be written to),
queued through the outbox in the same transaction that records it was sent.

An offer shown to neighbours is flagged to its offerer OFFER_WARN_DAYS before it ends: one SMS
with the date and how to renew it (OFREZCO, then 1), once per period
(service_offers.expiry_warned_at, cleared when it is renewed), with the same rules.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbound import MAPPING_WAITING, OFFER_ENDING, STALE_INFO, channel_for
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


def remind_stale_info(
    sessions: sessionmaker[Session],
    *,
    stale_days: float,
    now: datetime,
    quiet_hours: QuietHours,
    fold: bool = True,
) -> int:
    """Queue the reminder for every leader due one; how many were queued."""
    if stale_days <= 0 or quiet_hours.contains(now):
        return 0
    sent = 0
    with sessions() as session, session.begin():
        stale = info_store.stale_counts(session, now - timedelta(days=stale_days))
        if not stale:
            return 0
        leaders = session.scalars(
            select(Leader).where(Leader.zone_id.in_(stale)).order_by(Leader.id)
        )
        for leader in leaders:
            last = leader.info_reminded_at
            if last is not None and now - aware(last) < REMIND_EVERY:
                continue
            resident = session.scalar(select(Resident).where(Resident.phone == leader.phone))
            zone = session.get(Zone, leader.zone_id)
            if resident is None or resident.status != ResidentStatus.ACTIVE or zone is None:
                continue
            channel = channel_for(resident, now)
            values = {"n": stale[leader.zone_id], "zone": zone.name, "days": int(stale_days)}
            body = render([Reply(STALE_INFO, values)], resident.language, channel, fold=fold)
            queue_message(session, resident, body, channel=channel)
            leader.info_reminded_at = now
            sent += 1
    if sent:
        log.info("reminded %d leader(s) of zona information due for a check", sent)
    return sent


def warn_ending_offers(
    sessions: sessionmaker[Session],
    *,
    warn_days: float,
    now: datetime,
    quiet_hours: QuietHours,
    fold: bool = True,
) -> int:
    """Queue the warning for every offer due one; how many were queued."""
    if warn_days <= 0 or quiet_hours.contains(now):
        return 0
    sent = 0
    with sessions() as session, session.begin():
        for offer in services_store.ending_offers(session, now, timedelta(days=warn_days)):
            resident = offer.resident
            channel = channel_for(resident, now)
            date = aware(offer.expires_at).astimezone(LA_PAZ).strftime("%d/%m/%Y")
            values = {"offer_text": offer.text, "date": date}
            body = render([Reply(OFFER_ENDING, values)], resident.language, channel, fold=fold)
            queue_message(session, resident, body, channel=channel)
            offer.expiry_warned_at = now
            sent += 1
    if sent:
        log.info("told %d neighbour(s) their offer ends soon", sent)
    return sent


def tell_mapping_waiting(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    quiet_hours: QuietHours,
    fold: bool = True,
) -> int:
    """Tell each zona's leader that mapped items wait for review (MAPEO REVISAR): when items
    recorded since their last such SMS wait, at most once a day, never in quiet hours, never
    to a leader who opted out or never signed up. How many were queued."""
    if quiet_hours.contains(now):
        return 0
    sent = 0
    with sessions() as session, session.begin():
        waiting = mapping_store.waiting_by_zone(session)
        if not waiting:
            return 0
        leaders = session.scalars(
            select(Leader).where(Leader.zone_id.in_(waiting)).order_by(Leader.id)
        )
        for leader in leaders:
            n, newest = waiting[leader.zone_id]
            last = aware(leader.mapping_told_at) if leader.mapping_told_at else None
            if last is not None and (now - last < MAPPING_EVERY or aware(newest) <= last):
                continue  # told today, or nothing recorded since they were told
            resident = session.scalar(select(Resident).where(Resident.phone == leader.phone))
            zone = session.get(Zone, leader.zone_id)
            if resident is None or resident.status != ResidentStatus.ACTIVE or zone is None:
                continue
            channel = channel_for(resident, now)
            values = {"n": n, "zone": zone.name}
            body = render([Reply(MAPPING_WAITING, values)], resident.language, channel, fold=fold)
            queue_message(session, resident, body, channel=channel)
            leader.mapping_told_at = now
            sent += 1
    if sent:
        log.info("told %d leader(s) of mapped items waiting for review", sent)
    return sent
