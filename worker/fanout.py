"""Preparing a broadcast: a delivery row per recipient, then its chunk jobs.

prepare_broadcast (the RQ job) claims the broadcast (scheduled -> sending), writes one pending
delivery row per recipient with a single INSERT ... SELECT (the database allows one per
(broadcast, resident)), has poll recipients' bare replies count as votes, and enqueues chunk
jobs of about CHUNK rows in one enqueue_many. A broadcast not yet due, or held by quiet hours,
goes back to the outbox until it is.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rq import Queue, get_current_job
from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.orm import Session

from storage import broadcasts as store
from storage.conversations import Expectation, ExpectKind, ensure_conversations
from storage.db import insert_ignoring_conflicts
from storage.models import Broadcast, Conversation, Delivery, Poll, Resident, aware, utcnow
from storage.outbox import add_outbox
from worker import context
from worker.broadcast import quiet, send_chunk

log = logging.getLogger(__name__)

CHUNK = 100

JOB_OPTIONS: dict[str, Any] = {"result_ttl": 600, "failure_ttl": 7 * 24 * 3600, "timeout": 3600}


def _current_queue() -> Queue | None:
    job = get_current_job()
    if job is None:
        return None
    return Queue(job.origin, connection=job.connection)


def prepare_broadcast(broadcast_id: int) -> str:
    """RQ job: create the delivery rows and enqueue the chunks."""
    return prepare(context.get(), broadcast_id, _current_queue())


def prepare(ctx: context.WorkerContext, broadcast_id: int, q: Queue | None) -> str:
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.status != "scheduled":
            return "skipped"  # prepared already, canceled, or gone
        later = _not_yet(ctx, broadcast, now)
        if later is not None:
            add_outbox(session, "prepare_broadcast", broadcast_id, not_before=later)
            log.info("broadcast %s waits until %s", broadcast_id, later.isoformat())
            return "deferred"
        # Claim the preparation: a second prepare job (retry, sweeper) finds it taken.
        claimed = session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
            .values(status="sending", prepared_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return "skipped"
        started = time.perf_counter()
        recipients = fan_out(session, broadcast, now)
        session.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(recipients=recipients)
        )
        if broadcast.kind == "poll" and broadcast.poll_id is not None:
            expect_answers(session, broadcast, now)
        ranges = chunk_ranges(session, broadcast_id)
        if not ranges:
            store.finish_if_complete(session, broadcast_id, now)
        log.info(
            "broadcast %s: %d delivery rows in %.2fs, %d chunks",
            broadcast_id,
            recipients,
            time.perf_counter() - started,
            len(ranges),
        )
    if ranges and q is not None:
        enqueue_chunks(q, broadcast_id, ranges, ahead=broadcast.urgent)
    # Without a queue (or if this process dies here) the sweeper enqueues the chunks.
    return "prepared"


def _not_yet(ctx: context.WorkerContext, broadcast: Broadcast, now: datetime) -> datetime | None:
    if broadcast.send_at is not None and aware(broadcast.send_at) > now:
        return aware(broadcast.send_at)
    return quiet(ctx, broadcast, now)


def fan_out(session: Session, broadcast: Broadcast, now: datetime) -> int:
    """One INSERT ... SELECT: a pending delivery row per recipient; returns the count."""
    ids = store.recipients_query(broadcast).subquery()
    rows = select(
        literal(broadcast.id).label("broadcast_id"),
        ids.c.id,
        literal("pending").label("status"),
        literal(0).label("attempts"),
        literal(now).label("updated_at"),
    ).where(ids.c.id.is_not(None))  # a WHERE keeps SQLite's upsert parser unambiguous
    columns = ["broadcast_id", "resident_id", "status", "attempts", "updated_at"]
    session.execute(insert_ignoring_conflicts(Delivery).from_select(columns, rows))
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.broadcast_id == broadcast.id)
        )
        or 0
    )


def expect_answers(session: Session, broadcast: Broadcast, now: datetime) -> None:
    """A bare reply from a recipient is their vote: set Conversation.expect for all of them."""
    poll = session.get(Poll, broadcast.poll_id)
    if poll is None:
        return
    until = aware(poll.closes_at) if poll.closes_at else now + store.POLL_ANSWER_WINDOW
    expect = Expectation(ExpectKind.POLL, poll.id, until).to_json()
    recipients = select(Delivery.resident_id).where(Delivery.broadcast_id == broadcast.id)
    ensure_conversations(session, Resident.id.in_(recipients))
    session.execute(
        update(Conversation)
        .where(Conversation.resident_id.in_(recipients))
        .values(expect=expect)
        .execution_options(synchronize_session=False)
    )


def chunk_ranges(
    session: Session, broadcast_id: int, *, only_due: datetime | None = None
) -> list[tuple[int, int]]:
    """Id ranges of about CHUNK delivery rows (pending and due ones only, with only_due).

    The database numbers the rows and returns each chunk's first and last id: a city-wide
    broadcast's million ids never come into this process, only its 10,000 ranges."""
    numbered = select(
        Delivery.id.label("id"),
        ((func.row_number().over(order_by=Delivery.id) - 1) // CHUNK).label("chunk"),
    ).where(Delivery.broadcast_id == broadcast_id)
    if only_due is not None:
        numbered = numbered.where(
            Delivery.status == "pending",
            or_(Delivery.retry_at.is_(None), Delivery.retry_at <= only_due),
        )
    rows = numbered.subquery()
    ranges = session.execute(
        select(func.min(rows.c.id), func.max(rows.c.id))
        .group_by(rows.c.chunk)
        .order_by(func.min(rows.c.id))
    ).tuples()
    return [(first, last) for first, last in ranges]


def enqueue_chunks(
    q: Queue, broadcast_id: int, ranges: Iterable[tuple[int, int]], *, ahead: bool = False
) -> int:
    """One job per range; an urgent broadcast's (ahead) go to the front of the queue, before
    the chunks of broadcasts queued earlier, in their own order."""
    tag = uuid.uuid4().hex[:8]
    ordered = list(ranges)
    if ahead:
        ordered.reverse()  # each one is pushed to the front: the first range last
    jobs = [
        Queue.prepare_data(
            send_chunk,
            args=(broadcast_id, first, last),
            job_id=f"bc{broadcast_id}-{first}-{last}-{tag}",
            at_front=ahead,
            **JOB_OPTIONS,
        )
        for first, last in ordered
    ]
    for start in range(0, len(jobs), 1000):
        q.enqueue_many(jobs[start : start + 1000])
    return len(jobs)
