"""Reconciliation: an "unknown" send is settled by asking Twilio, never left or resent blindly.

A send is unknown when the request may have reached Twilio but no answer came back (a reset
or timeout after connecting, a 5xx, a worker killed mid-request). Once it has been unknown for
RECONCILE_AFTER seconds, Twilio's Message list resource is asked for a message to the same
address with the same text, created since the send was claimed:

- found: the row becomes what Twilio says (queued, sent, delivered ...) with its sid;
- not found: the row goes out again, once (pending again, marked resent);
- not found after it was resent already: failed.

A lookup that fails (network, 5xx) settles nothing: the row waits for the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.outbound import Content, channel_for, render_broadcast
from storage.models import Broadcast, Delivery, OutboundMessage, Resident, aware, utcnow
from storage.outbox import add_outbox
from worker import context
from worker.sender import FindingTransport

log = logging.getLogger(__name__)

BATCH = 100  # rows looked up per pass (each is one request to Twilio)
# A claim's time and Twilio's creation time come from different clocks.
CLOCK_SLACK = timedelta(minutes=2)


@dataclass
class ReconcileResult:
    found: int = 0  # Twilio had it: sent after all
    resent: int = 0  # no trace: going out again, once
    failed: int = 0  # no trace after a resend, or nobody left to send to
    left: int = 0  # lookups that failed: tried again next pass

    @property
    def settled(self) -> int:
        return self.found + self.resent + self.failed


def reconcile(ctx: context.WorkerContext, *, now: datetime | None = None) -> ReconcileResult:
    """Look up to BATCH unknown sends (deliveries and single messages) up at Twilio."""
    result = ReconcileResult()
    transport = ctx.transport
    if not hasattr(transport, "find"):
        return result  # the console transport keeps no list to ask
    now = now or utcnow()
    due = now - timedelta(seconds=ctx.config.reconcile_after)
    with ctx.sessions() as session:
        deliveries = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.status == "unknown", _settled_before(Delivery.updated_at, due))
                .order_by(Delivery.id)
                .limit(BATCH)
            )
        )
        messages = list(
            session.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.status == "unknown",
                    _settled_before(OutboundMessage.updated_at, due),
                )
                .order_by(OutboundMessage.id)
                .limit(max(BATCH - len(deliveries), 0))
            )
        )
    for delivery_id in deliveries:
        _settle(ctx, transport, result, now, delivery_id, _delivery)  # type: ignore[arg-type]
    for message_id in messages:
        _settle(ctx, transport, result, now, message_id, _message)  # type: ignore[arg-type]
    if result.settled or result.left:
        log.info(
            "reconciled unknown sends: %d found at Twilio, %d sent again, %d failed, %d left",
            result.found,
            result.resent,
            result.failed,
            result.left,
        )
    return result


def _settled_before(column, due: datetime):  # type: ignore[no-untyped-def]
    return or_(column.is_(None), column <= due)


class _Row:
    """What reconciliation needs of an unknown row, and how to settle it."""

    def __init__(self, row: Delivery | OutboundMessage, to: str | None, body: str | None) -> None:
        self.row = row
        self.to = to
        self.body = body

    def since(self) -> datetime:
        when = self.row.claimed_at or self.row.updated_at or utcnow()
        return aware(when) - CLOCK_SLACK

    def send_again(self, session: Session, now: datetime) -> None:
        raise NotImplementedError


class _DeliveryRow(_Row):
    row: Delivery

    def send_again(self, session: Session, now: datetime) -> None:
        delivery = self.row
        broadcast = session.get(Broadcast, delivery.broadcast_id)
        if broadcast is None or broadcast.status == "canceled":
            delivery.status = "canceled"
            return
        delivery.status, delivery.retry_at, delivery.updated_at = "pending", None, now
        if broadcast.status == "done":
            broadcast.status, broadcast.finished_at = "sending", None
        add_outbox(session, "send_chunk", broadcast.id, delivery.id, delivery.id)


class _MessageRow(_Row):
    row: OutboundMessage

    def send_again(self, session: Session, now: datetime) -> None:
        self.row.status, self.row.updated_at = "pending", now
        add_outbox(session, "send_message", self.row.id)


def _delivery(session: Session, delivery_id: int, fold: bool) -> _Row | None:
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != "unknown":
        return None
    resident = session.get(Resident, delivery.resident_id)
    broadcast = session.get(Broadcast, delivery.broadcast_id)
    if resident is None or not resident.phone or broadcast is None:
        return _DeliveryRow(delivery, None, None)
    channel = delivery.channel or channel_for(resident, aware(delivery.claimed_at or utcnow()))
    body = render_broadcast(Content.of(broadcast), resident.language, channel, fold=fold)
    to = resident.phone if channel == "sms" else f"whatsapp:{resident.phone}"
    return _DeliveryRow(delivery, to, body)


def _message(session: Session, message_id: int, fold: bool) -> _Row | None:
    message = session.get(OutboundMessage, message_id, with_for_update=True)
    if message is None or message.status != "unknown":
        return None
    return _MessageRow(message, message.to_address, message.body)


def _settle(
    ctx: context.WorkerContext,
    transport: FindingTransport,
    result: ReconcileResult,
    now: datetime,
    row_id: int,
    load,  # type: ignore[no-untyped-def]
) -> None:
    with ctx.sessions() as session:
        found = load(session, row_id, ctx.config.gsm7_fold)
        if found is None:
            return
        to, body, since = found.to, found.body, found.since()
    twilio: tuple[str, str] | None = None
    if to and body is not None:
        try:
            twilio = transport.find(to, body, since)
        except Exception as exc:  # noqa: BLE001 - a failed lookup settles nothing
            log.warning("reconciling %s %s: lookup failed (%s)", load.__name__, row_id, exc)
            result.left += 1
            return
    try:
        with ctx.sessions() as session, session.begin():
            found = load(session, row_id, ctx.config.gsm7_fold)
            if found is None:
                return  # settled meanwhile (a late status callback, another worker)
            row = found.row
            if twilio is not None:
                row.twilio_sid, row.status = twilio[0], _our_status(twilio[1])
                if isinstance(row, Delivery):
                    row.sent_at = row.sent_at or now
                result.found += 1
            elif not to or body is None:
                row.status = "failed"  # erased or gone: nobody to send to
                result.failed += 1
            elif row.resent:
                row.status = "failed"
                result.failed += 1
            else:
                row.resent = True
                found.send_again(session, now)
                result.resent += 1
            row.updated_at = now
    except IntegrityError:
        # The sid is on another row already (a status callback stored it): leave it.
        log.warning("reconciling %s %s: sid %s already stored", load.__name__, row_id, twilio)
        result.left += 1


def _our_status(twilio_status: str) -> str:
    """Twilio's own "sending" would read as "claimed by a worker" here."""
    return "queued" if twilio_status in ("sending", "accepted", "scheduled") else twilio_status
