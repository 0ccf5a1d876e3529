"""Broadcast jobs: prepare (fan-out to delivery rows), send chunks, and sweep up after crashes.

- prepare_broadcast: one INSERT ... SELECT writes a delivery row per recipient (the database
  allows one per (broadcast, resident)); chunk jobs of about 100 rows go to RQ in one
  enqueue_many.
- send_chunk: claims rows with a conditional UPDATE (pending -> sending) a few at a time, sends
  them from a thread pool through the shared rate limiter, and records the outcomes. A re-run
  chunk, a retried job or two workers never send a row twice.
- sweep: rows claimed by a worker that died become "unknown" (they may have gone out, so they
  are never resent blindly) and chunks with pending rows are enqueued again when nothing else
  would pick them up. It reads the database and this module's own liveness keys, not RQ's
  registries, so a SIGKILLed worker costs seconds instead of RQ's abandoned-job timeout.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

import redis
from rq import Queue, get_current_job
from sqlalchemy import and_, bindparam, func, literal, literal_column, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.types import JSON

from bot import channels
from bot.broadcasts import Content, render_broadcast
from bot.notify import channel_for
from storage import broadcasts as store
from storage.models import (
    Broadcast,
    Conversation,
    Delivery,
    OutboxEntry,
    Poll,
    Resident,
    utcnow,
)
from storage.queries import add_outbox
from worker import context
from worker.ratelimit import RateLimiter
from worker.sender import WHATSAPP_WINDOW_CODE, SendResult

log = logging.getLogger(__name__)

CHUNK = 100
RETRY_DELAYS = [5, 15, 45, 120, 300]  # seconds, for 429/20429, with +-50 % jitter
MAX_ATTEMPTS = 6
# Each worker refreshes its liveness key (ALIVE_KEY, Config.worker_alive_ttl seconds) every
# third of its TTL; a missing key means the worker that claimed a row is gone. Without Redis
# to ask, a claimed row this old is taken as lost.
HARD_STALE = timedelta(minutes=10)
RECORD_BATCH = 200  # most outcomes written in one transaction
# Pace a little under SEND_RATE: network jitter must not push a one-second window over it.
RATE_HEADROOM = 0.98
ALIVE_KEY = "mibarrio:alive:{}"

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

JOB_OPTIONS: dict[str, Any] = {"result_ttl": 600, "failure_ttl": 7 * 24 * 3600, "timeout": 3600}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _worker_id() -> str:
    """This process's id (recomputed after a fork, so children never share their parent's)."""
    global WORKER_ID
    if f":{os.getpid()}:" not in WORKER_ID:
        WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    return WORKER_ID


# --- per-process sending machinery --------------------------------------------------------


class Sending:
    """One per process: the send threads, the shared limiter, the recorder, a liveness key.

    Chunk jobs claim rows and hand them over; a chunk job returns once its rows are all in
    flight, so the next chunk fills threads the last one no longer needs. A recorder thread
    writes outcomes in batches. Rows stay 'sending' until written: if the process dies, the
    sweeper finds them (their worker's liveness key is gone) and marks them unknown.
    """

    def __init__(self, ctx: context.WorkerContext, connection: redis.Redis) -> None:
        self.ctx = ctx
        self.connection = connection
        rate = ctx.config.send_rate
        self.limiter = RateLimiter(connection, rate * RATE_HEADROOM)
        threads = ctx.config.send_threads
        if rate > 0:
            # Enough requests in flight to keep the rate, few enough that a crash leaves few
            # claimed rows behind (each thread holds at most one slot booked ahead).
            threads = min(threads, max(2, ceil(rate / 2)))
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")
        self.worker_id = f"{_worker_id()}:{len(_sendings)}"
        warm = getattr(ctx.transport, "warm", None)
        if warm is not None:
            warm()  # twilio imports its API modules on first use: once, here
        self._cond = threading.Condition()
        self._in_flight = 0  # handed to a send thread, not finished
        self._unrecorded = 0  # handed over, outcome not yet written
        self._outcomes: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._beat()
        self._heart = threading.Thread(target=self._heartbeat, name="alive", daemon=True)
        self._heart.start()
        self._recorder = threading.Thread(target=self._record_loop, name="record", daemon=True)
        self._recorder.start()

    # -- liveness --------------------------------------------------------------------------

    def _beat(self) -> None:
        ttl = max(1, int(self.ctx.config.worker_alive_ttl))
        self.connection.set(ALIVE_KEY.format(self.worker_id), "1", ex=ttl)

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(self.ctx.config.worker_alive_ttl / 3, 0.3)):
            try:
                self._beat()
            except redis.RedisError as exc:
                log.warning("liveness key not refreshed: %s", exc)

    # -- flow control ----------------------------------------------------------------------

    def wait_free(self, wanted: int) -> int:
        """Block until `wanted` send threads are free (or all are); how many are free."""
        wanted = min(wanted, self.threads)
        with self._cond:
            self._cond.wait_for(lambda: self.threads - self._in_flight >= wanted)
            return self.threads - self._in_flight

    def submit(self, chunk: _Chunk, item: Outgoing) -> None:
        with self._cond:
            self._in_flight += 1
            self._unrecorded += 1
        self.pool.submit(self._run, chunk, item)

    def done(self, outcome: Outcome) -> None:
        """An outcome reached without a send (the resident left, for instance)."""
        with self._cond:
            self._unrecorded += 1
        self._outcomes.put(outcome)

    def _run(self, chunk: _Chunk, item: Outgoing) -> None:
        try:
            outcome = chunk.send_one(item)
        except Exception as exc:  # noqa: BLE001 - never lose track of a claimed row
            log.exception("delivery %s: sending failed", item.delivery_id)
            outcome = chunk.outcome(item, SendResult("unknown", detail=repr(exc)))
        self._outcomes.put(outcome)
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every row handed over has been sent and its outcome written."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unrecorded == 0, timeout)

    # -- recording -------------------------------------------------------------------------

    def _record_loop(self) -> None:
        """Group commit: write whatever has arrived as soon as the last write is done.

        Light load gives small, immediate writes; heavy load gives bigger batches. An outcome
        waits in memory no longer than one write, so a crash loses track of few sent rows.
        """
        while True:
            first = self._outcomes.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < RECORD_BATCH:
                try:
                    item = self._outcomes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Outcome]) -> None:
        for attempt in range(1, 11):
            try:
                record(self.ctx, batch)
                break
            except Exception:  # noqa: BLE001 - keep the batch and try again
                log.exception("could not record %d outcomes (attempt %d)", len(batch), attempt)
                time.sleep(min(attempt, 5))
        else:
            log.error("gave up recording %d outcomes; the sweeper will mark them", len(batch))
        with self._cond:
            self._unrecorded -= len(batch)
            self._cond.notify_all()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self._outcomes.put(None)
        self._recorder.join()
        self._stop.set()
        try:
            self.connection.delete(ALIVE_KEY.format(self.worker_id))
        except redis.RedisError:
            pass


_sendings: dict[tuple[int, int], Sending] = {}
_sendings_lock = threading.Lock()


def sending_for(ctx: context.WorkerContext, connection: redis.Redis) -> Sending:
    """The Sending of this (context, Redis connection): one per worker process in practice."""
    key = (id(ctx), id(connection))
    with _sendings_lock:
        sending = _sendings.get(key)
        if sending is None or sending.ctx is not ctx or sending.connection is not connection:
            sending = _sendings[key] = Sending(ctx, connection)
        return sending


def wait_idle(timeout: float | None = None) -> bool:
    """Wait for this process's broadcast sends to finish and be written (burst mode, tests)."""
    with _sendings_lock:
        sendings = list(_sendings.values())
    return all(s.wait_idle(timeout) for s in sendings)


def shutdown() -> None:
    """Finish this process's sends, then stop their threads and liveness keys."""
    with _sendings_lock:
        sendings = list(_sendings.values())
        _sendings.clear()
    for sending in sendings:
        sending.close()


def _current_queue() -> Queue | None:
    job = get_current_job()
    if job is None:
        return None
    return Queue(job.origin, connection=job.connection)


def quiet(ctx: context.WorkerContext, broadcast: Broadcast, now: datetime) -> datetime | None:
    """When a non-urgent broadcast may go on, if now is in quiet hours; else None."""
    if broadcast.urgent:
        return None
    hours = store.QuietHours.parse(ctx.config.quiet_hours)
    return hours.defer(now) if hours.contains(now) else None


# --- prepare ------------------------------------------------------------------------------


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
        enqueue_chunks(q, broadcast_id, ranges)
    # Without a queue (or if this process dies here) the sweeper enqueues the chunks.
    return "prepared"


def _not_yet(ctx: context.WorkerContext, broadcast: Broadcast, now: datetime) -> datetime | None:
    if broadcast.send_at is not None and _aware(broadcast.send_at) > now:
        return _aware(broadcast.send_at)
    return quiet(ctx, broadcast, now)


def _insert_ignoring_conflicts(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


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
    stmt = (
        _insert_ignoring_conflicts(session, Delivery)
        .from_select(["broadcast_id", "resident_id", "status", "attempts", "updated_at"], rows)
        .on_conflict_do_nothing()
    )
    session.execute(stmt)
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
    until = _aware(poll.closes_at) if poll.closes_at else now + store.POLL_ANSWER_WINDOW
    expect = {"kind": "poll", "id": poll.id, "until": until.isoformat()}
    recipients = select(Delivery.resident_id).where(Delivery.broadcast_id == broadcast.id)
    missing = select(
        Delivery.resident_id,
        literal({}, JSON).label("slots"),
        literal(now).label("updated_at"),
    ).where(
        Delivery.broadcast_id == broadcast.id,
        ~select(Conversation.resident_id)
        .where(Conversation.resident_id == Delivery.resident_id)
        .exists(),
    )
    session.execute(
        _insert_ignoring_conflicts(session, Conversation)
        .from_select(["resident_id", "slots", "updated_at"], missing)
        .on_conflict_do_nothing()
    )
    session.execute(
        update(Conversation)
        .where(Conversation.resident_id.in_(recipients))
        .values(expect=expect)
        .execution_options(synchronize_session=False)
    )


def chunk_ranges(
    session: Session, broadcast_id: int, *, only_due: datetime | None = None
) -> list[tuple[int, int]]:
    """Id ranges of about CHUNK delivery rows (pending and due ones only, with only_due)."""
    query = select(Delivery.id).where(Delivery.broadcast_id == broadcast_id)
    if only_due is not None:
        query = query.where(
            Delivery.status == "pending",
            or_(Delivery.retry_at.is_(None), Delivery.retry_at <= only_due),
        )
    ids = list(session.scalars(query.order_by(Delivery.id)))
    return [(ids[i], ids[min(i + CHUNK, len(ids)) - 1]) for i in range(0, len(ids), CHUNK)]


def enqueue_chunks(q: Queue, broadcast_id: int, ranges: Iterable[tuple[int, int]]) -> int:
    tag = uuid.uuid4().hex[:8]
    jobs = [
        Queue.prepare_data(
            send_chunk,
            args=(broadcast_id, first, last),
            job_id=f"bc{broadcast_id}-{first}-{last}-{tag}",
            **JOB_OPTIONS,
        )
        for first, last in ranges
    ]
    for start in range(0, len(jobs), 1000):
        q.enqueue_many(jobs[start : start + 1000])
    return len(jobs)


# --- send ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    resident_id: int
    attempts: int
    to: str
    body: str
    channel: str
    cost: int
    phone: str
    language: str | None


@dataclass
class Outcome:
    delivery_id: int
    resident_id: int
    result: SendResult
    broadcast_id: int
    chunk: tuple[int, int]
    channel: str | None = None
    segments: int | None = None
    attempts: int = 1


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
    sending = sending_for(ctx, connection)
    claimed = _Chunk(ctx, sending, content, broadcast_id, first_id, last_id).run()
    if wait:
        sending.wait_idle()
    return f"claimed {claimed}"


class _Chunk:
    """One chunk: claim rows as send threads free up and hand them over."""

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
        self.bodies: dict[tuple[str, str], tuple[str, int]] = {}
        cfg = ctx.config
        senders = (cfg.twilio_whatsapp_from, cfg.twilio_messaging_service_sid)
        self.whatsapp_sender = any(senders) or not cfg.twilio_configured

    def run(self) -> int:
        """Claim and hand over until the range has no pending row left; how many claimed."""
        threads = self.sending.threads
        total = 0
        while True:
            free = self.sending.wait_free(max(1, threads // 4))
            claimed = self.claim(free)
            total += len(claimed)
            for item in claimed:
                if isinstance(item, Outcome):
                    self.sending.done(item)
                else:
                    self.sending.submit(self, item)
            if len(claimed) < free:
                return total

    def outcome(self, item: Outgoing, result: SendResult, **extra: Any) -> Outcome:
        return Outcome(
            item.delivery_id,
            item.resident_id,
            result,
            self.broadcast_id,
            (self.first_id, self.last_id),
            attempts=item.attempts,
            **extra,
        )

    # -- claiming --------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Outgoing | Outcome]:
        """Take up to `limit` pending rows of the range (pending -> sending) in one UPDATE."""
        now = utcnow()
        with self.ctx.sessions() as session, session.begin():
            candidates = (
                select(Delivery.id)
                .where(
                    Delivery.broadcast_id == self.broadcast_id,
                    Delivery.id.between(self.first_id, self.last_id),
                    Delivery.status == "pending",
                    or_(Delivery.retry_at.is_(None), Delivery.retry_at <= now),
                )
                .order_by(Delivery.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            # Two statements: PostgreSQL may run an IN (... LIMIT n FOR UPDATE) subquery of an
            # UPDATE more than once and so claim far more than n rows.
            ids = list(session.scalars(candidates))
            if not ids:
                return []
            rows = session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == "pending")
                .values(
                    status="sending",
                    attempts=Delivery.attempts + 1,
                    claimed_at=now,
                    claimed_by=self.sending.worker_id,
                    updated_at=now,
                )
                .returning(Delivery.id, Delivery.resident_id, Delivery.attempts)
                .execution_options(synchronize_session=False)
            ).all()
            if not rows:
                return []
            residents = {
                r.id: r
                for r in session.execute(
                    select(
                        Resident.id,
                        Resident.phone,
                        Resident.language,
                        Resident.status,
                        Resident.topics,
                        Resident.last_channel,
                        Resident.whatsapp_last_inbound_at,
                        Resident.number_invalid_at,
                    ).where(Resident.id.in_([row.resident_id for row in rows]))
                )
            }
        topic = store.topic_for(self.content.kind)
        items: list[Outgoing | Outcome] = []
        for delivery_id, resident_id, attempts in sorted(rows):
            resident = residents.get(resident_id)
            if (
                resident is None
                or resident.status != "active"
                or not resident.phone
                or resident.number_invalid_at is not None
                or topic not in (resident.topics or [])
            ):
                gone = resident is not None and resident.status == "opted_out"
                items.append(
                    Outcome(
                        delivery_id,
                        resident_id,
                        SendResult("opted_out" if gone else "skip"),
                        self.broadcast_id,
                        (self.first_id, self.last_id),
                        attempts=attempts,
                    )
                )
                continue
            channel = channel_for(resident, now)  # type: ignore[arg-type]
            if channel == "whatsapp" and not self.whatsapp_sender:
                channel = "sms"  # no WhatsApp number configured: the same phone by SMS
            body, cost = self.body(resident.language, channel)
            to = resident.phone if channel == "sms" else f"whatsapp:{resident.phone}"
            items.append(
                Outgoing(
                    delivery_id,
                    resident_id,
                    attempts,
                    to,
                    body,
                    channel,
                    cost,
                    resident.phone,
                    resident.language,
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

    def send_one(self, item: Outgoing) -> Outcome:
        warm = getattr(self.ctx.transport, "warm", None)
        if warm is not None:
            warm()  # before taking a slot: the slot's time is when the request leaves
        try:
            self.sending.limiter.acquire(item.cost)
        except redis.RedisError as exc:
            # Nothing went out: the row goes back to pending and is tried again later.
            return self.outcome(item, SendResult("retry", detail=str(exc)))
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


def record(ctx: context.WorkerContext, outcomes: list[Outcome]) -> None:
    """Write a batch of outcomes in one transaction (rows still 'sending' or 'unknown')."""
    if not outcomes:
        return
    now = utcnow()
    updates: list[dict[str, Any]] = []
    opted_out: list[int] = []
    invalid: list[int] = []
    retries: dict[tuple[int, int, int], datetime] = {}
    for o in outcomes:
        r = o.result
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
    with ctx.sessions() as session, session.begin():
        session.connection().execute(
            update(Delivery)
            .where(
                Delivery.id == bindparam("did"),
                # literal values: an expanding IN cannot go into executemany()
                Delivery.status.in_([literal_column("'sending'"), literal_column("'unknown'")]),
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
        if opted_out:
            session.execute(
                update(Resident)
                .where(Resident.id.in_(opted_out), Resident.status == "active")
                .values(status="opted_out", opted_out_at=now)
            )
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
        elif entry.not_before is not None and _aware(entry.not_before) > due:
            entry.not_before = due


def retry_time(attempts: int, now: datetime) -> datetime | None:
    """When a rate-limited row may go again (jittered), or None when out of attempts."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]
    return now + timedelta(seconds=delay * (0.5 + random.random()))


# --- sweeper ------------------------------------------------------------------------------


@dataclass
class SweepResult:
    resolved: int = 0  # claimed rows of dead workers marked unknown
    enqueued: int = 0  # chunk jobs enqueued again (or sent inline)
    prepared: int = 0  # prepare jobs enqueued again (or run inline)
    finished: int = 0  # broadcasts marked done
    waiting: int = 0  # rows claimed by workers that are alive (or not yet known dead)


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
    idle = q is None or q.count == 0
    work: list[tuple[int, list[tuple[int, int]]]] = []
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
                work.append((broadcast_id, ranges))
        stuck = _stuck_preparations(session, now) if idle else []
    for broadcast_id in stuck:
        if q is not None:
            q.enqueue_call(
                prepare_broadcast,
                args=(broadcast_id,),
                job_id=f"prepare-{broadcast_id}-{uuid.uuid4().hex[:8]}",
                **JOB_OPTIONS,
            )
        else:
            outcome = prepare(ctx, broadcast_id, None)
            if outcome == "prepared":
                with ctx.sessions() as session:
                    work.append((broadcast_id, chunk_ranges(session, broadcast_id, only_due=now)))
        result.prepared += 1
    for broadcast_id, ranges in work:
        if q is not None:
            result.enqueued += enqueue_chunks(q, broadcast_id, ranges)
        elif connection is not None:
            for first, last in ranges:
                run_chunk(ctx, connection, broadcast_id, first, last, wait=True)
                result.enqueued += 1
    if result.resolved or result.enqueued or result.prepared:
        log.info(
            "sweeper: %d lost claims marked unknown, %d chunks and %d preparations enqueued again",
            result.resolved,
            result.enqueued,
            result.prepared,
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
    owners = list(session.scalars(select(Delivery.claimed_by).where(claimed).distinct()))
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
    lost = or_(Delivery.claimed_at < now - HARD_STALE, Delivery.claimed_by.is_(None))
    if dead:
        lost = or_(lost, Delivery.claimed_by.in_(dead))
    resolved = session.execute(
        update(Delivery)
        .where(claimed, lost)
        .values(status="unknown", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    waiting = session.scalar(select(func.count()).select_from(Delivery).where(claimed)) or 0
    return int(resolved or 0), int(waiting)


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
    return [b.id for b in scheduled if b.id not in waiting and _aware(b.created_at) < stale]


JOBS: dict[str, Callable[..., Any]] = {
    "prepare_broadcast": prepare_broadcast,
    "send_chunk": send_chunk,
}
