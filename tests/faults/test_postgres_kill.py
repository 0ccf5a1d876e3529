"""PostgreSQL connections killed under load: no 5xx, no text lost or applied twice, no duplicate.

gunicorn, as the Procfile runs it, answers residents signing up while `mibarrio worker` sends
a broadcast and single messages. Every half second, 16 times, every connection the web app and
the worker hold to the database is terminated (pg_terminate_backend), as a failover, a
restarted pgbouncer or an idle-connection reaper would. The web app retries a turn once on a
new connection; the worker records again, and its sweeper picks up what a failed job left.
PostgreSQL only: SQLite has no connections to kill.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine
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

pytestmark = pytest.mark.slow

RECIPIENTS = 400
MESSAGES = 10
RATE = 40  # SEND_RATE: ten seconds of sending
TEXTERS = 40  # residents signing up meanwhile, 4 texts each
KILLS = 16  # rounds of pg_terminate_backend ...
KILL_EVERY = 0.5  # ... one every half second, while the texts arrive

TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


class Killer(threading.Thread):
    """Terminates every other connection to the test database every KILL_EVERY seconds."""

    def __init__(self, url: str, rounds: int) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url, isolation_level="AUTOCOMMIT")
        self.rounds = rounds
        self.killed: list[int] = []

    def run(self) -> None:
        with self.engine.connect() as conn:
            for _ in range(self.rounds):
                time.sleep(KILL_EVERY)
                self.killed.append(int(conn.execute(TERMINATE).scalar_one()))
        self.engine.dispose()


def test_postgres_connections_killed_under_load_cost_nothing(
    db_url: str, db: sessionmaker[Session], stack_for: StackFor, results_dir: Path
) -> None:
    if database_of(db_url) != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connections to kill")
    started = time.monotonic()
    figures = Figures(
        scenario="postgres-kill",
        database=database_of(db_url),
        title="PostgreSQL connections killed under load",
        does=(
            f"gunicorn answers {TEXTERS} residents signing up while `mibarrio worker` sends a "
            f"broadcast to {RECIPIENTS} residents and {MESSAGES} single messages at "
            f"SEND_RATE={RATE}; every {KILL_EVERY} s, {KILLS} times, every connection to the "
            "database but the killer's own is terminated (pg_terminate_backend)."
        ),
        scale=f"{RECIPIENTS} recipients + {MESSAGES} single messages, {TEXTERS * 4} texts, "
        f"{KILLS} kill rounds",
        issue_scale="PostgreSQL connections killed under load",
    )
    ids = add_residents(db, RECIPIENTS)
    gone = phone_list(db, add_residents(db, 10, status="opted_out"))
    singles = add_residents(db, MESSAGES, zone="Miraflores")
    newcomers = signups(TEXTERS, first=3000)
    port = free_port()
    with TwilioLocal(delay=0.02) as tw:
        stack = stack_for(tw, SEND_RATE=str(RATE))
        stack.web(port)
        texter = Texter(port)
        broadcast_id = broadcast_to(db, "(F-B2)")
        queued = queue_messages(db, singles)
        stack.worker()
        wait_for(lambda: tw.count >= 20, 60, "the broadcast to get going")
        killer = Killer(db_url, KILLS)
        traffic = SignupTraffic(texter, newcomers, threads=4).start(pace=0.15)
        killer.start()
        traffic.wait()
        killer.join(timeout=60)
        wait_for(
            lambda: broadcast_status(db, broadcast_id) == "done" and rows_in(db, STUCK) == 0,
            90,
            "the broadcast and the messages to finish",
        )
        stack.stop("worker")
        stack.stop("web")
        reconcile_last(stack, db, figures)

        expected = {(phone, "(F-B2)") for phone in phone_list(db, ids)}
        expected |= {(phone, marker) for marker, phone in queued.items()}
        count_sends(figures, tw.requests, expected, {phone: None for phone in gone})
    count_leftovers(figures, db)
    count_texts(figures, db, texter.answers, misapplied_signups(db, newcomers))
    figures.faults = {
        "kill rounds": len(killer.killed),
        "connections terminated": sum(killer.killed),
        "web turns retried on a new connection": stack.log("web").count("retrying on a new one"),
    }
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
