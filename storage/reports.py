"""Reports: creating them with a short code, 'me too', status changes, follow-up questions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.enums import ReportStatus
from storage.models import (
    OPEN_REPORT_STATUSES,
    Report,
    ReportEvent,
    ReportSupporter,
    Resident,
    utcnow,
)

# No 0/O, 1/I: a code read aloud or copied from a basic phone's screen stays unambiguous.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 4
DUPLICATE_WINDOW = timedelta(days=14)


def new_code(session: Session) -> str:
    while True:
        code = "R-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(Report.id).where(Report.code == code)) is None:
            return code


def normalize_code(text: str) -> str:
    """'r7k3p', 'R 7K3P', 'r-7k3p' -> 'R-7K3P' (and O->0-free: O read as 0 is not in codes)."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if raw.startswith("R"):
        raw = raw[1:]
    return "R-" + raw


def similar_open_report(
    session: Session, zone_id: int | None, category: str, now: datetime
) -> Report | None:
    """An open report of the same category in the same zona from the last 14 days."""
    if zone_id is None or category == "otro":
        return None
    return session.scalar(
        select(Report)
        .where(
            Report.zone_id == zone_id,
            Report.category == category,
            Report.status.in_(OPEN_REPORT_STATUSES),
            Report.created_at >= now - DUPLICATE_WINDOW,
        )
        .order_by(Report.created_at.desc())
        .limit(1)
    )


def create_report(session: Session, resident: Resident, **fields: object) -> Report:
    report = Report(code=new_code(session), resident_id=resident.id, zone_id=resident.zone_id)
    for name, value in fields.items():
        setattr(report, name, value)
    session.add(report)
    session.flush()
    session.add(
        ReportEvent(
            report_id=report.id,
            status=ReportStatus.RECEIVED,
            source="resident",
            created_at=report.created_at,
        )
    )
    return report


def add_supporter(
    session: Session, report: Report, resident: Resident, now: datetime | None = None
) -> bool:
    """Add a 'me too'; False when the resident already reported or supports it."""
    if report.resident_id == resident.id:
        return False
    exists = session.scalar(
        select(ReportSupporter.id).where(
            ReportSupporter.report_id == report.id, ReportSupporter.resident_id == resident.id
        )
    )
    if exists is not None:
        return False
    session.add(
        ReportSupporter(report_id=report.id, resident_id=resident.id, created_at=now or utcnow())
    )
    session.flush()
    return True


def followers(session: Session, report: Report) -> list[Resident]:
    """The reporter and the supporters: everyone told of a change."""
    ids = [report.resident_id] if report.resident_id else []
    ids += list(
        session.scalars(
            select(ReportSupporter.resident_id).where(ReportSupporter.report_id == report.id)
        )
    )
    if not ids:
        return []
    return list(session.scalars(select(Resident).where(Resident.id.in_(ids))))


def set_status(
    session: Session,
    report: Report,
    status: str,
    note: str | None,
    *,
    source: str = "municipality",
    followup_after: timedelta | None = None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    report.status = status
    report.status_note = note
    report.updated_at = now
    if status == ReportStatus.RESOLVED:
        report.resolved_at = now
        report.followup_due_at = now + followup_after if followup_after is not None else None
        report.followup_sent_at = None
    else:
        report.followup_due_at = None
    session.add(
        ReportEvent(report_id=report.id, status=status, note=note, source=source, created_at=now)
    )
    session.flush()


def due_followups(session: Session, now: datetime, limit: int = 500) -> list[Report]:
    return list(
        session.scalars(
            select(Report)
            .where(
                Report.status == ReportStatus.RESOLVED,
                Report.followup_due_at.is_not(None),
                Report.followup_due_at <= now,
                Report.followup_sent_at.is_(None),
            )
            .order_by(Report.followup_due_at)
            .limit(limit)
        )
    )


def reports_of(
    session: Session, resident: Resident, limit: int = 5, offset: int = 0
) -> list[Report]:
    """The resident's reports (made or supported), newest first."""
    supported = select(ReportSupporter.report_id).where(ReportSupporter.resident_id == resident.id)
    return list(
        session.scalars(
            select(Report)
            .where(or_(Report.resident_id == resident.id, Report.id.in_(supported)))
            .order_by(Report.created_at.desc(), Report.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def find_report(session: Session, code: str) -> Report | None:
    return session.scalar(select(Report).where(Report.code == normalize_code(code)))


def get_report(session: Session, report_id: object) -> Report | None:
    return session.get(Report, report_id) if report_id is not None else None
