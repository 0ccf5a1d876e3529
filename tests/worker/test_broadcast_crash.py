"""Broadcasts across real worker processes: SIGKILL in the middle, and two workers at once.

`mibarrio worker --burst` runs as a subprocess against the test database, a real Redis and the
local Twilio stand-in (answering after 50 ms, so a broadcast takes long enough to interrupt).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.db import make_engine, make_sessionmaker
from storage.models import Resident
from tests.factories import add_residents, announce, broadcast, deliveries, phones
from tests.helpers import worker_env
from tests.twilio_local import TwilioLocal
from worker import context as worker_context
from worker.fanout import chunk_ranges, enqueue_chunks, prepare
from worker.queues import queue

MIBARRIO = Path(sys.executable).parent / "mibarrio"
THREADS = 8
ALIVE_TTL = 3

# Worker processes, one of them SIGKILLed mid-broadcast.
pytestmark = pytest.mark.slow


@pytest.fixture
def tw() -> Iterator[TwilioLocal]:
    with TwilioLocal(delay=0.05) as server:
        yield server


@pytest.fixture
def db(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine_ = make_engine(db_url)
    yield make_sessionmaker(engine_)
    engine_.dispose()


def burst_env(db_url: str, redis_url: str, tw: TwilioLocal, tmp_path: Path) -> dict[str, str]:
    return worker_env(
        db_url,
        redis_url,
        tw,
        tmp_path,
        SEND_RATE="0",
        SEND_THREADS=str(THREADS),
        WORKER_ALIVE_TTL=str(ALIVE_TTL),
        QUIET_HOURS="off",
    )


def start_worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603
        [str(MIBARRIO), "worker", "--burst"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_after(proc: subprocess.Popen[str], tw: TwilioLocal, *, sent: int) -> None:
    """SIGKILL the worker once `sent` messages have reached the stand-in."""
    deadline = time.monotonic() + 30
    while tw.count < sent:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_sigkilled_worker_costs_no_duplicate_and_the_next_burst_finishes(
    db_url: str,
    db: sessionmaker[Session],
    redis_url: str,
    redis_conn: redis.Redis,
    tw: TwilioLocal,
    tmp_path: Path,
) -> None:
    ids = add_residents(db, 240) + add_residents(db, 60, language="ay")
    broadcast_id = announce(db)
    env = burst_env(db_url, redis_url, tw, tmp_path)

    kill_after(start_worker(env, tmp_path), tw, sent=80)
    killed_at = tw.count
    assert killed_at < 300, "the broadcast finished before the kill"

    started = time.monotonic()
    finish(start_worker(env, tmp_path))
    took = time.monotonic() - started
    assert took < 30, f"recovery took {took:.0f}s"

    sent = Counter(r["To"] for r in tw.requests)
    assert max(sent.values()) == 1, "a recipient got the broadcast twice"
    rows = deliveries(db, broadcast_id)
    assert set(rows) == set(ids)
    statuses = Counter(r.status for r in rows.values())
    assert set(statuses) <= {"queued", "unknown"}, statuses
    sids = {r["sid"] for r in tw.requests}
    by_phone = dict(zip(ids, phones_in_order(db, ids), strict=True))
    for resident_id, row in rows.items():
        if row.status == "queued":
            assert row.twilio_sid in sids and sent[by_phone[resident_id]] == 1
        else:  # in flight when the worker died: it may or may not have gone out
            assert row.twilio_sid is None and sent[by_phone[resident_id]] <= 1
    # Only what the dead worker had in flight (or sent but not yet written) is unknown.
    assert statuses["unknown"] <= 2 * THREADS, statuses
    assert broadcast(db, broadcast_id).status == "done"


def phones_in_order(db: sessionmaker[Session], ids: list[int]) -> list[str]:
    with db() as session:
        found = dict(session.execute(select(Resident.id, Resident.phone)).tuples().all())
    return [found[i] for i in ids]


def test_two_worker_processes_with_duplicate_jobs_send_each_message_once(
    db_url: str,
    db: sessionmaker[Session],
    redis_url: str,
    redis_conn: redis.Redis,
    tw: TwilioLocal,
    tmp_path: Path,
) -> None:
    add_residents(db, 200)
    broadcast_id = announce(db)
    cfg = Config(database_url=db_url, twilio_auth_token="t", secret_key="t", quiet_hours="off")
    ctx = worker_context.build(cfg)
    try:
        q = queue(redis_conn)
        assert prepare(ctx, broadcast_id, q) == "prepared"
        with ctx.sessions() as session:
            ranges = chunk_ranges(session, broadcast_id)
        enqueue_chunks(q, broadcast_id, ranges[::-1])  # every chunk twice
    finally:
        ctx.engine.dispose()

    env = burst_env(db_url, redis_url, tw, tmp_path)
    workers = [start_worker(env, tmp_path) for _ in range(2)]
    for proc in workers:
        finish(proc)

    assert tw.count == 200
    assert max(Counter(r["To"] for r in tw.requests).values()) == 1
    assert Counter(r.status for r in deliveries(db, broadcast_id).values()) == {"queued": 200}
    assert len(phones(db, list(deliveries(db, broadcast_id)))) == 200
    assert broadcast(db, broadcast_id).status == "done"


def test_rows_waiting_for_a_send_slot_survive_a_sigkill_and_unknowns_are_reconciled(
    db_url: str,
    db: sessionmaker[Session],
    redis_url: str,
    redis_conn: redis.Redis,
    tw: TwilioLocal,
    tmp_path: Path,
) -> None:
    """At SEND_RATE=40 the send threads wait for slots. A worker killed then leaves only
    the rows whose request had left as unknown (not those still waiting), and the next
    worker asks Twilio about them: nothing is left unknown and nobody gets it twice."""
    ids = add_residents(db, 150)
    broadcast_id = announce(db)
    env = {**burst_env(db_url, redis_url, tw, tmp_path), "SEND_RATE": "40"}

    kill_after(start_worker(env, tmp_path), tw, sent=40)
    time.sleep(0.2)  # requests the dead worker had sent reach the stand-in
    reached = {r["To"] for r in tw.requests}
    by_phone = dict(zip(ids, phones_in_order(db, ids), strict=True))

    # What the next worker's sweeper will find: the dead worker's claims.
    time.sleep(ALIVE_TTL + 0.5)
    claimed = [
        resident_id
        for resident_id, row in deliveries(db, broadcast_id).items()
        if row.status == "sending"
    ]
    never_reached = [i for i in claimed if by_phone[i] not in reached]
    assert len(never_reached) <= 1, f"{len(never_reached)} claimed rows never reached Twilio"

    finish(start_worker({**env, "RECONCILE_AFTER": "0"}, tmp_path))

    sent = Counter(r["To"] for r in tw.requests)
    assert set(sent) == set(by_phone.values()) and max(sent.values()) == 1
    statuses = Counter(r.status for r in deliveries(db, broadcast_id).values())
    assert statuses == {"queued": 150}, statuses
    assert broadcast(db, broadcast_id).status == "done"
