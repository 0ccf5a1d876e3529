"""RQ jobs: module-level, idempotent, taking ids. Running one twice never sends twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rq import get_current_job
from sqlalchemy import select, update

from bot.channels import segments
from storage.enums import ResidentStatus
from storage.models import OutboundMessage, Resident, utcnow
from storage.outbox import add_outbox
from storage.residents import opt_out
from worker import context
from worker.broadcast import record as record_outcomes
from worker.broadcast import send_chunk
from worker.evidence import build_export
from worker.fanout import prepare_broadcast
from worker.pool import sending_for
from worker.ratelimit import account_limiter
from worker.sender import SendResult, retry_time

log = logging.getLogger(__name__)


def send_message(message_id: int) -> str:
    """Send one queued message: wait for a rate-limit slot, claim it, send, record.

    The claim (pending -> sending) comes after the slot and checks the resident's consent in
    the same statement, right before the request: a worker killed while waiting leaves the
    message pending, and a resident who opted out meanwhile is not messaged.
    """
    ctx = context.get()
    with ctx.sessions() as session:
        message = session.get(OutboundMessage, message_id)
        if message is None or message.status != "pending":
            return "skipped"  # sent, failed or being sent by another worker already
        to, body, channel = message.to_address, message.body or "", message.channel

    # The account-wide rate holds for single messages too, not only for broadcasts.
    job = get_current_job()
    claimant = None
    if job is not None:
        cost = segments(body) if channel == "sms" else 1
        account_limiter(job.connection, ctx.config.send_rate).acquire(cost)
        claimant = sending_for(ctx, job.connection, record_outcomes).worker_id
    consents = (
        select(Resident.id)
        .where(
            Resident.id == OutboundMessage.resident_id,
            Resident.status == ResidentStatus.ACTIVE,
        )
        .exists()
    )
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == "pending",
                OutboundMessage.to_address.is_not(None),
                consents,
            )
            .values(
                status="sending",
                attempts=OutboundMessage.attempts + 1,
                claimed_at=now,
                claimed_by=claimant,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            canceled = session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == message_id, OutboundMessage.status == "pending")
                .values(status="canceled", updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            return "canceled" if canceled else "skipped"
    assert to is not None
    try:
        result = ctx.transport.send(to, body, channel)
    except Exception as exc:  # noqa: BLE001 - a send that blew up may have gone out
        log.exception("message %s: send raised", message_id)
        result = SendResult("unknown", detail=f"{exc.__class__.__name__}: {exc}")
    return record(message_id, result)


def record(message_id: int, result: SendResult) -> str:
    """Store how a send ended; a rate-limited one goes back to pending and is retried."""
    ctx = context.get()
    with ctx.sessions() as session, session.begin():
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        message.error_code = result.error_code
        if result.outcome == "sent":
            message.status = result.status or "queued"
            message.twilio_sid = result.sid
        elif (
            result.outcome == "retry"
            and (due := retry_time(message.attempts, utcnow())) is not None
        ):
            # Never processed by Twilio, so safe to send again: later, through the outbox.
            message.status = "pending"
            add_outbox(session, "send_message", message_id, not_before=due)
        elif result.outcome in ("opted_out", "invalid"):
            message.status = "failed"
            resident = session.get(Resident, message.resident_id) if message.resident_id else None
            if resident is not None and result.outcome == "opted_out":
                opt_out(session, [resident.id], utcnow())
            elif resident is not None and resident.number_invalid_at is None:
                resident.number_invalid_at = utcnow()  # broadcasts skip it from now on
        elif result.outcome == "unknown":
            message.status = "unknown"  # may have gone out: never resent blindly
        else:
            message.status = "failed"
    if result.outcome != "sent":
        log.warning(
            "message %s: %s %s %s", message_id, result.outcome, result.error_code, result.detail
        )
    return result.outcome


JOBS: dict[str, Callable[..., Any]] = {
    "send_message": send_message,
    "prepare_broadcast": prepare_broadcast,
    "send_chunk": send_chunk,
    "build_export": build_export,
}
# Seconds a job may run when it comes through the outbox (600 unless said here).
TIMEOUTS: dict[str, int] = {"build_export": 6 * 3600}
# Jobs that go to the evidence queue (worker.queues.evidence_queue), not the sending one.
EVIDENCE_JOBS = frozenset({"build_export"})
# Jobs that go to the front of the sending queue: a single message (a report's news, a
# reminder) or a broadcast's preparation must not wait behind the chunks of a city-wide
# broadcast already queued, which take hours at the account's sending rate.
AHEAD_JOBS = frozenset({"send_message", "prepare_broadcast"})
