"""Redis stopped mid-broadcast and started again empty: everyone gets the broadcast once.

`mibarrio run` (honcho: gunicorn and `mibarrio worker`, as `make run` starts them) sends a
broadcast at SEND_RATE=40. A quarter of the way in, Redis stops, its queue and the limiter
with it; it comes back OUTAGE seconds later with nothing in it, as a Redis without
persistence restarts. Meanwhile residents keep texting (the web app must answer them all) and
single messages are queued (they wait in the outbox). Nothing may be sent twice, nothing may
be lost, nothing may stay stuck, and nobody restarts anything by hand.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_residents
from tests.faults.conftest import (
    SignupTraffic,
    StackFor,
    Texter,
    broadcast_status,
    broadcast_to,
    database_of,
    misapplied_signups,
    phone_list,
    publish,
    queue_messages,
    reconcile_last,
    signups,
)
from tests.faults.figures import (
    STUCK,
    Figures,
    count_leftovers,
    count_sends,
    count_texts,
    rows_in,
)
from tests.helpers import free_port, wait_for
from tests.twilio_local import TwilioLocal
from worker.queues import EmbeddedRedis

pytestmark = pytest.mark.slow

RECIPIENTS = 400
RATE = 40  # SEND_RATE: ten seconds of sending without the outage
OUTAGE = 10.0  # seconds without Redis (the issue says 60)
MESSAGES = 10  # single messages before the outage, and as many during it
TEXTERS = 10  # residents signing up over HTTP during the outage (4 texts each)


def test_redis_gone_mid_broadcast_and_back_empty_costs_no_message(
    db_url: str,
    db: sessionmaker[Session],
    redis_server: EmbeddedRedis,
    stack_for: StackFor,
    results_dir: Path,
) -> None:
    started = time.monotonic()
    figures = Figures(
        scenario="redis-restart",
        database=database_of(db_url),
        title=f"Redis stopped {OUTAGE:.0f} s mid-broadcast, back empty",
        does=(
            f"`mibarrio run` sends a broadcast to {RECIPIENTS} residents at SEND_RATE={RATE}; "
            f"a quarter of the way in Redis stops for {OUTAGE:.0f} s and comes back with no "
            f"data. During the outage {TEXTERS} residents sign up over HTTP and {MESSAGES} "
            "single messages are queued. Nobody restarts anything."
        ),
        scale=f"{RECIPIENTS} recipients + {2 * MESSAGES} single messages, {OUTAGE:.0f} s outage",
        issue_scale="Redis stopped 60 s and restarted empty mid-broadcast",
    )
    ids = add_residents(db, RECIPIENTS)
    gone = phone_list(db, add_residents(db, 10, status="opted_out"))
    singles = add_residents(db, 2 * MESSAGES, zone="Miraflores")
    newcomers = signups(TEXTERS, first=1000)
    port = free_port()
    with TwilioLocal(delay=0.02) as tw:
        stack = stack_for(tw, SEND_RATE=str(RATE))
        broadcast_id = broadcast_to(db, "(F-B1)")
        queued = queue_messages(db, singles[:MESSAGES])
        stack.run(port)
        texter = Texter(port)
        wait_for(lambda: tw.count >= RECIPIENTS // 4, 60, "a quarter of the broadcast")

        redis_server.stop()  # Redis goes away ...
        redis_dir = redis_server.directory
        (redis_dir / "redis.aof").unlink(missing_ok=True)
        for path in redis_dir.glob("appendonlydir*"):
            for part in path.iterdir():
                part.unlink()
        sent_at_outage = tw.count
        outage_ends = time.monotonic() + OUTAGE
        traffic = SignupTraffic(texter, newcomers, threads=2).start(pace=0.1)
        queued |= queue_messages(db, singles[MESSAGES:], prefix="D")
        while time.monotonic() < outage_ends:
            assert stack.procs["run"].poll() is None, f"`mibarrio run` ended:\n{stack.tail('run')}"
            time.sleep(0.5)
        traffic.wait()
        sent_in_outage = tw.count - sent_at_outage

        redis_server.start()  # ... and comes back empty
        wait_for(
            lambda: broadcast_status(db, broadcast_id) == "done" and rows_in(db, STUCK) == 0,
            90,
            "the broadcast and the messages to finish after Redis came back",
        )
        assert stack.procs["run"].poll() is None
        stack.signal("run", signal.SIGINT)  # Ctrl-C
        stack.procs["run"].wait(timeout=60)
        log = stack.log("run")
        assert "redis answers again; starting a new worker" in log, log[-3000:]
        reconcile_last(stack, db, figures)

        expected = {(phone, "(F-B1)") for phone in phone_list(db, ids)}
        expected |= {(phone, marker) for marker, phone in queued.items()}
        count_sends(figures, tw.requests, expected, {phone: None for phone in gone})
    count_leftovers(figures, db)
    count_texts(figures, db, texter.answers, misapplied_signups(db, newcomers))
    figures.faults = {
        "outage (s)": OUTAGE,
        "sent when Redis stopped": sent_at_outage,
        "sent during the outage": sent_in_outage,
    }
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
