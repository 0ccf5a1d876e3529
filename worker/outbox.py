"""The relay: moves due outbox rows into RQ. Redis being down delays messages, never loses them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rq import Queue
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxEntry, utcnow
from worker.jobs import AHEAD_JOBS, EVIDENCE_JOBS, JOBS, TIMEOUTS
from worker.queues import evidence_queue

log = logging.getLogger(__name__)

BATCH = 500


def relay(
    sessions: sessionmaker[Session], q: Queue, limit: int = BATCH, *, now: datetime | None = None
) -> int:
    """Enqueue up to `limit` due outbox rows; return how many were handed to RQ.

    Rows are marked relayed in the same transaction that read them, committed only after
    RQ accepted the jobs: if Redis fails, the transaction rolls back and the rows wait.
    If the commit fails after enqueueing, the jobs run twice at worst, and jobs are idempotent.
    """
    now = now or utcnow()
    with sessions() as session, session.begin():
        stmt = (
            select(OutboxEntry)
            .where(
                OutboxEntry.relayed_at.is_(None),
                or_(OutboxEntry.not_before.is_(None), OutboxEntry.not_before <= now),
            )
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        entries = list(session.scalars(stmt))
        if not entries:
            return 0
        jobs: dict[bool, list[Any]] = {False: [], True: []}
        for entry in entries:
            func = JOBS.get(entry.job)
            if func is None:
                log.error("outbox row %s names unknown job %r; skipped", entry.id, entry.job)
            else:
                jobs[entry.job in EVIDENCE_JOBS].append(
                    Queue.prepare_data(
                        func,
                        args=tuple(entry.args),
                        job_id=f"outbox-{entry.id}",
                        result_ttl=3600,
                        failure_ttl=7 * 24 * 3600,
                        timeout=TIMEOUTS.get(entry.job, 600),
                        at_front=entry.job in AHEAD_JOBS,
                    )
                )
            entry.relayed_at = now
        if jobs[False]:
            q.enqueue_many(jobs[False])
        if jobs[True]:
            evidence_queue(q).enqueue_many(jobs[True])
        return len(jobs[False]) + len(jobs[True])


def pending(sessions: sessionmaker[Session]) -> int:
    """Outbox rows not yet relayed (due or not)."""
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.relayed_at.is_(None))
            )
            or 0
        )
