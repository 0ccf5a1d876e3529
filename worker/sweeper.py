"""The sweeper: picks up after crashed workers and lost jobs, so nothing waits forever.

Rows claimed by a worker that died become "unknown" (they may have gone out, so they are never
resent blindly) and chunks with pending rows are enqueued again when nothing else would pick
them up. It reads the database and the workers' liveness keys (worker.pool), not RQ's
registries, so a SIGKILLed worker costs seconds instead of RQ's abandoned-job timeout.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage import broadcasts as store
from storage.broadcasts import QuietHours
from storage.models import Broadcast, Delivery, OutboundMessage, OutboxEntry, aware, utcnow
from storage.outbox import add_outbox
from worker import context
from worker.broadcast import quiet, run_chunk
from worker.fanout import JOB_OPTIONS, chunk_ranges, enqueue_chunks, prepare, prepare_broadcast
from worker.pool import ALIVE_KEY
from worker.reminders import (
    Sweep,
    remind_stale_info,
    tell_hidden_offers,
    tell_mapping_waiting,
    warn_ending_offers,
)

log = logging.getLogger(__name__)

# Without Redis to ask which workers live, a claimed row this old is taken as lost.
HARD_STALE = timedelta(minutes=10)
# A pending single message untouched this long is checked for a job that vanished.
LOST_JOB_AFTER = timedelta(minutes=2)


@dataclass
class SweepResult:
    resolved: int = 0  # claimed rows of dead workers marked unknown
    enqueued: int = 0  # chunk jobs enqueued again (or sent inline)
    prepared: int = 0  # prepare jobs enqueued again (or run inline)
    finished: int = 0  # broadcasts marked done
    waiting: int = 0  # rows claimed by workers that are alive (or not yet known dead)
    relayed: int = 0  # single messages whose job vanished, given a new outbox row
    reminded: int = 0  # leaders told of their zona's information due for a check
    warned: int = 0  # neighbours told their offer of a service ends soon
    mapping_told: int = 0  # leaders told that youth mappers' items wait for review
    hidden_told: int = 0  # leaders told that neighbours' reports hid an offer of their zona


def sweep(
    ctx: context.WorkerContext,
    q: Queue | None,
    *,
    connection: redis.Redis | None = None,
    now: datetime | None = None,
) -> SweepResult:
    """Resolve rows of dead workers; enqueue again what nothing else would pick up.

    Chunks are enqueued again only when the queue is empty, so a long broadcast waiting its
    turn is not enqueued twice. With q=None (no RQ) the work is done in this process.
    """
    now = now or utcnow()
    connection = connection if connection is not None else (q.connection if q else None)
    result = SweepResult()
    with ctx.sessions() as session, session.begin():
        sending_ids = list(
            session.scalars(select(Broadcast.id).where(Broadcast.status == "sending"))
        )
        if sending_ids:
            result.resolved, result.waiting = _resolve_dead_claims(
                session, sending_ids, connection, now
            )
        resolved, waiting = _resolve_dead_messages(session, connection, now)
        result.resolved += resolved
        result.waiting += waiting
        if connection is not None:
            try:
                result.relayed = _relay_lost_messages(session, connection, now)
            except redis.RedisError as exc:
                log.warning("sweeper: cannot ask Redis which jobs wait (%s)", exc)
    idle = q is None or q.count == 0
    work: list[tuple[int, bool, list[tuple[int, int]]]] = []
    with ctx.sessions() as session, session.begin():
        for broadcast_id in sending_ids:
            if store.finish_if_complete(session, broadcast_id, now):
                result.finished += 1
                continue
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None or not idle or quiet(ctx, broadcast, now) is not None:
                continue
            ranges = chunk_ranges(session, broadcast_id, only_due=now)
            if ranges:
                work.append((broadcast_id, broadcast.urgent, ranges))
        stuck = _stuck_preparations(session, now) if idle else []
    for broadcast_id in stuck:
        if q is not None:
            q.enqueue_call(
                prepare_broadcast,
                args=(broadcast_id,),
                job_id=f"prepare-{broadcast_id}-{uuid.uuid4().hex[:8]}",
                at_front=True,
                **JOB_OPTIONS,
            )
        else:
            outcome = prepare(ctx, broadcast_id, None)
            if outcome == "prepared":
                with ctx.sessions() as session:
                    ranges = chunk_ranges(session, broadcast_id, only_due=now)
                    work.append((broadcast_id, False, ranges))
        result.prepared += 1
    for broadcast_id, urgent, ranges in work:
        if q is not None:
            result.enqueued += enqueue_chunks(q, broadcast_id, ranges, ahead=urgent)
        elif connection is not None:
            for first, last in ranges:
                run_chunk(ctx, connection, broadcast_id, first, last, wait=True)
                result.enqueued += 1
    round_ = Sweep(
        ctx.sessions, now, QuietHours.parse(ctx.config.quiet_hours), ctx.config.gsm7_fold
    )
    result.reminded = remind_stale_info(round_, ctx.config.info_stale_days)
    result.warned = warn_ending_offers(round_, ctx.config.offer_warn_days)
    result.mapping_told = tell_mapping_waiting(round_)
    result.hidden_told = tell_hidden_offers(round_)
    if result.resolved or result.enqueued or result.prepared or result.relayed:
        log.info(
            "sweeper: %d lost claims marked unknown, %d chunks, %d preparations and %d messages "
            "enqueued again",
            result.resolved,
            result.enqueued,
            result.prepared,
            result.relayed,
        )
    return result


def _resolve_dead_claims(
    session: Session, broadcast_ids: list[int], connection: redis.Redis | None, now: datetime
) -> tuple[int, int]:
    """Rows 'sending' whose worker is gone become 'unknown'; returns (resolved, still live)."""
    claimed = and_(
        Delivery.broadcast_id.in_(broadcast_ids),
        Delivery.status == "sending",
        Delivery.twilio_sid.is_(None),
    )
    return _resolve(session, Delivery, claimed, connection, now)


def _resolve_dead_messages(
    session: Session, connection: redis.Redis | None, now: datetime
) -> tuple[int, int]:
    """Single messages 'sending' whose worker is gone become 'unknown', like deliveries."""
    claimed = and_(OutboundMessage.status == "sending", OutboundMessage.twilio_sid.is_(None))
    return _resolve(session, OutboundMessage, claimed, connection, now)


def _resolve(
    session: Session,
    model: type[Delivery] | type[OutboundMessage],
    claimed: ColumnElement[bool],
    connection: redis.Redis | None,
    now: datetime,
) -> tuple[int, int]:
    owners = list(session.scalars(select(model.claimed_by).where(claimed).distinct()))
    if not owners:
        return 0, 0
    dead: list[str] = []
    if connection is not None:
        try:
            pipe = connection.pipeline(transaction=False)
            for owner in owners:
                pipe.exists(ALIVE_KEY.format(owner))
            dead = [o for o, alive in zip(owners, pipe.execute(), strict=True) if o and not alive]
        except redis.RedisError as exc:
            log.warning("sweeper: cannot ask Redis which workers live (%s)", exc)
    # No owner (claimed outside RQ) or no answer from Redis: only age tells.
    lost = or_(model.claimed_at.is_(None), model.claimed_at < now - HARD_STALE)
    if dead:
        lost = or_(lost, model.claimed_by.in_(dead))
    resolved = session.execute(
        update(model)
        .where(claimed, lost)
        .values(status="unknown", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    waiting = session.scalar(select(func.count()).select_from(model).where(claimed)) or 0
    return int(resolved or 0), int(waiting)


def _relay_lost_messages(session: Session, connection: redis.Redis, now: datetime) -> int:
    """Pending single messages whose RQ job vanished (Redis restarted empty, a job deleted)
    get a new outbox row. A message waits with a job queued, running or scheduled, or with an
    outbox row not yet relayed (a rate-limited retry waiting its turn)."""
    pending = list(
        session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.status == "pending",
                OutboundMessage.updated_at < now - LOST_JOB_AFTER,
            )
        )
    )
    if not pending:
        return 0
    oldest = min(aware(m.created_at) for m in pending) - timedelta(seconds=1)
    entries: dict[int, list[OutboxEntry]] = {}
    for entry in session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.job == "send_message", OutboxEntry.created_at >= oldest
        )
    ):
        if entry.args:
            entries.setdefault(int(entry.args[0]), []).append(entry)
    lost: list[OutboundMessage] = []
    for message in pending:
        mine = entries.get(message.id, [])
        if any(entry.relayed_at is None for entry in mine):
            continue  # still on its way to RQ
        if any(_job_waits(connection, f"outbox-{entry.id}") for entry in mine):
            continue
        lost.append(message)
    for message in lost:
        add_outbox(session, "send_message", message.id)
        message.updated_at = now
    return len(lost)


def _job_waits(connection: redis.Redis, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in WAITING


WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def _stuck_preparations(session: Session, now: datetime) -> list[int]:
    """Due broadcasts still 'scheduled' a minute on, with no outbox row on its way."""
    scheduled = list(
        session.scalars(
            select(Broadcast).where(
                Broadcast.status == "scheduled",
                or_(Broadcast.send_at.is_(None), Broadcast.send_at <= now),
            )
        )
    )
    if not scheduled:
        return []
    waiting = {
        entry.args[0]
        for entry in session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.job == "prepare_broadcast", OutboxEntry.relayed_at.is_(None)
            )
        )
        if entry.args
    }
    stale = now - timedelta(seconds=60)
    return [b.id for b in scheduled if b.id not in waiting and aware(b.created_at) < stale]
