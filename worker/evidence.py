"""Evidence work for the worker: keeping the rollups current, and building exports.

The worker's loop asks for a refresh after each sweep, at most every REFRESH_EVERY: with RQ
it is a job with a fixed id (so refreshes never pile up) on the evidence queue, which its own
process serves (`mibarrio worker --evidence`) so that sending never waits behind it; without
RQ it runs right there.
An export is a row in evidence_exports that a job fills in, reporting how far it got."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta
from pathlib import Path

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import update

from bot.evidence import memo
from bot.evidence.export import export
from storage import rollups
from storage.db import transaction
from storage.models import EvidenceExport, utcnow
from worker import context
from worker.queues import evidence_queue

log = logging.getLogger(__name__)

REFRESH_EVERY = timedelta(seconds=60)
REFRESH_JOB = "evidence-refresh"
JOB_OPTIONS = {"result_ttl": 600, "failure_ttl": 7 * 24 * 3600, "timeout": 6 * 3600}


def refresh_rollups() -> str:
    """RQ job: bring the rollups up to date (the first run builds them)."""
    return run_refresh(context.get())


def run_refresh(ctx: context.WorkerContext, now: datetime | None = None) -> str:
    with transaction(ctx.sessions) as session:
        done = rollups.refresh(session, now)
        # The views most asked for, from the refreshed rollups, committed with them.
        memo.warm(session)
    if done.rebuilt:
        return "rebuilt"
    return f"{done.residents} residents, {done.days} days, {done.reports} reports"


def due(ctx: context.WorkerContext, now: datetime) -> bool:
    with ctx.sessions() as session:
        last = rollups.built_at(session)
    return last is None or now - last >= REFRESH_EVERY


def keep_current(ctx: context.WorkerContext, q: Queue | None, now: datetime) -> bool:
    """Refresh the rollups if due: enqueued with RQ, here without. True if one was started."""
    if not due(ctx, now):
        return False
    if q is None:
        run_refresh(ctx, now)
        return True
    slow = evidence_queue(q)
    try:
        status = Job.fetch(REFRESH_JOB, connection=q.connection).get_status()
    except NoSuchJobError:
        status = None
    if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return False
    slow.enqueue_call(refresh_rollups, job_id=REFRESH_JOB, **JOB_OPTIONS)  # type: ignore[arg-type]
    return True


def keep_current_quietly(ctx: context.WorkerContext, q: Queue | None) -> None:
    """keep_current for the worker's loop: a failure is logged, never raised (sending goes on)."""
    try:
        keep_current(ctx, q, utcnow())
    except Exception:  # noqa: BLE001 - evidence must never hold up sending
        log.exception("evidence rollups not refreshed; trying again at the next sweep")


def build_export(export_id: int) -> str:
    """RQ job: write an export's files under EXPORTS_DIR/<id>, recording progress as it goes."""
    ctx = context.get()
    return run_export(ctx, export_id, Path(ctx.config.exports_dir))


def run_export(ctx: context.WorkerContext, export_id: int, out_root: Path) -> str:
    with ctx.sessions() as session:
        job = session.get(EvidenceExport, export_id)
        if job is None or job.status == "done":
            return "skipped"
        fmt, first, last, step, free_text = (
            job.format, job.first, job.last, job.step, job.free_text
        )  # fmt: skip
    out_dir = out_root / str(export_id)

    try:
        with ctx.sessions() as session:

            def progress(done: int, total: int) -> None:
                # In the export's own session: on SQLite a second transaction would wait
                # for this one's write lock. Committing also lets writers in between places.
                session.execute(
                    update(EvidenceExport)
                    .where(EvidenceExport.id == export_id)
                    .values(status="running", done=done, total=total, path=str(out_dir))
                )
                session.commit()

            written = export(
                session, out_dir, first, last, step, fmt, free_text=free_text, progress=progress
            )
    except Exception as exc:  # noqa: BLE001 - recorded for the page, then raised for RQ
        with transaction(ctx.sessions) as session:
            session.execute(
                update(EvidenceExport)
                .where(EvidenceExport.id == export_id)
                .values(status="failed", error=f"{exc}\n{traceback.format_exc(limit=3)}")
            )
        raise
    with transaction(ctx.sessions) as session:
        session.execute(
            update(EvidenceExport)
            .where(EvidenceExport.id == export_id)
            .values(status="done", finished_at=utcnow(), path=str(out_dir))
        )
    return ", ".join(f"{name}: {n}" for name, n in written.items())
