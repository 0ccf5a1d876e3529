"""RQ jobs: module-level, idempotent, taking ids. Running one twice never sends twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rq import get_current_job
from sqlalchemy import update

from bot.channels import segments
from storage.enums import ResidentStatus
from storage.models import OutboundMessage, Resident, utcnow
from storage.outbox import add_outbox
from storage.residents import opt_out
from worker import context
from worker.broadcast import send_chunk
from worker.fanout import prepare_broadcast
from worker.ratelimit import account_limiter
from worker.sender import SendResult, retry_time

log = logging.getLogger(__name__)


def send_message(message_id: int) -> str:
    """Send one queued message: claim it (pending -> sending), send, record the outcome."""
    ctx = context.get()
    with ctx.sessions() as session, session.begin():
        claimed = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.status == "pending")
            .values(status="sending", attempts=OutboundMessage.attempts + 1, updated_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return "skipped"  # sent, failed or being sent by another worker already
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        resident = session.get(Resident, message.resident_id) if message.resident_id else None
        if resident is None or resident.status != ResidentStatus.ACTIVE or not message.to_address:
            message.status = "canceled"
            return "canceled"
        to, body, channel = message.to_address, message.body or "", message.channel

    # The account-wide rate holds for single messages too, not only for broadcasts.
    job = get_current_job()
    if job is not None:
        cost = segments(body) if channel == "sms" else 1
        account_limiter(job.connection, ctx.config.send_rate).acquire(cost)
    result = ctx.transport.send(to, body, channel)
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
}
