"""Running a worker process: the outbox relay beside an RQ worker with the scheduler."""

from __future__ import annotations

import logging
import threading

import redis
from rq import SimpleWorker

from bot.config import Config
from worker import context
from worker.outbox import relay
from worker.queues import DEFAULT_QUEUE, EmbeddedRedis, connect, embedded_dir, queue

log = logging.getLogger(__name__)

RELAY_INTERVAL = 1.0


def redis_url(config: Config) -> tuple[str, EmbeddedRedis | None]:
    """REDIS_URL, or the embedded server under instance/ (started here if nobody runs it)."""
    if config.redis_url:
        return config.redis_url, None
    embedded = EmbeddedRedis(embedded_dir())
    if embedded.alive():
        return embedded.url, None
    return embedded.start(), embedded


def run_worker(config: Config, *, burst: bool = False, queue_name: str | None = None) -> int:
    url, owned = redis_url(config)
    conn = connect(url)
    ctx = context.build(config)
    context.use(ctx)
    q = queue(conn, queue_name or DEFAULT_QUEUE)
    try:
        if burst:
            drain(ctx, q)
            return 0
        stop = threading.Event()
        relayer = threading.Thread(target=_relay_loop, args=(ctx, q, stop), daemon=True)
        relayer.start()
        # SimpleWorker runs jobs in this process: sending is I/O, and a fork per job would
        # also fork the database pool.
        SimpleWorker([q], connection=conn).work(with_scheduler=True, logging_level="INFO")
        stop.set()
        return 0
    finally:
        conn.close()
        if owned is not None:
            owned.stop()


def drain(ctx: context.WorkerContext, q) -> None:  # type: ignore[no-untyped-def]
    """Relay and run jobs until nothing due is left."""
    while True:
        relayed = relay(ctx.sessions, q)
        SimpleWorker([q], connection=q.connection).work(burst=True, logging_level="WARNING")
        if relayed == 0 and q.count == 0:
            return


def _relay_loop(ctx: context.WorkerContext, q, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    while not stop.is_set():
        try:
            while relay(ctx.sessions, q):
                pass
        except redis.RedisError as exc:
            log.warning("outbox relay: redis unavailable (%s); messages wait in the outbox", exc)
        except Exception:  # noqa: BLE001 - the relay must keep going
            log.exception("outbox relay failed; retrying")
        stop.wait(RELAY_INTERVAL)
