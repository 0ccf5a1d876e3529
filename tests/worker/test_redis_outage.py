"""A Redis outage of any length: the web app serves on, the worker waits and resumes by itself.

`mibarrio run` (honcho: gunicorn + a worker) against a redis-server of this test's own, which
is stopped and started again empty, the way a restarted Redis without persistence comes back.
Texts answered meanwhile, and messages queued meanwhile, go out once Redis is back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import OutboundMessage, Resident
from storage.outbox import queue_message
from tests.commands.test_run import BIN
from tests.factories import add_residents
from tests.helpers import free_port, serves, wait_for, worker_env
from tests.twilio_local import TwilioLocal
from worker.queues import EmbeddedRedis

# Starts `mibarrio run` and a redis-server, and keeps Redis away for several seconds.
pytestmark = pytest.mark.slow

TOKEN = "test-auth-token"  # what worker_env gives TWILIO_AUTH_TOKEN
OUTAGE_SECONDS = 8.0


@pytest.fixture
def db(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def text(port: int, body: str, phone: str) -> int:
    """A signed inbound SMS to the running app, as Twilio sends it; the HTTP status."""
    url = f"http://127.0.0.1:{port}/twilio/inbound"
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+59122000000",
        "Body": body,
        "NumMedia": "0",
    }
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return int(response.status)


def queue_to_first(db: sessionmaker[Session], body: str) -> int:
    with transaction(db) as session:
        resident = session.query(Resident).order_by(Resident.id).first()
        assert resident is not None
        return queue_message(session, resident, body).id


def status(db: sessionmaker[Session], message_id: int) -> str:
    with db() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row.status


def test_web_serves_and_worker_resumes_across_a_redis_outage(
    db_url: str, db: sessionmaker[Session], tw: TwilioLocal, tmp_path: Path
) -> None:
    add_residents(db, 1)
    redis_dir = tmp_path / "redis"
    server = EmbeddedRedis(redis_dir)
    url = server.start()
    port = free_port()
    env = worker_env(db_url, url, tw, tmp_path, PORT=str(port), SEND_RATE="0")
    run = subprocess.Popen(  # noqa: S603
        [str(BIN / "mibarrio"), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: serves(port), 60, "the app to serve")
        # Redis goes away while the worker is busy: Twilio answers this one after 2 s, so
        # RQ finishes the job (and writes its result) with Redis gone.
        with db() as session:
            first = session.query(Resident).order_by(Resident.id).first()
            assert first is not None and first.phone
            tw.hang(first.phone, 2.0)
        before = queue_to_first(db, "Antes del corte.")
        wait_for(lambda: len(tw.requests) == 1, 30, "the first send to reach Twilio")

        server.stop()  # Redis goes away ...
        (redis_dir / "redis.aof").unlink(missing_ok=True)
        for path in redis_dir.glob("appendonlydir*"):
            for part in path.iterdir():
                part.unlink()
        during = queue_to_first(db, "Durante el corte.")
        deadline = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < deadline:
            assert run.poll() is None, "a process of `mibarrio run` ended with Redis away"
            assert text(port, "hola", "+59171999001") == 200, "the webhook stopped answering"
            time.sleep(1.0)
        assert status(db, before) == "queued"
        assert status(db, during) == "pending"

        server.start()  # ... and comes back empty
        wait_for(lambda: status(db, during) == "queued", 60, "the worker to resume")
        assert run.poll() is None
        bodies = [r["Body"] for r in tw.requests]
        assert bodies.count("Antes del corte.") == 1 and bodies.count("Durante el corte.") == 1

        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
        output, _ = run.communicate(timeout=30)
        log = output.decode(errors="replace")
        assert "redis answers again; starting a new worker" in log
        # RQ logs the outage with its traceback; the stop afterwards is clean.
        stopping = log[log.index("SIGINT received") :]
        assert "Traceback" not in stopping, stopping[-3000:]
        assert "worker stopped" in stopping and "web stopped" in stopping
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        server.stop()
