"""What staff do, decided once: the CLI, the console and the API call these.

Each runs in the caller's transaction and writes the audit entry with the change, so a change
and its record are committed together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import outbound, targets
from bot.config import Config
from storage import audit, leaders
from storage import broadcasts as store
from storage import reports as report_store
from storage.enums import ReportStatus, StaffRole
from storage.models import Broadcast, Report, StaffUser, utcnow

REPORT_STATUSES = tuple(status.value for status in ReportStatus)


class Refused(ValueError):
    """The action is not allowed or makes no sense; nothing was written."""


def change_report_status(
    session: Session,
    config: Config,
    report: Report,
    status: str,
    note: str | None,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
) -> int:
    """Move a report on and tell its reporter and supporters; how many will be told."""
    status = status.replace("-", "_")
    note = note if note and note.strip() else None
    if status not in REPORT_STATUSES:
        raise Refused(f"unknown status {status!r}")
    if status == ReportStatus.REJECTED and not note:
        raise Refused("a rejected report needs a note saying why")
    before = {"status": report.status, "note": report.status_note}
    report_store.set_status(
        session, report, status, note, followup_after=timedelta(days=config.followup_days)
    )
    message = outbound.status_update(report, note)
    told = sum(
        1
        for resident in report_store.followers(session, report)
        if outbound.notify(session, resident, message, topic="reports", fold=config.gsm7_fold)
    )
    audit.record(
        session,
        user,
        via,
        "report.status",
        "report",
        report.code,
        before=before,
        after={"status": status, "note": note, "told": told},
    )
    return told


def send_broadcast(
    session: Session,
    config: Config,
    *,
    target: targets.Target,
    text_es: str,
    text_ay: str | None,
    kind: str = "announcement",
    poll_id: int | None = None,
    urgent: bool = False,
    send_at: datetime | None = None,
    user: StaffUser | None = None,
    via: str = "cli",
) -> Broadcast:
    """Write a broadcast (the worker sends it); refusals raise ValueError, nothing written.

    A council leader in the console keeps the limit they have by SMS (leaders.DAILY_LIMIT).
    """
    if user is not None and user.role == StaffRole.LEADER:
        if leaders.staff_sent_today(session, user.id, utcnow()) >= leaders.DAILY_LIMIT:
            raise Refused(
                f"un dirigente puede enviar {leaders.DAILY_LIMIT} avisos por día; "
                "mañana podrá enviar más"
            )
    broadcast = store.create_broadcast(
        session,
        kind=kind,
        target=target,
        text_es=text_es,
        text_ay=text_ay,
        poll_id=poll_id,
        urgent=urgent,
        send_at=send_at,
        staff_user_id=user.id if user else None,
        quiet_hours=store.QuietHours.parse(config.quiet_hours),
    )
    audit.record(
        session,
        user,
        via,
        "broadcast.create",
        "broadcast",
        broadcast.id,
        after=_broadcast_fields(broadcast),
    )
    return broadcast


def cancel_broadcast(
    session: Session, broadcast: Broadcast, *, user: StaffUser | None = None, via: str = "cli"
) -> int:
    """Stop a broadcast; how many pending messages will not go out."""
    before = {"status": broadcast.status}
    canceled = store.cancel_broadcast(session, broadcast.id)
    audit.record(
        session,
        user,
        via,
        "broadcast.cancel",
        "broadcast",
        broadcast.id,
        before=before,
        after={"status": "canceled", "not_sent": canceled},
    )
    return canceled


# Failures a resend cannot fix: the resident said stop, or the number cannot take SMS.
PERMANENT_FAILURES = frozenset({21610, 21211, 21614, 21635, 30004, 30005, 30006})
RESEND_CHUNK = 100


def resend_failed(
    session: Session, broadcast: Broadcast, *, user: StaffUser | None = None, via: str = "cli"
) -> int:
    """Send again the deliveries Twilio reported failed for a passing reason (phone off, carrier
    error), to residents still signed up; how many. Twilio said these did not arrive, so this
    never doubles a message; unknown ones are left to reconciliation, which asks Twilio first."""
    if broadcast.status == "canceled":
        raise Refused("this broadcast was canceled")
    ids = store.failed_for_resend(session, broadcast.id, PERMANENT_FAILURES)
    if not ids:
        return 0
    store.requeue_deliveries(session, broadcast, ids, chunk=RESEND_CHUNK)
    audit.record(
        session,
        user,
        via,
        "broadcast.resend_failed",
        "broadcast",
        broadcast.id,
        after={"resent": len(ids)},
    )
    return len(ids)


def _broadcast_fields(broadcast: Broadcast) -> dict[str, Any]:
    return {
        "kind": broadcast.kind,
        "target": broadcast.target,
        "text_es": broadcast.text_es,
        "text_ay": broadcast.text_ay,
        "urgent": broadcast.urgent,
        "send_at": broadcast.send_at.isoformat() if broadcast.send_at else None,
        "recipients": broadcast.recipients,
    }
