"""The per-process sending machinery of broadcasts: send threads, limiter, recorder, liveness.

Chunk jobs (worker.broadcast) claim rows and hand them to the Sending of their process; its
threads send them through the shared rate limiter and a recorder thread writes the outcomes in
batches. Each Sending keeps a liveness key in Redis, which the sweeper reads to tell a claimed
row of a live worker from one of a dead worker.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import ceil
from typing import Protocol

import redis

from worker import context
from worker.ratelimit import account_limiter
from worker.sender import SendResult

log = logging.getLogger(__name__)

RECORD_BATCH = 200  # most outcomes written in one transaction
# Each worker refreshes its liveness key (Config.worker_alive_ttl seconds) every third of its
# TTL; a missing key means the worker that claimed a row is gone.
ALIVE_KEY = "mibarrio:alive:{}"

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


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
class SendOutcome:
    delivery_id: int
    resident_id: int
    result: SendResult
    broadcast_id: int
    chunk: tuple[int, int]
    channel: str | None = None
    segments: int | None = None
    attempts: int = 1


class Chunk(Protocol):
    """What hands rows over: it sends one, and turns a send that blew up into an outcome."""

    def send_one(self, item: Outgoing) -> SendOutcome: ...

    def outcome(self, item: Outgoing, result: SendResult) -> SendOutcome: ...


# Writes a batch of outcomes in one transaction (worker.broadcast.record).
Record = Callable[[context.WorkerContext, list[SendOutcome]], None]


def _worker_id() -> str:
    """This process's id (recomputed after a fork, so children never share their parent's)."""
    global WORKER_ID
    if f":{os.getpid()}:" not in WORKER_ID:
        WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    return WORKER_ID


class Sending:
    """One per process: the send threads, the shared limiter, the recorder, a liveness key.

    Chunk jobs claim rows and hand them over; a chunk job returns once its rows are all in
    flight, so the next chunk fills threads the last one no longer needs. A recorder thread
    writes outcomes in batches. Rows stay 'sending' until written: if the process dies, the
    sweeper finds them (their worker's liveness key is gone) and marks them unknown.
    """

    def __init__(self, ctx: context.WorkerContext, connection: redis.Redis, record: Record) -> None:
        self.ctx = ctx
        self.connection = connection
        self.record = record
        rate = ctx.config.send_rate
        self.limiter = account_limiter(connection, rate)
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
        self._outcomes: queue.SimpleQueue[SendOutcome | None] = queue.SimpleQueue()
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

    def submit(self, chunk: Chunk, item: Outgoing) -> None:
        with self._cond:
            self._in_flight += 1
            self._unrecorded += 1
        self.pool.submit(self._run, chunk, item)

    def done(self, outcome: SendOutcome) -> None:
        """An outcome reached without a send (the resident left, for instance)."""
        with self._cond:
            self._unrecorded += 1
        self._outcomes.put(outcome)

    def _run(self, chunk: Chunk, item: Outgoing) -> None:
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

    def _write(self, batch: list[SendOutcome]) -> None:
        for attempt in range(1, 11):
            try:
                self.record(self.ctx, batch)
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


def sending_for(ctx: context.WorkerContext, connection: redis.Redis, record: Record) -> Sending:
    """The Sending of this (context, Redis connection): one per worker process in practice."""
    key = (id(ctx), id(connection))
    with _sendings_lock:
        sending = _sendings.get(key)
        if sending is None or sending.ctx is not ctx or sending.connection is not connection:
            sending = _sendings[key] = Sending(ctx, connection, record)
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
