"""Outbound messages: outbox -> RQ -> Twilio (the local server), with every way a send can end.

Real parts only: the real twilio library against tests/twilio_local.py, real Redis, real
SQLite/PostgreSQL. A resident signs up by chatting; a message to them is queued in a transaction
the way the product does it, relayed by the outbox and sent by an RQ worker.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.models import OutboundMessage, OutboxEntry, Resident, utcnow
from storage.outbox import add_outbox, queue_message
from storage.seed import seed_zones
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import SMS_FROM, WHATSAPP_FROM, installed, twilio_config, worker_env
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.jobs import JOBS, send_message
from worker.outbox import pending, relay
from worker.pool import ALIVE_KEY
from worker.queues import EmbeddedRedis, queue
from worker.ratelimit import account_limiter
from worker.runner import BurstWorker, Worker, drain
from worker.sender import SendResult, classify
from worker.sweeper import HARD_STALE, LOST_JOB_AFTER, sweep

PHONE = "+59171234567"
BODY = "Mañana no hay agua en Sopocachi de 8:00 a 14:00."


# -- fixtures ------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("local_only")


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    """The worker's context with Twilio credentials, sending to the local server."""
    configured = twilio_config(config, tw)
    assert configured.twilio_configured
    with installed(configured) as ctx:
        yield ctx


@pytest.fixture
def console_ctx(config: Config) -> Iterator[WorkerContext]:
    """The worker's context with no Twilio account: messages go to the log."""
    assert not config.twilio_configured
    with installed(config) as ctx:
        yield ctx


# -- helpers -------------------------------------------------------------------------------


def sign_up(chat: Chat, phone: str = PHONE, channel: str = "sms") -> int:
    """A resident onboards by chatting (Spanish, Sopocachi, consent); returns their id."""
    chat.phone, chat.channel = phone, channel
    onboard(chat)
    with chat.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        assert resident.status == "active"
        return resident.id


def queue_to(
    sessions: sessionmaker[Session], resident_id: int, body: str = BODY, channel: str | None = None
) -> int:
    """Queue a message to a resident the way the product does: one transaction, with its outbox."""
    with transaction(sessions) as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        return queue_message(session, resident, body, channel=channel).id


def work(q: Queue) -> None:
    """Run the queued jobs as `mibarrio worker --burst` does (RQ's own SimpleWorker waited up
    to 60 s for its command channel's reader on the way out, about every other time)."""
    BurstWorker([q], connection=q.connection).work(burst=True, logging_level="WARNING")


def relay_and_work(ctx: WorkerContext, q: Queue) -> int:
    relayed = relay(ctx.sessions, q)
    work(q)
    return relayed


def message(sessions: sessionmaker[Session], message_id: int) -> OutboundMessage:
    with sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


def resident_status(sessions: sessionmaker[Session], resident_id: int) -> str:
    with sessions() as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None
        return resident.status


def outbox_rows(sessions: sessionmaker[Session]) -> list[OutboxEntry]:
    with sessions() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def attempts_at_twilio(tw: TwilioLocal) -> int:
    """Every create request the server saw: accepted, dropped or answered with an error."""
    return tw.count + len(tw.errors)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # SQLite: naive UTC


def run_again(ctx: WorkerContext, q: Queue, message_id: int) -> None:
    """Everything that can make a job run twice: RQ re-running it, a duplicate outbox row."""
    q.enqueue(send_message, message_id)
    with transaction(ctx.sessions) as session:
        add_outbox(session, "send_message", message_id)
    assert relay_and_work(ctx, q) == 1
    assert q.count == 0 and pending(ctx.sessions) == 0


# -- sending -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "to", "sender"),
    [("sms", PHONE, SMS_FROM), ("whatsapp", "whatsapp:" + PHONE, WHATSAPP_FROM)],
)
def test_queued_message_reaches_twilio_once(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal, channel: str, to: str, sender: str
) -> None:
    resident_id = sign_up(chat, channel=channel)
    message_id = queue_to(ctx.sessions, resident_id, channel=channel)

    assert relay_and_work(ctx, q) == 1

    sent = tw.requests
    assert len(sent) == 1 and tw.errors == []
    assert (sent[0]["To"], sent[0]["From"], sent[0]["Body"]) == (to, sender, BODY)
    row = message(ctx.sessions, message_id)
    assert row.twilio_sid == sent[0]["sid"]
    assert (row.status, row.attempts, row.error_code) == ("queued", 1, None)
    assert pending(ctx.sessions) == 0

    run_again(ctx, q, message_id)
    assert tw.count == 1, "a message went out twice"
    assert message(ctx.sessions, message_id).twilio_sid == sent[0]["sid"]


def test_rerun_job_reports_skipped(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    message_id = queue_to(ctx.sessions, sign_up(chat))
    relay_and_work(ctx, q)
    job = q.enqueue(send_message, message_id)
    work(q)
    assert job.return_value() == "skipped"
    assert tw.count == 1


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_resolves_by_the_path_rq_stores(name: str, q: Queue) -> None:
    """RQ keeps a job's function as a dotted path: a worker must import it back to the same."""
    (job,) = q.enqueue_many([Queue.prepare_data(JOBS[name], args=(1,), job_id=f"path-{name}")])
    fetched = Job.fetch(job.id, connection=q.connection)
    assert fetched.func is JOBS[name]
    assert fetched.func_name == f"{JOBS[name].__module__}.{JOBS[name].__qualname__}"


def test_no_twilio_account_prints_to_console(
    chat: Chat,
    console_ctx: WorkerContext,
    q: Queue,
    tw: TwilioLocal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="worker.sender")
    message_id = queue_to(console_ctx.sessions, sign_up(chat))

    assert relay_and_work(console_ctx, q) == 1

    assert f"to {PHONE}: {BODY}" in caplog.text

    row = message(console_ctx.sessions, message_id)
    assert row.status == "sent"
    assert row.twilio_sid is not None and row.twilio_sid.startswith("CO")
    assert attempts_at_twilio(tw) == 0


def test_opted_out_at_twilio_marks_resident_and_stops_later_messages(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    resident_id = sign_up(chat)
    tw.fail(PHONE, 400, 21610)
    first = queue_to(ctx.sessions, resident_id)

    relay_and_work(ctx, q)

    row = message(ctx.sessions, first)
    assert (row.status, row.error_code, row.twilio_sid) == ("failed", 21610, None)
    assert resident_status(ctx.sessions, resident_id) == "opted_out"
    assert attempts_at_twilio(tw) == 1

    later = queue_to(ctx.sessions, resident_id, "Encuesta: ¿qué obra prefiere?")
    relay_and_work(ctx, q)

    assert message(ctx.sessions, later).status == "canceled"
    assert attempts_at_twilio(tw) == 1, "someone who opted out was messaged again"
    assert message(ctx.sessions, first).status == "failed"


@pytest.mark.parametrize("code", [21211, 21614, 21635])
def test_bad_number_fails_without_retry(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal, code: int
) -> None:
    resident_id = sign_up(chat)
    tw.fail(PHONE, 400, code)
    message_id = queue_to(ctx.sessions, resident_id)

    drain(ctx, q)

    row = message(ctx.sessions, message_id)
    assert (row.status, row.error_code, row.attempts) == ("failed", code, 1)
    assert attempts_at_twilio(tw) == 1
    assert [e["code"] for e in tw.errors] == [code]
    assert pending(ctx.sessions) == 0, "a permanent error was scheduled for a retry"
    assert resident_status(ctx.sessions, resident_id) != "opted_out"


@pytest.mark.parametrize("code", [20429, None])
def test_rate_limited_send_is_retried_later(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal, code: int | None
) -> None:
    resident_id = sign_up(chat)
    tw.fail(PHONE, 429, code, times=1)
    message_id = queue_to(ctx.sessions, resident_id)

    before = utcnow()
    relay_and_work(ctx, q)
    after = utcnow()

    row = message(ctx.sessions, message_id)
    assert (row.status, row.attempts, row.twilio_sid) == ("pending", 1, None)
    retry = [e for e in outbox_rows(ctx.sessions) if e.relayed_at is None]
    assert len(retry) == 1 and retry[0].args == [message_id]
    assert retry[0].not_before is not None
    not_before = aware(retry[0].not_before)
    # First retry: 5 s with +-50 % jitter, so a fleet of workers does not retry in step.
    assert before + timedelta(seconds=2.5) <= not_before <= after + timedelta(seconds=7.5)

    # Asked as of the send (a busy machine may take seconds to get here): not due yet.
    assert relay(ctx.sessions, q, now=before) == 0, "a retry went out before its time"
    assert attempts_at_twilio(tw) == 1

    with transaction(ctx.sessions) as session:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == retry[0].id)
            .values(not_before=utcnow() - timedelta(seconds=1))
        )
    assert relay_and_work(ctx, q) == 1

    assert attempts_at_twilio(tw) == 2 and tw.count == 1
    row = message(ctx.sessions, message_id)
    assert (row.status, row.attempts) == ("queued", 2)
    assert row.twilio_sid == tw.requests[0]["sid"]


def due_now(sessions: sessionmaker[Session]) -> None:
    """Let time pass: every waiting outbox row becomes due."""
    with transaction(sessions) as session:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.relayed_at.is_(None))
            .values(not_before=utcnow() - timedelta(seconds=1))
        )


def test_rate_limited_for_good_gives_up_with_growing_waits(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    """Twilio keeps saying 429: the waits grow and the message fails in the end, not looping."""
    tw.fail(PHONE, 429, 20429)
    message_id = queue_to(ctx.sessions, sign_up(chat))

    waits = []
    for _ in range(10):
        if not relay_and_work(ctx, q):
            break
        waiting = [e for e in outbox_rows(ctx.sessions) if e.relayed_at is None]
        if waiting:
            assert len(waiting) == 1 and waiting[0].not_before is not None
            row = message(ctx.sessions, message_id)
            waits.append((aware(waiting[0].not_before) - aware(row.updated_at)).total_seconds())
        due_now(ctx.sessions)

    row = message(ctx.sessions, message_id)
    assert (row.status, row.error_code, row.attempts) == ("failed", 20429, 6)
    assert len(tw.errors) == 6 and tw.count == 0
    assert len(waits) == 5
    for wait, nominal in zip(waits, [5, 15, 45, 120, 300], strict=True):
        assert nominal * 0.5 - 0.1 <= wait <= nominal * 1.5, waits


def test_retry_delays_are_jittered(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    """Rate-limited messages do not all come back after the same delay (workers in step)."""
    resident_id = sign_up(chat)
    tw.fail(PHONE, 429, 20429, times=4)
    ids = [queue_to(ctx.sessions, resident_id, f"Aviso {n}") for n in range(4)]
    relay_and_work(ctx, q)

    with ctx.sessions() as session:
        failed_at = {
            m.id: aware(m.updated_at)
            for m in session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids)))
        }
    delays = [
        (aware(e.not_before) - failed_at[e.args[0]]).total_seconds()
        for e in outbox_rows(ctx.sessions)
        if e.not_before is not None
    ]
    assert len(delays) == 4
    assert all(2.4 <= d <= 7.6 for d in delays), delays
    # Uniform jitter over 5 s: four delays within 50 ms of each other would be a fixed delay.
    assert max(delays) - min(delays) > 0.05, delays


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_unknown_outcome_is_never_resent(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal, fault: str
) -> None:
    resident_id = sign_up(chat)
    if fault == "drop":
        tw.drop(PHONE, times=1)  # Twilio got it, we never heard back
    else:
        tw.fail(PHONE, int(fault), None, times=1)
    message_id = queue_to(ctx.sessions, resident_id)

    relay_and_work(ctx, q)

    assert message(ctx.sessions, message_id).status == "unknown"
    assert attempts_at_twilio(tw) == 1

    run_again(ctx, q, message_id)  # the next attempt would succeed: it must not happen
    assert attempts_at_twilio(tw) == 1, "a message that may have gone out was sent again"
    assert message(ctx.sessions, message_id).status == "unknown"


def test_channel_without_a_sender_fails_instead_of_hanging(
    chat: Chat, config: Config, q: Queue, tw: TwilioLocal
) -> None:
    """Only an SMS number configured: a WhatsApp message fails visibly, not stuck in 'sending'."""
    sms_only = replace(twilio_config(config, tw), twilio_whatsapp_from=None)
    with installed(sms_only) as ctx:
        message_id = queue_to(ctx.sessions, sign_up(chat), channel="whatsapp")
        drain(ctx, q)
        assert message(ctx.sessions, message_id).status == "failed"
    assert attempts_at_twilio(tw) == 0


def test_resident_who_opts_out_after_queueing_is_not_messaged(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    resident_id = sign_up(chat)
    message_id = queue_to(ctx.sessions, resident_id)
    chat.say("BAJA")

    relay_and_work(ctx, q)

    assert message(ctx.sessions, message_id).status == "canceled"
    assert attempts_at_twilio(tw) == 0


def test_redis_down_delays_but_never_loses(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    message_id = queue_to(ctx.sessions, sign_up(chat))
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        with pytest.raises(redis.ConnectionError):
            relay(ctx.sessions, queue(down))
    finally:
        down.close()

    assert [e.relayed_at for e in outbox_rows(ctx.sessions)] == [None]
    assert pending(ctx.sessions) == 1
    assert message(ctx.sessions, message_id).status == "pending"

    assert relay_and_work(ctx, q) == 1
    assert [r["Body"] for r in tw.sent_to(PHONE)] == [BODY]
    assert message(ctx.sessions, message_id).status == "queued"


@pytest.mark.parametrize(
    ("http_status", "code", "outcome"),
    [
        (400, 21610, "opted_out"),
        (400, 21211, "invalid"),
        (400, 21614, "invalid"),
        (400, 21635, "invalid"),
        (429, 20429, "retry"),
        (429, None, "retry"),
        (400, 20429, "retry"),
        (500, None, "unknown"),
        (502, None, "unknown"),
        (503, 20500, "unknown"),
        (500, 21610, "opted_out"),
        (400, 21408, "failed"),
        (400, 63016, "failed"),
        (401, 20003, "failed"),
        (400, None, "failed"),
    ],
)
def test_classify(http_status: int, code: int | None, outcome: str) -> None:
    assert classify(http_status, code, "detail") == SendResult(
        outcome, error_code=code, detail="detail"
    )


# -- processes -----------------------------------------------------------------------------


def ping_and(url: str, *commands: tuple[str, ...]) -> list[object]:
    client = redis.Redis.from_url(url)
    try:
        assert client.ping()
        return [client.execute_command(*command) for command in commands]
    finally:
        client.close()


@pytest.mark.slow  # starts and restarts redis-server
def test_embedded_redis_starts_and_stops_cleanly(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = EmbeddedRedis(tmp_path_factory.mktemp("er"))  # short: unix socket paths are limited
    seen: list[subprocess.Popen[bytes]] = []
    try:
        url = server.start()
        assert url.startswith("unix://") and server.process is not None
        seen.append(process := server.process)
        ping_and(url, ("SET", "queued", "job-1"))

        server.stop()

        assert process.poll() is not None, "redis-server left running"
        assert not server.socket.exists()
        assert not server.alive()
        server.stop()  # twice is harmless

        # The append-only file keeps queued jobs across a restart.
        url = server.start()
        assert server.process is not None
        seen.append(process := server.process)
        assert ping_and(url, ("GET", "queued")) == [b"job-1"]
        server.stop()
        assert process.poll() is not None, "redis-server left running"
    finally:
        for leftover in seen:  # even when stop() is broken, leave no redis-server behind
            if leftover.poll() is None:
                leftover.kill()
                leftover.wait()


def onboard_directly(sessions: sessionmaker[Session], phone: str) -> int:
    onboard(Chat(sessions, phone=phone))
    with sessions() as session:
        return session.scalars(select(Resident.id).where(Resident.phone == phone)).one()


@pytest.mark.slow  # runs `mibarrio worker` in a subprocess
def test_worker_command_burst_sends_and_exits(
    tmp_path: Path, redis_url: str, redis_conn: redis.Redis, tw: TwilioLocal
) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            seed_zones(session)
        message_id = queue_to(sessions, onboard_directly(sessions, PHONE))
    finally:
        engine.dispose()

    env = worker_env(url, redis_url, tw, tmp_path)
    mibarrio = Path(sys.executable).parent / "mibarrio"
    done = subprocess.run(
        [str(mibarrio), "worker", "--burst"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    assert [(r["To"], r["Body"]) for r in tw.requests] == [(PHONE, BODY)]
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        row = message(sessions, message_id)
        assert (row.status, row.twilio_sid) == ("queued", tw.requests[0]["sid"])
        assert pending(sessions) == 0
    finally:
        engine.dispose()


def test_single_messages_keep_the_account_wide_send_rate(
    config: Config, tw: TwilioLocal, q: Queue, chat: Chat
) -> None:
    """Report updates and follow-ups share SEND_RATE with broadcasts: 3 messages at 4/s
    cannot all leave at once. The limiter gives them slots about 0.26 s apart; a send may
    leave late (a busy machine), never early, so the third leaves 0.5 s or more after the
    first slot, which comes no earlier than the start."""
    resident_id = sign_up(chat)
    with installed(twilio_config(config, tw, send_rate=4)) as ctx:
        for _ in range(3):
            queue_to(ctx.sessions, resident_id)
        started = time.monotonic()
        relay_and_work(ctx, q)
    times = sorted(request["t"] for request in tw.requests)
    assert len(times) == 3
    assert times[-1] - started >= 0.5


# -- faults before and around the request -------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:1",  # connection refused
        "http://unresolvable.invalid",  # DNS (.invalid never resolves, RFC 6761; no traffic)
    ],
)
def test_a_send_that_never_connected_is_retried_not_unknown(
    chat: Chat, config: Config, q: Queue, tw: TwilioLocal, base_url: str
) -> None:
    """No connection means Twilio never saw the request: it goes again later, with backoff."""
    resident_id = sign_up(chat)
    with installed(twilio_config(config, tw, twilio_api_base_url=base_url)) as ctx:
        message_id = queue_to(ctx.sessions, resident_id)
        relay_and_work(ctx, q)
        row = message(ctx.sessions, message_id)
        assert (row.status, row.attempts) == ("pending", 1)
        (retry,) = [e for e in outbox_rows(ctx.sessions) if e.relayed_at is None]
        assert retry.not_before is not None and aware(retry.not_before) > utcnow()

    with installed(twilio_config(config, tw)) as ctx:  # the network is back
        due_now(ctx.sessions)
        relay_and_work(ctx, q)
        assert message(ctx.sessions, message_id).status == "queued"
    assert [r["Body"] for r in tw.sent_to(PHONE)] == [BODY]


def test_a_timeout_after_connecting_stays_unknown(
    chat: Chat, config: Config, q: Queue, tw: TwilioLocal
) -> None:
    resident_id = sign_up(chat)
    tw.hang(PHONE, 2.0)
    with installed(twilio_config(config, tw, twilio_timeout=0.5)) as ctx:
        message_id = queue_to(ctx.sessions, resident_id)
        relay_and_work(ctx, q)
        assert message(ctx.sessions, message_id).status == "unknown"
    assert len(tw.sent_to(PHONE)) == 1


def test_a_message_whose_job_redis_lost_is_sent_by_the_sweeper(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    """Relayed into RQ, then Redis restarted empty: the outbox row says relayed, the job is gone."""
    message_id = queue_to(ctx.sessions, sign_up(chat))
    assert relay(ctx.sessions, q) == 1
    q.connection.flushdb()
    assert message(ctx.sessions, message_id).status == "pending"

    assert sweep(ctx, q).relayed == 0, "a job that may still run was enqueued again"
    later = utcnow() + LOST_JOB_AFTER + timedelta(seconds=1)
    assert sweep(ctx, q, now=later).relayed == 1
    relay_and_work(ctx, q)
    assert sweep(ctx, q, now=later + LOST_JOB_AFTER).relayed == 0

    assert message(ctx.sessions, message_id).status == "queued"
    assert [r["Body"] for r in tw.sent_to(PHONE)] == [BODY]


def test_a_queued_job_is_left_to_run(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    """A long queue is not a lost job: nothing is enqueued twice while the job waits."""
    message_id = queue_to(ctx.sessions, sign_up(chat))
    relay(ctx.sessions, q)
    later = utcnow() + LOST_JOB_AFTER * 5
    assert sweep(ctx, q, now=later).relayed == 0
    work(q)
    assert message(ctx.sessions, message_id).status == "queued"
    assert len(tw.sent_to(PHONE)) == 1


def test_a_message_claimed_by_a_dead_worker_becomes_unknown(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    dead, alive = (queue_to(ctx.sessions, sign_up(chat)) for _ in range(2))
    q.connection.set(ALIVE_KEY.format("elsewhere:2:alive"), "1", ex=60)
    with transaction(ctx.sessions) as session:  # claimed, then one of the workers was killed
        for message_id, owner in ((dead, "elsewhere:1:dead"), (alive, "elsewhere:2:alive")):
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == message_id)
                .values(status="sending", claimed_by=owner, claimed_at=utcnow())
            )

    swept = sweep(ctx, q)

    assert (swept.resolved, swept.waiting) == (1, 1)
    assert message(ctx.sessions, dead).status == "unknown"
    assert message(ctx.sessions, alive).status == "sending"
    later = utcnow() + HARD_STALE + timedelta(seconds=1)
    assert sweep(ctx, q, now=later).resolved == 1, "a claim left for ten minutes is lost"


def test_consent_is_checked_after_the_rate_limit_wait(
    chat: Chat, config: Config, tw: TwilioLocal, q: Queue
) -> None:
    """The resident opts out while their message waits for a send slot: it is not sent."""
    resident_id = sign_up(chat)
    with installed(twilio_config(config, tw, send_rate=1)) as ctx:
        first = queue_to(ctx.sessions, resident_id)
        second = queue_to(ctx.sessions, resident_id)
        limiter = account_limiter(q.connection, ctx.config.send_rate)
        limiter.acquire(1)  # the slot of now is taken: the next waits about a second
        relay(ctx.sessions, q)
        opted_out_at: list[float] = []

        def opt_out_while_waiting() -> None:
            time.sleep(0.3)  # the first job is waiting for its slot
            chat.say("BAJA")
            opted_out_at.append(time.monotonic())

        resident = threading.Thread(target=opt_out_while_waiting)
        resident.start()
        work(q)  # RQ's worker runs in the main thread (it installs signal handlers)
        resident.join(timeout=30)
        assert opted_out_at, "the opt-out never happened"
        assert {message(ctx.sessions, m).status for m in (first, second)} == {"canceled"}
    assert tw.sent_to(PHONE) == []


def test_a_stop_does_not_wait_for_the_command_channel_reader(q: Queue) -> None:
    """`mibarrio worker` ends soon after SIGTERM. RQ's worker stops by unsubscribing from its
    command channel and waiting for the thread that reads it; that thread, once it has read
    the UNSUBSCRIBE reply, waits for the next message. Here it is caught in that wait, as
    about every other real stop caught it; with RQ's 60 s wait, a stop took a minute."""
    worker = Worker([q], connection=q.connection)
    worker.subscribe()
    worker.pubsub.unsubscribe()
    time.sleep(0.3)  # the reader has the reply and waits for what comes next
    stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
    started = time.monotonic()
    stopping.start()
    stopping.join(timeout=10)
    assert not stopping.is_alive(), "the worker waited for its command channel's reader"
    assert time.monotonic() - started < 3
