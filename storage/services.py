"""Neighbours' services: offers residents publish (OFREZCO) and find (BUSCO).

Functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, Select, Subquery, case, delete, func, select
from sqlalchemy.orm import Session, joinedload

from storage import audit
from storage.db import insert_ignoring_conflicts
from storage.enums import ResidentStatus
from storage.models import (
    OfferReport,
    Resident,
    ServiceOffer,
    ServiceSearch,
    Zone,
    aware,
)

OFFER_DAYS = 90
# Reports by different neighbours that hide an offer from searches.
REPORTS_TO_HIDE = 3


def offer_of(session: Session, resident_id: int) -> ServiceOffer | None:
    return session.scalar(select(ServiceOffer).where(ServiceOffer.resident_id == resident_id))


def publish_offer(
    session: Session, resident: Resident, category: str, text: str, now: datetime
) -> ServiceOffer:
    """The resident's offer, new or changing their previous one in place: the reports on it
    stay, so an offer hidden by neighbours stays hidden until a leader or staff reviews it;
    pending approval when the zona moderates offers."""
    if resident.zone_id is None:
        raise ValueError("a resident without a zona cannot offer a service")
    zone = session.get(Zone, resident.zone_id)
    offer = offer_of(session, resident.id)
    if offer is None:
        offer = ServiceOffer(resident_id=resident.id)
        session.add(offer)
    offer.zone_id = resident.zone_id
    offer.category = category
    offer.text = text
    offer.consent_at = now
    offer.created_at = now
    offer.paused = False
    # A zona that moderates offers sees each new one (and each change) first.
    offer.pending = bool(zone is not None and zone.offers_moderated)
    renew_offer(offer, now)
    session.flush()
    return offer


def renew_offer(offer: ServiceOffer, now: datetime) -> None:
    """Shown for OFFER_DAYS from now; a new period gets its own warning before it ends."""
    offer.expires_at = now + timedelta(days=OFFER_DAYS)
    offer.expiry_warned_at = None


def is_hidden(session: Session, offer: ServiceOffer) -> bool:
    """Hidden by neighbours' reports, until a leader or staff reviews it."""
    return report_count(session, offer.id) >= REPORTS_TO_HIDE


def move_offers(session: Session, resident: Resident, zone: Zone) -> None:
    """The resident moved to another zona: their offer goes with them, waiting for approval
    again when the new zona moderates offers (and no longer waiting when it does not)."""
    offer = offer_of(session, resident.id)
    if offer is None or offer.zone_id == zone.id:
        return
    offer.zone_id = zone.id
    # Waiting for approval where the zona asks for it; shown at once where it does not.
    offer.pending = zone.offers_moderated


def ending_offers(session: Session, now: datetime, within: timedelta) -> list[ServiceOffer]:
    """Offers shown now that end within `within` and whose offerer was not told yet this period
    (oldest end first): not paused, pending or hidden, of residents still signed up."""
    return list(
        session.scalars(
            select(ServiceOffer)
            .join(Resident, Resident.id == ServiceOffer.resident_id)
            .where(
                ServiceOffer.expires_at > now,
                ServiceOffer.expires_at <= now + within,
                ServiceOffer.expiry_warned_at.is_(None),
                ServiceOffer.paused.is_(False),
                ServiceOffer.pending.is_(False),
                Resident.status == ResidentStatus.ACTIVE.value,
                Resident.phone.is_not(None),
                _reports() < REPORTS_TO_HIDE,
            )
            .order_by(ServiceOffer.expires_at, ServiceOffer.id)
        )
    )


def delete_offers(session: Session, resident_ids: list[int]) -> None:
    """Remove these residents' offers (and the reports on them)."""
    session.execute(delete(ServiceOffer).where(ServiceOffer.resident_id.in_(resident_ids)))


def find_offers(
    session: Session, searcher: Resident, category: str, now: datetime, limit: int = 30
) -> list[ServiceOffer]:
    """Offers of a category shown to a neighbour: their zona's first, then the other zonas of
    their macrodistrito, newest first; never their own, a paused, expired or hidden one, or
    one whose author has left (opted out or erased)."""
    zone = session.get(Zone, searcher.zone_id) if searcher.zone_id is not None else None
    if zone is None:
        return []
    same_zone = (ServiceOffer.zone_id == zone.id).desc()
    query = (
        _shown(now)
        .where(
            ServiceOffer.category == category,
            ServiceOffer.resident_id != searcher.id,
            Zone.macrodistrict_id == zone.macrodistrict_id,
        )
        .order_by(same_zone, ServiceOffer.created_at.desc(), ServiceOffer.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def offers_by_id(session: Session, ids: list[int], now: datetime) -> list[ServiceOffer]:
    """Of these offers (a search's next page), those still shown, in the order given."""
    if not ids:
        return []
    found = {o.id: o for o in session.scalars(_shown(now).where(ServiceOffer.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _shown(now: datetime) -> Select[tuple[ServiceOffer]]:
    """Offers neighbours may see now: not paused, pending, expired or hidden by reports, of a
    resident still signed up with a phone."""
    return (
        select(ServiceOffer)
        .join(Resident, Resident.id == ServiceOffer.resident_id)
        .join(Zone, Zone.id == ServiceOffer.zone_id)
        .where(
            ServiceOffer.paused.is_(False),
            ServiceOffer.pending.is_(False),
            ServiceOffer.expires_at > now,
            Resident.status == ResidentStatus.ACTIVE.value,
            Resident.phone.is_not(None),
            _reports() < REPORTS_TO_HIDE,
        )
    )


def report_offer(session: Session, offer_id: int, resident_id: int, now: datetime) -> bool:
    """Count a neighbour's report once; False if they had reported it already."""
    # RETURNING tells a new row from a skipped one on both databases (PostgreSQL's rowcount
    # is not to be trusted once SQLAlchemy fetches the new key itself).
    stmt = (
        insert_ignoring_conflicts(OfferReport)
        .values(offer_id=offer_id, resident_id=resident_id, created_at=now)
        .returning(OfferReport.id)
    )
    return session.execute(stmt).scalar() is not None


def hidden_untold(session: Session) -> list[ServiceOffer]:
    """Offers reports have hidden whose zona's leaders were not told yet (oldest first), of
    residents still signed up. The rows are locked (skipping those another sweeper holds), so
    each hiding is told once even with two reports, or two sweepers, at once."""
    return list(
        session.scalars(
            select(ServiceOffer)
            .join(Resident, Resident.id == ServiceOffer.resident_id)
            .where(
                ServiceOffer.hidden_told_at.is_(None),
                _reports() >= REPORTS_TO_HIDE,
                Resident.status == ResidentStatus.ACTIVE.value,
            )
            .order_by(ServiceOffer.created_at, ServiceOffer.id)
            .with_for_update(skip_locked=True, of=ServiceOffer)
        )
    )


def _reports() -> ScalarSelect[int]:
    """The number of reports on the offer of the enclosing query."""
    return (
        select(func.count())
        .select_from(OfferReport)
        .where(OfferReport.offer_id == ServiceOffer.id)
        .scalar_subquery()
    )


def report_count(session: Session, offer_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(OfferReport).where(OfferReport.offer_id == offer_id)
        )
        or 0
    )


def offer_status(offer: ServiceOffer, reports: int, now: datetime) -> str:
    """What neighbours see of an offer: pending (approval), hidden (reported), paused,
    expired or active."""
    if offer.pending:
        return "pending"
    if reports >= REPORTS_TO_HIDE:
        return "hidden"
    if offer.paused:
        return "paused"
    if aware(offer.expires_at) <= now:
        return "expired"
    return "active"


def _offer_statuses(now: datetime, zone_ids: Collection[int] | None) -> Subquery:
    """Each offer in these zonas (None: the city): its id, reports and status, worked out in
    SQL by the rules of offer_status (tests/storage/test_offer_listing.py holds the two to the
    same answer for every status)."""
    counted = (
        select(OfferReport.offer_id, func.count().label("n"))
        .group_by(OfferReport.offer_id)
        .subquery()
    )
    reports = func.coalesce(counted.c.n, 0)
    status = case(
        (ServiceOffer.pending.is_(True), "pending"),
        (reports >= REPORTS_TO_HIDE, "hidden"),
        (ServiceOffer.paused.is_(True), "paused"),
        (ServiceOffer.expires_at <= now, "expired"),
        else_="active",
    )
    query = select(ServiceOffer.id, reports.label("reports"), status.label("status")).outerjoin(
        counted, counted.c.offer_id == ServiceOffer.id
    )
    if zone_ids is not None:
        query = query.where(ServiceOffer.zone_id.in_(list(zone_ids)))
    return query.subquery()


def offers_listed(
    session: Session,
    zone_ids: Collection[int] | None,
    now: datetime,
    status: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[tuple[ServiceOffer, int, str]]:
    """Offers in these zonas (None: the city), of one status if given, newest first, each
    with its number of reports and its status; `limit` rows from `offset` (all if None)."""
    listed = _offer_statuses(now, zone_ids)
    query = (
        select(ServiceOffer, listed.c.reports, listed.c.status)
        .join(listed, listed.c.id == ServiceOffer.id)
        .options(joinedload(ServiceOffer.zone), joinedload(ServiceOffer.resident))
        .order_by(ServiceOffer.created_at.desc(), ServiceOffer.id.desc())
        .offset(offset)
        .limit(limit)
    )
    if status is not None:
        query = query.where(listed.c.status == status)
    return [(offer, int(n), shown) for offer, n, shown in session.execute(query).tuples()]


def offer_status_counts(
    session: Session, zone_ids: Collection[int] | None, now: datetime
) -> dict[str, int]:
    """How many offers in these zonas (None: the city) are in each status (absent: none)."""
    listed = _offer_statuses(now, zone_ids)
    query = select(listed.c.status, func.count()).group_by(listed.c.status)
    return {str(status): int(n) for status, n in session.execute(query).tuples()}


def clear_reports(session: Session, offer_id: int) -> int:
    """A reviewed offer shown again: its reports are dropped (a later hiding is told to the
    leaders again); how many there were."""
    offer = session.get(ServiceOffer, offer_id)
    if offer is not None:
        offer.hidden_told_at = None
    result = session.execute(delete(OfferReport).where(OfferReport.offer_id == offer_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _zone_offers(session: Session, zone_id: int, which: ColumnElement[bool]) -> list[ServiceOffer]:
    """A zona's offers meeting `which`, oldest first (of residents still here)."""
    return list(
        session.scalars(
            select(ServiceOffer)
            .join(Resident, Resident.id == ServiceOffer.resident_id)
            .where(
                ServiceOffer.zone_id == zone_id,
                which,
                Resident.status == ResidentStatus.ACTIVE.value,
            )
            .order_by(ServiceOffer.created_at, ServiceOffer.id)
        )
    )


def pending_offers(session: Session, zone_id: int) -> list[ServiceOffer]:
    """A zona's offers waiting for approval, oldest first (of residents still here)."""
    return _zone_offers(session, zone_id, ServiceOffer.pending.is_(True))


def hidden_offers(session: Session, zone_id: int) -> list[ServiceOffer]:
    """A zona's offers hidden by neighbours' reports, oldest first (of residents still here)."""
    return _zone_offers(session, zone_id, _reports() >= REPORTS_TO_HIDE)


def approve_offer(offer: ServiceOffer, now: datetime) -> None:
    """Shown from now on, for the full 90 days."""
    offer.pending = False
    renew_offer(offer, now)


def review_offer(
    session: Session,
    offer: ServiceOffer,
    approve: bool,
    now: datetime,
    by: audit.By,
) -> str | None:
    """A leader's or staff's decision on an offer, with its one audit entry named for what
    happened: one waiting for approval is approved, shown from now for 90 days
    ("offer.approve"), or rejected and removed ("offer.reject"); one hidden by reports, waiting
    or not, is shown again with its reports dropped ("offer.restore") or removed
    ("offer.remove"); staff may also remove one shown as usual ("offer.remove"). The action, or
    None when there was nothing to approve (decided already)."""
    hidden = is_hidden(session, offer)
    before: dict[str, object] = {"zone_id": offer.zone_id, "category": offer.category}
    before["text"] = offer.text  # never the phone
    if hidden:
        action = "offer.restore" if approve else "offer.remove"
        before["reports"] = clear_reports(session, offer.id)
    elif offer.pending:
        action = "offer.approve" if approve else "offer.reject"
    elif approve:
        return None
    else:
        action = "offer.remove"
    offer_id = offer.id
    if approve:
        approve_offer(offer, now)
    else:
        session.delete(offer)
        session.flush()
    audit.record(session, by.user, by.via, action, "offer", offer_id, before=before, actor=by.actor)
    return action


def record_search(
    session: Session, zone_id: int, category: str, results: int, now: datetime
) -> None:
    """Count one BUSCO search (for the evidence pages)."""
    session.add(ServiceSearch(zone_id=zone_id, category=category, results=results, created_at=now))
