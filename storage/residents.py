"""Residents: erasure (BORRAR, declined consent) and the purge of abandoned sign-ups."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.enums import ResidentStatus
from storage.mapping import erase_mappers
from storage.models import (
    Conversation,
    Mapper,
    OutboundMessage,
    ReceivedMessage,
    Report,
    ReportEvent,
    Resident,
    ResidentZone,
    Zone,
    utcnow,
)
from storage.services import delete_offers, move_offers


def set_zone(session: Session, resident: Resident, zone_id: int, now: datetime) -> None:
    """Put the resident in a zona from `now` on, keeping where they were before (the evidence
    counts each resident in the zona they had at the time). Their offer of a service moves
    with them. A mapper of another zona is one no more: they map where their leader registered
    them, and the new zona's leader may."""
    if resident.zone_id == zone_id:
        return
    resident.zone_id = zone_id
    zone = session.get(Zone, zone_id)
    if zone is not None:
        move_offers(session, resident, zone)
    session.add(ResidentZone(resident_id=resident.id, zone_id=zone_id, since=now))
    session.execute(
        update(Mapper)
        .where(Mapper.resident_id == resident.id, Mapper.active.is_(True))
        .where(Mapper.zone_id != zone_id)
        .values(active=False, removed_at=now)
        .execution_options(synchronize_session="fetch")
    )


def opt_out(session: Session, resident_ids: Collection[int], now: datetime) -> None:
    """Residents Twilio says have opted out (21610: they sent STOP to the carrier or to
    Twilio): nothing unsolicited goes to them again, as if they had written BAJA."""
    if resident_ids:
        session.execute(
            update(Resident)
            .where(Resident.id.in_(list(resident_ids)), Resident.status.in_(_REACHABLE))
            .values(status=ResidentStatus.OPTED_OUT, opted_out_at=now)
        )


# Statuses an opt-out reported by Twilio moves to opted_out (an erased row stays erased).
_REACHABLE = (ResidentStatus.ACTIVE, ResidentStatus.ONBOARDING)


def erase_resident(session: Session, resident: Resident, *, keep_row: bool) -> None:
    """Remove a resident's personal data: phone, message texts, conversation, and what their
    reports say (description, place, coordinates, photo, and the staff notes on them, which
    quote places), the services they offered their neighbours, and their mapper role and what
    their mapped items say (zona information approved from them is the zona's, and stays).

    keep_row=True leaves an anonymous row (zona, language, dates) so aggregates stay, and
    their reports, votes and supports stay counted (category, zona, status, dates);
    keep_row=False removes the row entirely (someone who never consented).
    """
    _blank_messages(session, [resident.id])
    _blank_reports(session, [resident.id])
    delete_offers(session, [resident.id])
    erase_mappers(session, [resident.id])
    if resident.conversation is not None:
        session.delete(resident.conversation)
    if keep_row:
        resident.phone = None
        resident.status = ResidentStatus.ERASED
        resident.erased_at = utcnow()
        resident.topics = []
    else:
        session.delete(resident)
    session.flush()


def purge_unfinished_signups(session: Session, cutoff: datetime) -> int:
    """Remove numbers that started signing up before `cutoff`, never consented, and went quiet.

    What they wrote is blanked and their rows go, as if they had declined; someone who opted
    out stays (we must remember not to write to them). A number being texted right now is
    skipped (its row is locked) and a later text simply starts afresh. Returns how many.
    """
    ids = list(
        session.scalars(
            select(Resident.id)
            .where(
                Resident.status == ResidentStatus.ONBOARDING,
                Resident.consent_at.is_(None),
                func.coalesce(Resident.last_inbound_at, Resident.created_at) < cutoff,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for start in range(0, len(ids), 1000):
        batch = ids[start : start + 1000]
        _blank_messages(session, batch)
        _blank_reports(session, batch)
        delete_offers(session, batch)
        erase_mappers(session, batch)
        session.execute(delete(Conversation).where(Conversation.resident_id.in_(batch)))
        session.execute(delete(Resident).where(Resident.id.in_(batch)))
    return len(ids)


def _blank_reports(session: Session, resident_ids: list[int]) -> None:
    """Their reports keep what counts need and lose what could point at them."""
    theirs = select(Report.id).where(Report.resident_id.in_(resident_ids))
    session.execute(update(ReportEvent).where(ReportEvent.report_id.in_(theirs)).values(note=None))
    session.execute(
        update(Report)
        .where(Report.resident_id.in_(resident_ids))
        .values(
            description=None,
            location=None,
            latitude=None,
            longitude=None,
            media_url=None,
            status_note=None,
        )
        .execution_options(synchronize_session=False)
    )


def _blank_messages(session: Session, resident_ids: list[int]) -> None:
    """What these residents wrote and what we wrote to them: texts and addresses go."""
    session.execute(
        update(ReceivedMessage)
        .where(ReceivedMessage.resident_id.in_(resident_ids))
        .values(body=None, replies=None)
    )
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.resident_id.in_(resident_ids))
        .values(body=None, to_address=None)
    )
