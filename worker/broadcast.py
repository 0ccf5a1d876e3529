"""Sending a broadcast's chunk: claim its rows, hand them to the send threads, record outcomes.

send_chunk (the RQ job) claims rows with a conditional UPDATE (pending -> sending) a few at a
time, as threads of this process's Sending (worker.pool) free up, and hands them over; the
pool sends them through the shared rate limiter and writes their outcomes with record. A re-run
chunk, a retried job or two workers never send a row twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import redis
from rq import get_current_job
from sqlalchemy import bindparam, func, literal_column, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot import channels
from bot.outbound import Content, channel_for, render_broadcast
from storage import broadcasts as store
from storage.enums import ResidentStatus
from storage.models import Broadcast, Delivery, OutboxEntry, Poll, Resident, aware, utcnow
from storage.outbox import add_outbox
from storage.residents import opt_out
from worker import context
from worker.pool import Outgoing, Sending, SendOutcome, sending_for
from worker.sender import WHATSAPP_WINDOW_CODE, SendResult, retry_time

log = logging.getLogger(__name__)

# The outcome of a row this thread did not claim: another worker took it, or no rate-limit
# slot could be had; nothing to write.
TAKEN = "taken"


def quiet(ctx: context.WorkerContext, broadcast: Broadcast, now: datetime) -> datetime | None:
    """When a non-urgent broadcast may go on, if now is in quiet hours; else None."""
    if broadcast.urgent:
        return None
    hours = store.QuietHours.parse(ctx.config.quiet_hours)
    return hours.defer(now) if hours.contains(now) else None


def send_chunk(broadcast_id: int, first_id: int, last_id: int) -> str:
    """RQ job: hand the pending deliveries of one id range of a broadcast to the send threads.

    It returns when the last of them is in flight; outcomes are written as they come.
    """
    job = get_current_job()
    if job is None:
        raise RuntimeError("send_chunk runs inside RQ; use run_chunk otherwise")
    return run_chunk(context.get(), job.connection, broadcast_id, first_id, last_id)


def run_chunk(
    ctx: context.WorkerContext,
    connection: redis.Redis,
    broadcast_id: int,
    first_id: int,
    last_id: int,
    *,
    wait: bool = False,
) -> str:
    """Send a chunk from this process (the RQ job, the sweeper and tests come here).

    wait=True returns only once every outcome is written.
    """
    now = utcnow()
    with ctx.sessions() as session:
        broadcast = session.scalars(
            select(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .options(
                selectinload(Broadcast.zones),
                selectinload(Broadcast.poll).selectinload(Poll.options),
            )
        ).one_or_none()
        if broadcast is None or broadcast.status != "sending":
            return "skipped"
        if quiet(ctx, broadcast, now) is not None:
            return "quiet"  # the sweeper enqueues it again when quiet hours end
        content = Content.of(broadcast)
    sending = sending_for(ctx, connection, record)
    claimed = _Chunk(ctx, sending, content, broadcast_id, first_id, last_id).run()
    if wait:
        sending.wait_idle()
    return f"claimed {claimed}"


class _Chunk:
    """One chunk: pick pending rows as send threads free up and hand them over.

    Rows are not claimed here: each send thread claims its row only once its rate-limit slot
    has come, checking the resident's consent in the same statement, right before the
    request. A worker killed while waiting for slots leaves those rows pending, not unknown,
    and a resident who opts out while a row waits is not messaged.
    """

    def __init__(
        self,
        ctx: context.WorkerContext,
        sending: Sending,
        content: Content,
        broadcast_id: int,
        first_id: int,
        last_id: int,
    ) -> None:
        self.ctx = ctx
        self.sending = sending
        self.content = content
        self.broadcast_id = broadcast_id
        self.first_id, self.last_id = first_id, last_id
        self.cursor = first_id - 1  # rows up to here have been handed over
        self.bodies: dict[tuple[str, str], tuple[str, int]] = {}
        cfg = ctx.config
        senders = (cfg.twilio_whatsapp_from, cfg.twilio_messaging_service_sid)
        self.whatsapp_sender = any(senders) or not cfg.twilio_configured

    def run(self) -> int:
        """Hand over until the range has no pending row left; how many were handed over."""
        threads = self.sending.threads
        total = 0
        while True:
            free = self.sending.wait_free(max(1, threads // 4))
            picked = self.pick(free)
            total += len(picked)
            for item in picked:
                if isinstance(item, SendOutcome):
                    self.sending.done(item)
                else:
                    self.sending.submit(self, item)
            if len(picked) < free:
                return total

    def outcome(self, item: Outgoing, result: SendResult, **extra: Any) -> SendOutcome:
        return SendOutcome(
            item.delivery_id,
            item.resident_id,
            result,
            self.broadcast_id,
            (self.first_id, self.last_id),
            attempts=item.attempts,
            **extra,
        )

    # -- picking ---------------------------------------------------------------------------

    def pick(self, limit: int) -> list[Outgoing | SendOutcome]:
        """The next `limit` pending, due rows of the range after the cursor (read only)."""
        now = utcnow()
        with self.ctx.sessions() as session:
            rows = session.execute(
                select(
                    Delivery.id,
                    Delivery.attempts,
                    Resident.id.label("resident_id"),
                    Resident.phone,
                    Resident.language,
                    Resident.status,
                    Resident.topics,
                    Resident.last_channel,
                    Resident.whatsapp_last_inbound_at,
                    Resident.number_invalid_at,
                )
                .join(Resident, Resident.id == Delivery.resident_id)
                .where(
                    Delivery.broadcast_id == self.broadcast_id,
                    Delivery.id > self.cursor,
                    Delivery.id <= self.last_id,
                    Delivery.status == "pending",
                    or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now),
                )
                .order_by(Delivery.id)
                .limit(limit)
            ).all()
        if rows:
            self.cursor = rows[-1].id
        topic = store.topic_for(self.content.kind)
        items: list[Outgoing | SendOutcome] = []
        for row in rows:
            if (
                row.status != ResidentStatus.ACTIVE
                or not row.phone
                or row.number_invalid_at is not None
                or topic not in (row.topics or [])
            ):
                gone = row.status == ResidentStatus.OPTED_OUT
                items.append(
                    SendOutcome(
                        row.id,
                        row.resident_id,
                        SendResult("opted_out" if gone else "skip"),
                        self.broadcast_id,
                        (self.first_id, self.last_id),
                        attempts=row.attempts,
                    )
                )
                continue
            channel = channel_for(row, now)  # type: ignore[arg-type]
            if channel == "whatsapp" and not self.whatsapp_sender:
                channel = "sms"  # no WhatsApp number configured: the same phone by SMS
            body, cost = self.body(row.language, channel)
            to = row.phone if channel == "sms" else f"whatsapp:{row.phone}"
            items.append(
                Outgoing(
                    row.id,
                    row.resident_id,
                    row.attempts + 1,
                    to,
                    body,
                    channel,
                    cost,
                    row.phone,
                    row.language,
                )
            )
        return items

    def body(self, language: str | None, channel: str) -> tuple[str, int]:
        key = (language or "es", channel)
        if key not in self.bodies:
            text = render_broadcast(self.content, language, channel, fold=self.ctx.config.gsm7_fold)
            self.bodies[key] = (text, channels.segments(text) if channel == "sms" else 1)
        return self.bodies[key]

    # -- sending (in a pool thread) --------------------------------------------------------

    def claim(self, item: Outgoing) -> SendOutcome | None:
        """Claim one row (pending -> sending) if its resident still consents; else say why.

        Returns None when claimed, an outcome for a resident who left, and a "taken" outcome
        when another worker got the row first.
        """
        now = utcnow()
        consents = (
            select(Resident.id)
            .where(
                Resident.id == Delivery.resident_id,
                Resident.status == ResidentStatus.ACTIVE,
                Resident.phone.is_not(None),
                Resident.number_invalid_at.is_(None),
            )
            .exists()
        )
        with self.ctx.sessions() as session, session.begin():
            claimed = session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id, Delivery.status == "pending", consents)
                .values(
                    status="sending",
                    attempts=Delivery.attempts + 1,
                    claimed_at=now,
                    claimed_by=self.sending.worker_id,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if claimed:
                return None
            row = session.execute(
                select(Delivery.status, Resident.status.label("resident_status"))
                .join(Resident, Resident.id == Delivery.resident_id)
                .where(Delivery.id == item.delivery_id)
            ).one_or_none()
        if row is None or row.status != "pending":
            return self.outcome(item, SendResult(TAKEN))
        gone = row.resident_status == ResidentStatus.OPTED_OUT
        return self.outcome(item, SendResult("opted_out" if gone else "skip"))

    def send_one(self, item: Outgoing) -> SendOutcome:
        warm = getattr(self.ctx.transport, "warm", None)
        if warm is not None:
            warm()  # before taking a slot: the slot's time is when the request leaves
        try:
            self.sending.limiter.acquire(item.cost)
        except redis.RedisError as exc:
            # Nothing claimed, nothing sent: the row stays pending for the sweeper.
            log.warning("delivery %s: no rate-limit slot (%s)", item.delivery_id, exc)
            return self.outcome(item, SendResult(TAKEN))
        refused = self.claim(item)
        if refused is not None:
            return refused
        try:
            result = self.ctx.transport.send(item.to, item.body, item.channel)
        except Exception as exc:  # noqa: BLE001 - a send that blew up may have gone out
            log.exception("delivery %s: send raised", item.delivery_id)
            result = SendResult("unknown", detail=f"{exc.__class__.__name__}: {exc}")
        channel, segments = item.channel, item.cost
        if (
            item.channel == "whatsapp"
            and result.outcome == "failed"
            and result.error_code == WHATSAPP_WINDOW_CODE
        ):
            result, channel, segments = self.outside_window(item)
        return self.outcome(item, result, channel=channel, segments=segments)

    def outside_window(self, item: Outgoing) -> tuple[SendResult, str, int]:
        """63016: the approved template on WhatsApp, or the same words by SMS (per config)."""
        cfg = self.ctx.config
        transport = self.ctx.transport
        template = cfg.twilio_whatsapp_template_sid
        if cfg.whatsapp_fallback == "template" and template and hasattr(transport, "send_template"):
            # The template's {{1}} carries the message as the resident would have read it.
            result = transport.send_template(item.to, template, {"1": item.body})
            return result, "whatsapp", 1
        body, cost = self.body(item.language, "sms")
        self.sending.limiter.acquire(cost)
        return self.ctx.transport.send(item.phone, body, "sms"), "sms", cost


def record(ctx: context.WorkerContext, outcomes: list[SendOutcome]) -> None:
    """Write a batch of outcomes in one transaction (rows 'sending', 'unknown' or, for a
    resident who left before the claim, 'pending')."""
    if not outcomes:
        return
    now = utcnow()
    updates: list[dict[str, Any]] = []
    opted_out: list[int] = []
    invalid: list[int] = []
    retries: dict[tuple[int, int, int], datetime] = {}
    for o in outcomes:
        r = o.result
        if r.outcome == TAKEN:
            continue  # another worker has the row, or it waits for the sweeper
        values: dict[str, Any] = {
            "did": o.delivery_id,
            "status": "failed",
            "channel": o.channel,
            "twilio_sid": None,
            "error_code": r.error_code,
            "segments": o.segments,
            "sent_at": None,
            "retry_at": None,
            "updated_at": now,
        }
        if r.outcome == "sent":
            # Twilio's own "sending" would read as "claimed by a worker" here.
            status = r.status if r.status and r.status != "sending" else "queued"
            values.update(status=status, twilio_sid=r.sid, sent_at=now)
        elif r.outcome == "opted_out":
            values["status"] = "opted_out"
            opted_out.append(o.resident_id)
        elif r.outcome == "invalid":
            invalid.append(o.resident_id)
        elif r.outcome == "retry":
            due = retry_time(o.attempts, now)
            if due is not None:  # else: out of attempts, failed
                values.update(status="pending", retry_at=due)
                key = (o.broadcast_id, *o.chunk)
                retries[key] = min(retries.get(key, due), due)
        elif r.outcome == "unknown":
            values["status"] = "unknown"  # may have gone out: never resent blindly
        elif r.outcome == "skip":
            values["status"] = "canceled"
        if r.outcome not in ("sent", "skip"):
            log.info("delivery %s: %s %s %s", o.delivery_id, r.outcome, r.error_code, r.detail)
        updates.append(values)
    if not updates:
        return
    with ctx.sessions() as session, session.begin():
        session.connection().execute(
            update(Delivery)
            .where(
                Delivery.id == bindparam("did"),
                # literal values: an expanding IN cannot go into executemany(); a row is
                # still pending when its resident left before it was claimed
                Delivery.status.in_(
                    [
                        literal_column("'sending'"),
                        literal_column("'unknown'"),
                        literal_column("'pending'"),
                    ]
                ),
            )
            .values(
                status=bindparam("status"),
                channel=func.coalesce(bindparam("channel"), Delivery.channel),
                twilio_sid=bindparam("twilio_sid"),
                error_code=bindparam("error_code"),
                segments=bindparam("segments"),
                sent_at=bindparam("sent_at"),
                retry_at=bindparam("retry_at"),
                updated_at=bindparam("updated_at"),
            ),
            updates,
        )
        opt_out(session, opted_out, now)
        if invalid:
            session.execute(
                update(Resident)
                .where(Resident.id.in_(invalid), Resident.number_invalid_at.is_(None))
                .values(number_invalid_at=now)
            )
        if retries:
            _schedule_retries(session, retries)
        for broadcast_id in {o.broadcast_id for o in outcomes}:
            if store.finish_if_complete(session, broadcast_id, now):
                log.info("broadcast %s is done", broadcast_id)


def _schedule_retries(session: Session, retries: dict[tuple[int, int, int], datetime]) -> None:
    """The chunk comes back when its first retry is due: one outbox row per chunk, not per
    write (the sweeper is a backstop)."""
    waiting = {
        tuple(entry.args): entry
        for entry in session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.job == "send_chunk", OutboxEntry.relayed_at.is_(None)
            )
        )
    }
    for key, due in retries.items():
        entry = waiting.get(key)
        if entry is None:
            add_outbox(session, "send_chunk", *key, not_before=due)
        elif entry.not_before is not None and aware(entry.not_before) > due:
            entry.not_before = due
