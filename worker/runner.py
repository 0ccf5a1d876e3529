"""Running a worker process: the outbox relay beside an RQ worker that outlives Redis outages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from rq import SimpleWorker
from rq.exceptions import StopRequested

from bot.config import Config
from storage.broadcasts import QuietHours
from storage.models import utcnow
from storage.residents import purge_unfinished_signups
from storage.statuses import apply_early_statuses
from worker import context, evidence, pool
from worker.courses import send_due_lessons
from worker.followups import send_due_followups
from worker.outbox import relay
from worker.queues import (
    DEFAULT_QUEUE,
    EmbeddedRedis,
    connect,
    embedded_dir,
    evidence_queue,
    queue,
)
from worker.reconcile import reconcile
from worker.sweeper import sweep

log = logging.getLogger(__name__)

RELAY_INTERVAL = 1.0
PERIODIC_INTERVAL = 60.0
SWEEP_INTERVAL = 15.0
# Between pings while Redis is away (doubling up to the maximum).
REDIS_RETRY_MIN = 0.5
REDIS_RETRY_MAX = 5.0
# How long --burst waits, beyond the liveness TTL, for rows claimed by another worker.
SETTLE_SECONDS = 10.0
# How often the reader of RQ's command channel wakes up (RQ's own choice is 60 s).
COMMAND_WAKE = 1.0


def redis_url(config: Config) -> tuple[str, EmbeddedRedis | None]:
    """REDIS_URL, or the embedded server under instance/ (started here if nobody runs it)."""
    if config.redis_url:
        return config.redis_url, None
    embedded = EmbeddedRedis(embedded_dir())
    if embedded.alive():
        return embedded.url, None
    return embedded.start(), embedded


def run_worker(
    config: Config, *, burst: bool = False, queue_name: str | None = None, evidence: bool = False
) -> int:
    """A worker process: sending (the outbox relay, broadcasts, messages), or with evidence
    the slow evidence work alone (rollup refreshes and exports, from the evidence queue)."""
    url, owned = redis_url(config)
    conn = connect(url)
    ctx = context.build(config)
    context.use(ctx)
    q = queue(conn, queue_name or DEFAULT_QUEUE)
    try:
        if burst:
            drain(ctx, q)
            return 0
        if evidence:
            work_until_stopped(evidence_queue(q))
            return 0
        stop = threading.Event()
        relayer = threading.Thread(target=_relay_loop, args=(ctx, q, stop), daemon=True)
        relayer.start()
        work_until_stopped(q)
        stop.set()
        return 0
    finally:
        pool.shutdown()
        conn.close()
        if owned is not None:
            owned.stop()


class Worker(SimpleWorker):
    """RQ's SimpleWorker (jobs run in this process: sending is I/O, and a fork per job would
    also fork the database pool) that tells a stop someone asked for from a lost Redis."""

    stopping = False

    def subscribe(self) -> None:
        """RQ's command channel, its reader waking every COMMAND_WAKE seconds.

        RQ reads it from a thread that waits up to 60 s for a message, and redis-py 8 waits
        for that thread when the worker stops: when the thread had just read the reply to the
        stop's UNSUBSCRIBE (about every other stop), SIGTERM took a minute to end the process.
        """
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=COMMAND_WAKE,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    def request_stop(self, signum, frame) -> None:  # type: ignore[no-untyped-def]
        self.stopping = True
        try:
            super().request_stop(signum, frame)
        except redis.RedisError:
            raise StopRequested() from None  # Redis is away: nothing to tell it


def work_until_stopped(q, *, wait: Callable[[float], object] = time.sleep) -> int:  # type: ignore[no-untyped-def]
    """Run RQ workers one after another until SIGTERM/SIGINT; how many were started.

    RQ's worker quits when Redis goes away (its heartbeat raises). A Redis outage must not
    end the process (under `mibarrio run` that would stop the web app too), so this waits
    until Redis answers again and starts a new worker; the outbox relay and the database
    carry the messages meanwhile. A second signal while waiting stops at once, as in RQ.
    """
    started = 0
    pause = REDIS_RETRY_MIN
    while True:
        worker = Worker([q], connection=q.connection)
        started += 1
        try:
            worker.work(logging_level="INFO")
        except redis.RedisError as exc:
            log.warning("worker: redis unavailable (%s)", exc)
        if worker.stopping:
            return started
        log.warning("worker: redis lost; waiting for it to come back (the web app serves on)")
        try:
            while not _redis_answers(q.connection):
                wait(pause)
                pause = min(pause * 2, REDIS_RETRY_MAX)
        except StopRequested:
            return started
        log.info("worker: redis answers again; starting a new worker")
        pause = REDIS_RETRY_MIN


def _redis_answers(connection: redis.Redis) -> bool:
    try:
        return bool(connection.ping())
    except redis.RedisError:
        return False


class BurstWorker(SimpleWorker):
    """A burst worker without RQ's command channel (whose thread takes 1 s to stop)."""

    def subscribe(self) -> None:
        """Nothing to listen for: the burst ends as soon as the queue is empty."""


def periodic(ctx: context.WorkerContext) -> None:
    """Work that comes due with time rather than with a message."""
    send_due_followups(ctx.sessions, fold=ctx.config.gsm7_fold)
    send_due_lessons(
        ctx.sessions,
        quiet_hours=QuietHours.parse(ctx.config.quiet_hours),
        fold=ctx.config.gsm7_fold,
    )
    with ctx.sessions() as session, session.begin():
        applied = apply_early_statuses(session)
        purged = 0
        if ctx.config.signup_purge_days > 0:
            cutoff = utcnow() - timedelta(days=ctx.config.signup_purge_days)
            purged = purge_unfinished_signups(session, cutoff)
    reconcile(ctx)
    if applied:
        log.info("applied %d status callback(s) that came before their sid was stored", applied)
    if purged:
        log.info("deleted %d sign-up(s) that never got consent", purged)


def drain(ctx: context.WorkerContext, q) -> None:  # type: ignore[no-untyped-def]
    """Relay and run jobs until nothing due is left, broadcasts' stray chunks included."""
    periodic(ctx)
    settle_until = time.monotonic() + ctx.config.worker_alive_ttl + SETTLE_SECONDS
    rounds = 0
    queues = [q, evidence_queue(q)]  # one process here: sending first, then evidence
    while True:
        relayed = relay(ctx.sessions, q)
        if relayed or any(one.count for one in queues):
            BurstWorker(queues, connection=q.connection).work(burst=True, logging_level="WARNING")
        pool.wait_idle()  # chunk jobs return with their last sends still in flight
        swept = sweep(ctx, q)
        rounds += 1
        waiting = any(one.count for one in queues)
        if relayed or waiting or ((swept.enqueued or swept.prepared) and rounds < 50):
            continue
        if swept.waiting and time.monotonic() < settle_until:
            time.sleep(1.0)  # rows another worker claimed: wait for them or its death
            continue
        if reconcile(ctx).resent and rounds < 50:
            continue  # unknown sends (a dead worker's claims) due for reconciliation
        return


def _relay_loop(ctx: context.WorkerContext, q, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    next_periodic = next_sweep = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_periodic:
                periodic(ctx)
                next_periodic = time.monotonic() + PERIODIC_INTERVAL
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_INTERVAL
                sweep(ctx, q)
                evidence.keep_current_quietly(ctx, q)
            while relay(ctx.sessions, q):
                pass
        except redis.RedisError as exc:
            log.warning("outbox relay: redis unavailable (%s); messages wait in the outbox", exc)
        except Exception:  # noqa: BLE001 - the relay must keep going
            log.exception("outbox relay failed; retrying")
        stop.wait(RELAY_INTERVAL)
