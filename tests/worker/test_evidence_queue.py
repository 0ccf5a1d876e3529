"""Slow evidence work never holds up sending: it waits on a queue of its own, served by its own
process (`mibarrio worker --evidence`, as in the Procfile and `mibarrio run`).

A first build of the rollups takes minutes on a city; when it ran on the sending queue, a
city-wide urgent broadcast waited behind it. Here a job that runs for a minute stands for it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.seed import seed_zones
from tests.helpers import wait_for, worker_env
from tests.twilio_local import TwilioLocal
from tests.worker.test_worker import BODY, PHONE, message, onboard_directly, queue_to
from worker.queues import evidence_queue

pytestmark = pytest.mark.slow  # two `mibarrio worker` processes

LONG_JOB_SECONDS = 60


def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    mibarrio = Path(sys.executable).parent / "mibarrio"
    return subprocess.Popen(  # noqa: S603
        [str(mibarrio), "worker", *args],
        env=env,
        cwd=cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def one_resident(tmp_path: Path) -> tuple[str, Engine, sessionmaker[Session], int]:
    """A migrated SQLite file with the zonas and one signed-up resident (their id)."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        seed_zones(session)
    return url, engine, sessions, onboard_directly(sessions, PHONE)


def test_a_message_goes_out_while_the_evidence_worker_is_busy(
    tmp_path: Path, redis_url: str, redis_conn: redis.Redis, q: Queue, tw: TwilioLocal
) -> None:
    url, engine, sessions, resident_id = one_resident(tmp_path)
    # Evidence work already running (a rollup rebuild on a city takes this long or more).
    slow = evidence_queue(q)
    long_job = slow.enqueue("time.sleep", LONG_JOB_SECONDS, job_timeout=LONG_JOB_SECONDS * 2)
    env = worker_env(url, redis_url, tw, tmp_path)
    processes = [start(["--evidence"], env, tmp_path, tmp_path / "evidence.log")]
    try:
        wait_for(
            lambda: Job.fetch(long_job.id, connection=redis_conn).get_status() == JobStatus.STARTED,
            60,
            "the evidence worker to take the long job",
        )
        processes.append(start([], env, tmp_path, tmp_path / "worker.log"))
        message_id = queue_to(sessions, resident_id)
        wait_for(lambda: message(sessions, message_id).status == "queued", 60, "the send")
        # Sent while the evidence job was still running, by the sending worker.
        assert Job.fetch(long_job.id, connection=redis_conn).get_status() == JobStatus.STARTED
        assert [(r["To"], r["Body"]) for r in tw.requests] == [(PHONE, BODY)]
    finally:
        for proc in processes:
            proc.send_signal(signal.SIGKILL)  # the long job would hold a warm shutdown
            proc.wait(timeout=30)
        engine.dispose()


def test_without_an_evidence_worker_the_sending_worker_leaves_evidence_jobs_alone(
    tmp_path: Path, redis_url: str, redis_conn: redis.Redis, q: Queue, tw: TwilioLocal
) -> None:
    """The sending worker never takes an evidence job itself (it would hold up sending)."""
    url, engine, sessions, resident_id = one_resident(tmp_path)
    long_job = evidence_queue(q).enqueue("time.sleep", LONG_JOB_SECONDS)
    proc = start([], worker_env(url, redis_url, tw, tmp_path), tmp_path, tmp_path / "worker.log")
    try:
        message_id = queue_to(sessions, resident_id)
        wait_for(lambda: message(sessions, message_id).status == "queued", 60, "the send")
        assert Job.fetch(long_job.id, connection=redis_conn).get_status() == JobStatus.QUEUED
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        engine.dispose()
