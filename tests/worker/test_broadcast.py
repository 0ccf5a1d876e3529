"""Broadcasts: audience, languages, exactly once, every Twilio answer, quiet hours, outages.

Real parts only: the real twilio library against tests/twilio_local.py, real Redis (RQ), real
SQLite/PostgreSQL. Broadcasts are created the way the CLI and the leaders' flows create them
(storage.broadcasts.create_broadcast in a transaction) and go out through the outbox relay,
RQ and the worker's chunk jobs.
"""

from __future__ import annotations

import threading
import time as time_
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.targets import resolve
from storage import broadcasts as store
from storage.db import transaction
from storage.models import (
    Broadcast,
    Delivery,
    OutboxEntry,
    Resident,
    utcnow,
)
from storage.outbox import queue_message
from storage.stats import stats
from storage.statuses import apply_status
from tests.conftest import Chat, signed_post
from tests.factories import AY, ES, OFF, add_residents, announce, broadcast, deliveries, phones
from tests.helpers import SMS_FROM, WHATSAPP_FROM, broadcast_config, installed
from tests.twilio_local import TwilioLocal
from worker import context as worker_context
from worker.broadcast import run_chunk
from worker.context import WorkerContext
from worker.fanout import chunk_ranges, enqueue_chunks, prepare, prepare_broadcast
from worker.outbox import relay
from worker.pool import ALIVE_KEY, shutdown
from worker.queues import queue
from worker.runner import drain
from worker.sender import MAX_ATTEMPTS
from worker.sweeper import sweep

# -- fixtures ------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("local_only")


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(broadcast_config(config, tw)) as installed_ctx:
        yield installed_ctx


# -- helpers -------------------------------------------------------------------------------


def resident_by_id(sessions: sessionmaker[Session], resident_id: int) -> Resident:
    with sessions() as session:
        found = session.get(Resident, resident_id)
        assert found is not None
        return found


def attempts_at_twilio(tw: TwilioLocal) -> int:
    return tw.count + len(tw.errors)


def per_recipient(tw: TwilioLocal) -> Counter[str]:
    return Counter(r["To"] for r in tw.requests) + Counter(e["To"] for e in tw.errors)


def prepared(ctx: WorkerContext, broadcast_id: int) -> list[tuple[int, int]]:
    """Prepare without RQ (no chunk jobs enqueued); the chunk ranges."""
    assert prepare(ctx, broadcast_id, None) == "prepared"
    with ctx.sessions() as session:
        return chunk_ranges(session, broadcast_id)


def local_window(minutes_before: int, minutes_after: int) -> store.QuietHours:
    """Quiet hours around the current La Paz time."""
    now = datetime.now(store.LA_PAZ)
    start = (now - timedelta(minutes=minutes_before)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(minutes=minutes_after)).time().replace(second=0, microsecond=0)
    return store.QuietHours(start, end)


# -- audience and languages ----------------------------------------------------------------


def test_each_recipient_gets_it_once_in_their_language(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    spanish = add_residents(ctx.sessions, 3)
    aymara = add_residents(ctx.sessions, 2, language="ay")
    elsewhere = add_residents(ctx.sessions, 1, zone="San Pedro")
    opted_out = add_residents(ctx.sessions, 1, status="opted_out")
    signing_up = add_residents(ctx.sessions, 1, status="onboarding")
    no_announcements = add_residents(ctx.sessions, 1, topics=["polls", "reports"])

    broadcast_id = announce(ctx.sessions)
    assert broadcast(ctx.sessions, broadcast_id).recipients == 5
    drain(ctx, q)

    assert per_recipient(tw) == Counter({p: 1 for p in phones(ctx.sessions, spanish + aymara)})
    for phone in phones(ctx.sessions, spanish):
        (sent,) = tw.sent_to(phone)
        assert sent["Body"].startswith("Alcaldia de La Paz informa: Mañana no hay agua")
        assert sent["From"] == SMS_FROM
    for phone in phones(ctx.sessions, aymara):
        (sent,) = tw.sent_to(phone)
        assert sent["Body"].startswith("Alcaldia de La Paz yatiyi: Qharürux janiw uma")
    for nobody in phones(ctx.sessions, elsewhere + opted_out + signing_up + no_announcements):
        assert tw.sent_to(nobody) == []

    rows = deliveries(ctx.sessions, broadcast_id)
    assert set(rows) == set(spanish + aymara)
    sids = {r["To"]: r["sid"] for r in tw.requests}
    for resident_id, row in rows.items():
        (phone,) = phones(ctx.sessions, [resident_id])
        assert (row.status, row.twilio_sid, row.attempts, row.channel, row.segments) == (
            "queued",
            sids[phone],
            1,
            "sms",
            1,
        )
    done = broadcast(ctx.sessions, broadcast_id)
    assert done.status == "done" and done.finished_at is not None


@pytest.mark.slow  # about 1 s: 120 messages, every chunk job run three times
def test_rerun_jobs_and_a_second_prepare_send_nothing_more(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 120)
    broadcast_id = announce(ctx.sessions)
    drain(ctx, q)
    assert tw.count == 120

    with ctx.sessions() as session:
        ranges = chunk_ranges(session, broadcast_id)
    assert len(ranges) == 2  # chunks of about 100
    enqueue_chunks(q, broadcast_id, ranges * 2)  # RQ running every chunk again, twice
    q.enqueue(prepare_broadcast, broadcast_id)
    with transaction(ctx.sessions) as session:
        session.add(OutboxEntry(job="prepare_broadcast", args=[broadcast_id]))
        session.add(OutboxEntry(job="send_chunk", args=[broadcast_id, *ranges[0]]))
    drain(ctx, q)

    assert tw.count == 120 and max(per_recipient(tw).values()) == 1
    with ctx.sessions() as session:
        assert (
            session.scalar(
                select(Delivery.id)
                .where(Delivery.broadcast_id == broadcast_id)
                .limit(1)
                .offset(120)
            )
            is None
        ), "a second prepare added delivery rows"


def test_two_workers_settling_the_last_rows_at_once_still_finish_the_broadcast(
    ctx: WorkerContext,
) -> None:
    """Each worker records its own last row; one of them must see both and mark it done."""
    add_residents(ctx.sessions, 2)
    broadcast_id = announce(ctx.sessions)
    prepared(ctx, broadcast_id)
    with transaction(ctx.sessions) as session:
        session.execute(update(Delivery).values(status="sending"))
        session.execute(update(Broadcast).values(status="sending"))
    first_row, second_row = sorted(deliveries(ctx.sessions, broadcast_id))

    def settle(session: Session, delivery_id: int) -> bool:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(status="queued"))
        return store.finish_if_complete(session, broadcast_id)

    finished: list[bool] = []
    with transaction(ctx.sessions) as first:
        finished.append(settle(first, first_row))  # the other row is still being sent

        def second_worker() -> None:
            with transaction(ctx.sessions) as second:
                finished.append(settle(second, second_row))

        other = threading.Thread(target=second_worker)
        other.start()
        other.join(0.5)  # it checks while the first worker has not committed yet
    other.join(10)
    assert finished == [False, True]
    assert broadcast(ctx.sessions, broadcast_id).status == "done"


@pytest.mark.slow  # over 1 s: 350 messages through two worker contexts
def test_two_workers_on_the_same_chunks_never_double_send(
    config: Config, tw: TwilioLocal, redis_url: str, redis_conn: redis.Redis
) -> None:
    """Two worker contexts (engines, Redis connections, send pools) claim the same rows."""
    first = worker_context.build(broadcast_config(config, tw, send_threads=16))
    second = worker_context.build(broadcast_config(config, tw, send_threads=16))
    other_conn = redis.Redis.from_url(redis_url)
    try:
        add_residents(first.sessions, 300)
        add_residents(first.sessions, 50, language="ay")
        broadcast_id = announce(first.sessions)
        ranges = prepared(first, broadcast_id)
        errors: list[BaseException] = []

        def worker(ctx: WorkerContext, conn: redis.Redis, order: list[tuple[int, int]]) -> None:
            try:
                for first_id, last_id in order:
                    run_chunk(ctx, conn, broadcast_id, first_id, last_id, wait=True)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [
            threading.Thread(target=worker, args=(first, redis_conn, ranges + ranges)),
            threading.Thread(target=worker, args=(second, other_conn, ranges[::-1] + ranges)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors

        assert tw.count == 350 and max(per_recipient(tw).values()) == 1
        rows = deliveries(first.sessions, broadcast_id)
        assert Counter(r.status for r in rows.values()) == Counter({"queued": 350})
        assert broadcast(first.sessions, broadcast_id).status == "done"
    finally:
        shutdown()
        other_conn.close()
        first.engine.dispose()
        second.engine.dispose()


def test_missing_aymara_text_is_refused_before_anything_is_written(
    sessions: sessionmaker[Session],
) -> None:
    add_residents(sessions, 2)
    add_residents(sessions, 1, language="ay")
    with pytest.raises(store.MissingLanguageError, match="1 resident.*Aymara"):
        announce(sessions, ay=None)
    with pytest.raises(ValueError, match="Aymara"):
        announce(sessions, ay="   ")
    with sessions() as session:
        assert session.scalars(select(Broadcast)).all() == []
        assert session.scalars(select(OutboxEntry)).all() == []

    # An audience with no Aymara reader needs no Aymara text.
    add_residents(sessions, 1, zone="San Pedro")
    broadcast_id = announce(sessions, "zona:San Pedro", ay=None)
    assert broadcast(sessions, broadcast_id).recipients == 1


def test_refusal_inside_a_larger_transaction_leaves_it_usable(
    sessions: sessionmaker[Session],
) -> None:
    add_residents(sessions, 1, language="ay")
    with transaction(sessions) as session:
        with pytest.raises(ValueError):
            store.create_broadcast(
                session,
                kind="announcement",
                target=resolve(session, "all"),
                text_es=ES,
                text_ay=None,
                quiet_hours=OFF,
            )
        ok = store.create_broadcast(
            session,
            kind="announcement",
            target=resolve(session, "all"),
            text_es=ES,
            text_ay=AY,
            quiet_hours=OFF,
        )
    assert broadcast(sessions, ok.id).recipients == 1


# -- Twilio's answers ----------------------------------------------------------------------


def test_opted_out_at_twilio_marks_resident_and_delivery(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    gone, stays = add_residents(ctx.sessions, 2)
    (gone_phone,) = phones(ctx.sessions, [gone])
    tw.fail(gone_phone, 400, 21610)
    broadcast_id = announce(ctx.sessions)
    drain(ctx, q)

    rows = deliveries(ctx.sessions, broadcast_id)
    assert (rows[gone].status, rows[gone].error_code) == ("opted_out", 21610)
    assert rows[stays].status == "queued"
    assert resident_by_id(ctx.sessions, gone).status == "opted_out"
    assert per_recipient(tw)[gone_phone] == 1

    later = announce(ctx.sessions)
    drain(ctx, q)
    assert gone not in deliveries(ctx.sessions, later)
    assert per_recipient(tw)[gone_phone] == 1, "someone who opted out was messaged again"
    stats_row = next(b for b in stats_of(ctx) if b["id"] == broadcast_id)
    assert stats_row["status_counts"]["opted_out"] == 1


@pytest.mark.parametrize("code", [21211, 21614, 21635])
def test_bad_number_fails_and_is_skipped_from_then_on(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal, code: int
) -> None:
    bad, good = add_residents(ctx.sessions, 2)
    (bad_phone,) = phones(ctx.sessions, [bad])
    tw.fail(bad_phone, 400, code)
    broadcast_id = announce(ctx.sessions)
    drain(ctx, q)

    row = deliveries(ctx.sessions, broadcast_id)[bad]
    assert (row.status, row.error_code, row.attempts) == ("failed", code, 1)
    marked = resident_by_id(ctx.sessions, bad)
    assert marked.number_invalid_at is not None and marked.status == "active"
    with ctx.sessions() as session:
        assert (
            session.scalar(select(OutboxEntry.id).where(OutboxEntry.relayed_at.is_(None))) is None
        )

    later = announce(ctx.sessions)
    assert broadcast(ctx.sessions, later).recipients == 1
    drain(ctx, q)
    assert per_recipient(tw)[bad_phone] == 1
    assert deliveries(ctx.sessions, later)[good].status == "queued"


@pytest.mark.parametrize("code", [20429, None])
def test_rate_limited_is_retried_later_with_jitter_and_sent_once(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal, code: int | None
) -> None:
    ids = add_residents(ctx.sessions, 4)
    for phone in phones(ctx.sessions, ids):
        tw.fail(phone, 429, code, times=1)
    broadcast_id = announce(ctx.sessions)
    before = utcnow()
    drain(ctx, q)

    rows = deliveries(ctx.sessions, broadcast_id)
    assert {(r.status, r.attempts, r.twilio_sid) for r in rows.values()} == {("pending", 1, None)}
    waits = sorted((aware(r.retry_at) - before).total_seconds() for r in rows.values())
    assert 2.4 <= waits[0] and waits[-1] <= 8.0, waits  # 5 s +- 50 %
    assert waits[-1] - waits[0] > 0.01, "retries not jittered"
    assert tw.count == 0 and len(tw.errors) == 4
    assert broadcast(ctx.sessions, broadcast_id).status == "sending"
    with ctx.sessions() as session:
        retry = session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.job == "send_chunk", OutboxEntry.relayed_at.is_(None)
            )
        ).one()
        assert aware(retry.not_before) == min(aware(r.retry_at) for r in rows.values())

    assert relay(ctx.sessions, q) == 0, "a retry went out before its time"
    past = utcnow() - timedelta(seconds=1)
    with transaction(ctx.sessions) as session:
        session.execute(update(OutboxEntry).values(not_before=past))
        session.execute(update(Delivery).values(retry_at=past))
    drain(ctx, q)

    rows = deliveries(ctx.sessions, broadcast_id)
    assert {(r.status, r.attempts) for r in rows.values()} == {("queued", 2)}
    assert tw.count == 4 and max(Counter(r["To"] for r in tw.requests).values()) == 1
    assert broadcast(ctx.sessions, broadcast_id).status == "done"


def test_rate_limited_too_often_fails_in_the_end(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    (only,) = add_residents(ctx.sessions, 1)
    (phone,) = phones(ctx.sessions, [only])
    tw.fail(phone, 429, 20429)
    broadcast_id = announce(ctx.sessions)
    for _ in range(MAX_ATTEMPTS):
        with transaction(ctx.sessions) as session:
            session.execute(update(Delivery).values(retry_at=None))
            session.execute(update(OutboxEntry).values(not_before=None))
        drain(ctx, q)
    row = deliveries(ctx.sessions, broadcast_id)[only]
    assert (row.status, row.attempts, row.error_code) == ("failed", MAX_ATTEMPTS, 20429)
    assert broadcast(ctx.sessions, broadcast_id).status == "done"


@pytest.mark.parametrize("fault", ["500", "503", "drop", "timeout"])
def test_unknown_outcome_is_never_resent(
    config: Config, tw: TwilioLocal, q: Queue, fault: str
) -> None:
    with installed(broadcast_config(config, tw, twilio_timeout=0.5)) as ctx:
        (only,) = add_residents(ctx.sessions, 1)
        (phone,) = phones(ctx.sessions, [only])
        if fault == "drop":
            tw.drop(phone, times=1)
        elif fault == "timeout":
            tw.hang(phone, 2.0, times=1)
        else:
            tw.fail(phone, int(fault), None, times=1)
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)
        assert deliveries(ctx.sessions, broadcast_id)[only].status == "unknown"

        with ctx.sessions() as session:
            ranges = chunk_ranges(session, broadcast_id)
        enqueue_chunks(q, broadcast_id, ranges)
        sweep(ctx, q)
        drain(ctx, q)
        assert per_recipient(tw)[phone] == 1, "a message that may have gone out was sent again"
        assert deliveries(ctx.sessions, broadcast_id)[only].status == "unknown"
        assert broadcast(ctx.sessions, broadcast_id).status == "done"


@pytest.mark.parametrize("fallback", ["template", "sms"])
def test_whatsapp_outside_the_window_uses_template_or_sms(
    config: Config, tw: TwilioLocal, q: Queue, fallback: str
) -> None:
    cfg = broadcast_config(
        config, tw, twilio_whatsapp_template_sid="HX" + "1" * 32, whatsapp_fallback=fallback
    )
    with installed(cfg) as ctx:
        (only,) = add_residents(ctx.sessions, 1, channel="whatsapp", whatsapp_recent=True)
        (phone,) = phones(ctx.sessions, [only])
        tw.fail("whatsapp:" + phone, 400, 63016, times=1)
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)

        assert [e["code"] for e in tw.errors] == [63016]
        (sent,) = tw.requests
        row = deliveries(ctx.sessions, broadcast_id)[only]
        assert (row.status, row.twilio_sid) == ("queued", sent["sid"])
        if fallback == "template":
            assert sent["To"] == "whatsapp:" + phone and sent["From"] == WHATSAPP_FROM
            assert sent["ContentSid"] == "HX" + "1" * 32
            assert "Mañana no hay agua" in sent["ContentVariables"]
            assert row.channel == "whatsapp"
        else:
            assert sent["To"] == phone and sent["From"] == SMS_FROM
            assert sent["Body"].startswith("Alcaldia de La Paz informa")
            assert row.channel == "sms"


def test_whatsapp_inside_the_window_is_free_form(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    (only,) = add_residents(ctx.sessions, 1, channel="whatsapp", whatsapp_recent=True)
    (phone,) = phones(ctx.sessions, [only])
    announce(ctx.sessions)
    drain(ctx, q)
    (sent,) = tw.requests
    assert sent["To"] == "whatsapp:" + phone
    assert sent["Body"].startswith("Alcaldía de La Paz informa")  # WhatsApp is not folded


# -- status callbacks ----------------------------------------------------------------------


def sent_to_one(ctx: WorkerContext, q: Queue, tw: TwilioLocal) -> tuple[int, int, str]:
    """One resident, an announcement sent to them: (resident id, broadcast id, Twilio sid)."""
    (only,) = add_residents(ctx.sessions, 1)
    broadcast_id = announce(ctx.sessions)
    drain(ctx, q)
    return only, broadcast_id, tw.requests[0]["sid"]


def test_status_callbacks_move_deliveries_forward_only(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    only, broadcast_id, sid = sent_to_one(ctx, q, tw)

    def callback(status: str, code: int | None = None) -> str:
        with transaction(ctx.sessions) as session:
            apply_status(session, sid, status, code)
        return deliveries(ctx.sessions, broadcast_id)[only].status

    assert callback("sent") == "sent"
    assert callback("sending") == "sent"  # Twilio's "sending" is no step back
    assert callback("delivered") == "delivered"
    assert callback("sent") == "delivered", "a late 'sent' overwrote 'delivered'"
    assert callback("queued") == "delivered"
    assert callback("undelivered", 30003) == "delivered"
    assert callback("read") == "read"
    assert callback("delivered") == "read"
    counts = next(b for b in stats_of(ctx) if b["id"] == broadcast_id)["status_counts"]
    assert counts["read"] == 1 and counts["sent"] == 0


def test_status_callback_webhook_updates_a_delivery(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal, client: object
) -> None:
    only, broadcast_id, sid = sent_to_one(ctx, q, tw)
    for status in ("delivered", "sent"):
        response = signed_post(
            client, "/twilio/status", {"MessageSid": sid, "MessageStatus": status}
        )
        assert response.status_code == 200
    assert deliveries(ctx.sessions, broadcast_id)[only].status == "delivered"


def test_a_delivery_callback_that_beats_the_stored_sid_is_applied_by_the_worker(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal, client: object
) -> None:
    only, broadcast_id, sid = sent_to_one(ctx, q, tw)
    # As if the callback had come before the worker's commit: the sid is not stored yet.
    with transaction(ctx.sessions) as session:
        session.execute(update(Delivery).values(twilio_sid=None, status="sending"))
    response = signed_post(
        client, "/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"}
    )
    assert response.status_code == 200
    assert deliveries(ctx.sessions, broadcast_id)[only].status == "sending"
    with transaction(ctx.sessions) as session:  # the worker's commit lands
        session.execute(update(Delivery).values(twilio_sid=sid, status="queued"))
    drain(ctx, q)  # the worker's periodic pass
    assert deliveries(ctx.sessions, broadcast_id)[only].status == "delivered"


# -- quiet hours ---------------------------------------------------------------------------


def test_quiet_hours_window() -> None:
    night = store.QuietHours.parse("21:00-07:00")
    at = lambda h, m=0: datetime(2025, 3, 3, h, m, tzinfo=store.LA_PAZ)  # noqa: E731
    assert night.contains(at(21)) and night.contains(at(23, 59)) and night.contains(at(6, 59))
    assert not night.contains(at(7)) and not night.contains(at(20, 59))
    assert night.defer(at(22)) == at(7) + timedelta(days=1)
    assert night.defer(at(3)) == at(7)
    assert night.defer(at(12)) == at(12)
    assert night.defer(at(22).astimezone(UTC)).tzinfo is not None
    day = store.QuietHours.parse("12:00-14:00")
    assert day.contains(at(13)) and not day.contains(at(14))
    assert not store.QuietHours.parse("off").contains(at(23))
    assert str(night) == "21:00-07:00" and store.DEFAULT_QUIET_HOURS == night
    with pytest.raises(ValueError):
        store.QuietHours.parse("9pm-7am")
    assert night.start == time(21)


def test_non_urgent_broadcast_waits_for_quiet_hours_to_end(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 2)
    quiet = local_window(60, 60)
    waiting = announce(ctx.sessions, quiet=quiet)
    urgent = announce(ctx.sessions, quiet=quiet, urgent=True)

    with ctx.sessions() as session:
        entries = {e.args[0]: e for e in session.scalars(select(OutboxEntry))}
    end = quiet.defer(utcnow())
    assert abs((aware(entries[waiting].not_before) - end).total_seconds()) < 1
    assert entries[urgent].not_before is None

    drain(ctx, q)
    assert tw.count == 2  # the urgent one only
    assert broadcast(ctx.sessions, waiting).status == "scheduled"
    assert broadcast(ctx.sessions, urgent).status == "done"


def test_worker_holds_non_urgent_sends_during_quiet_hours(
    config: Config, tw: TwilioLocal, q: Queue
) -> None:
    """The worker checks again: a broadcast created outside quiet hours, sent inside them."""
    quiet = local_window(30, 30)
    hours = f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"
    with installed(broadcast_config(config, tw, quiet_hours=hours)) as ctx:
        add_residents(ctx.sessions, 3)
        normal = announce(ctx.sessions)  # no quiet hours at creation
        drain(ctx, q)
        assert tw.count == 0
        assert broadcast(ctx.sessions, normal).status == "scheduled"
        with ctx.sessions() as session:
            (deferred,) = session.scalars(
                select(OutboxEntry).where(OutboxEntry.relayed_at.is_(None))
            ).all()
        assert aware(deferred.not_before) > utcnow() + timedelta(minutes=25)

        urgent = announce(ctx.sessions, urgent=True)
        drain(ctx, q)
        assert tw.count == 3 and broadcast(ctx.sessions, urgent).status == "done"

        # Already sending when quiet hours begin: chunks wait, nothing is lost.
        with transaction(ctx.sessions) as session:
            session.execute(update(Broadcast).where(Broadcast.id == normal).values(urgent=True))
        ranges = prepared(ctx, normal)
        with transaction(ctx.sessions) as session:
            session.execute(update(Broadcast).where(Broadcast.id == normal).values(urgent=False))
        assert run_chunk(ctx, q.connection, normal, *ranges[0]) == "quiet"
        assert sweep(ctx, q).enqueued == 0
        assert tw.count == 3
        assert {d.status for d in deliveries(ctx.sessions, normal).values()} == {"pending"}


# -- order: what must not wait behind a long broadcast --------------------------------------


def job_names(q: Queue) -> list[str]:
    """The queue's jobs in the order a worker takes them: the job and its broadcast or row."""
    return [f"{job.func_name.rsplit('.', 1)[-1]}:{job.args[0]}" for job in q.get_jobs()]


@pytest.mark.slow  # about 1 s: 260 messages
def test_a_message_and_an_urgent_broadcast_go_ahead_of_a_broadcast_already_queued(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    """A city-wide broadcast's chunks take hours at the account's rate; a report's news to
    one resident and an urgent broadcast created meanwhile are sent before those chunks."""
    add_residents(ctx.sessions, 250)  # Sopocachi: three chunks
    [neighbour] = add_residents(ctx.sessions, 1, zone="San Pedro")
    urgent_to = add_residents(ctx.sessions, 2, zone="Miraflores")
    normal = announce(ctx.sessions)
    assert relay(ctx.sessions, q) == 1
    SimpleWorker([q], connection=q.connection).work(burst=True, max_jobs=1)  # prepares it
    assert job_names(q) == [f"send_chunk:{normal}"] * 3

    with transaction(ctx.sessions) as session:
        resident = session.get(Resident, neighbour)
        assert resident is not None
        message_id = queue_message(session, resident, "Su reporte R-2QNA: resuelto.").id
    urgent = announce(ctx.sessions, "zona:Miraflores", urgent=True)
    assert relay(ctx.sessions, q) == 2
    names = job_names(q)
    assert set(names[:2]) == {f"send_message:{message_id}", f"prepare_broadcast:{urgent}"}
    assert names[2:] == [f"send_chunk:{normal}"] * 3

    # The urgent broadcast's preparation puts its chunk ahead of the earlier broadcast's too.
    worker = SimpleWorker([q], connection=q.connection)
    while job_names(q)[0] != f"prepare_broadcast:{urgent}":
        worker.work(burst=True, max_jobs=1)
    worker.work(burst=True, max_jobs=1)
    assert job_names(q)[0] == f"send_chunk:{urgent}"
    assert job_names(q)[-3:] == [f"send_chunk:{normal}"] * 3

    drain(ctx, q)
    assert tw.count == 253  # everyone once: nothing was skipped or sent twice
    assert set(per_recipient(tw).values()) == {1}
    assert broadcast(ctx.sessions, urgent).status == "done"
    assert set(phones(ctx.sessions, urgent_to)) <= set(per_recipient(tw))


# -- outages, crashes, cancel --------------------------------------------------------------


def test_redis_down_keeps_the_broadcast_in_the_outbox(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 5)
    broadcast_id = announce(ctx.sessions)
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        with pytest.raises(redis.ConnectionError):
            relay(ctx.sessions, queue(down))
    finally:
        down.close()
    with ctx.sessions() as session:
        assert [e.relayed_at for e in session.scalars(select(OutboxEntry))] == [None]
    assert broadcast(ctx.sessions, broadcast_id).status == "scheduled"

    drain(ctx, q)
    assert tw.count == 5 and broadcast(ctx.sessions, broadcast_id).status == "done"


@pytest.mark.slow  # over 1 s: 150 messages through the sweeper and RQ
def test_prepared_but_never_enqueued_chunks_are_picked_up_by_the_sweeper(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 150)
    broadcast_id = announce(ctx.sessions)
    prepared(ctx, broadcast_id)  # the process died before enqueueing its chunks
    swept = sweep(ctx, q)
    assert swept.enqueued == 2
    drain(ctx, q)
    assert tw.count == 150 and broadcast(ctx.sessions, broadcast_id).status == "done"


def test_sweeper_without_rq_sends_in_process(ctx: WorkerContext, tw: TwilioLocal, q: Queue) -> None:
    add_residents(ctx.sessions, 30)
    broadcast_id = announce(ctx.sessions)
    prepared(ctx, broadcast_id)
    sweep(ctx, None, connection=q.connection)
    assert tw.count == 30 and broadcast(ctx.sessions, broadcast_id).status == "done"


def test_claims_of_a_dead_worker_become_unknown_and_the_rest_is_sent(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    ids = add_residents(ctx.sessions, 20)
    broadcast_id = announce(ctx.sessions)
    prepared(ctx, broadcast_id)
    claimed = ids[:5]
    with transaction(ctx.sessions) as session:  # a worker claimed these, then was killed
        session.execute(
            update(Delivery)
            .where(Delivery.resident_id.in_(claimed))
            .values(status="sending", claimed_by="elsewhere:1:dead", claimed_at=utcnow())
        )
    alive = ids[5:7]
    q.connection.set(ALIVE_KEY.format("elsewhere:2:alive"), "1", ex=60)
    with transaction(ctx.sessions) as session:  # and these by a worker still running
        session.execute(
            update(Delivery)
            .where(Delivery.resident_id.in_(alive))
            .values(status="sending", claimed_by="elsewhere:2:alive", claimed_at=utcnow())
        )

    swept = sweep(ctx, q)
    assert (swept.resolved, swept.waiting, swept.enqueued) == (5, 2, 1)
    rows = deliveries(ctx.sessions, broadcast_id)
    assert {rows[i].status for i in claimed} == {"unknown"}
    drain_without_waiting(ctx, q)
    assert tw.count == 13
    rows = deliveries(ctx.sessions, broadcast_id)
    assert {rows[i].status for i in alive} == {"sending"}
    assert broadcast(ctx.sessions, broadcast_id).status == "sending"

    q.connection.delete(ALIVE_KEY.format("elsewhere:2:alive"))  # it died too
    sweep(ctx, q)
    assert {deliveries(ctx.sessions, broadcast_id)[i].status for i in alive} == {"unknown"}
    assert broadcast(ctx.sessions, broadcast_id).status == "done"
    assert tw.count == 13


def drain_without_waiting(ctx: WorkerContext, q: Queue) -> None:
    from worker import runner

    saved = runner.SETTLE_SECONDS
    runner.SETTLE_SECONDS = -ctx.config.worker_alive_ttl
    try:
        drain(ctx, q)
    finally:
        runner.SETTLE_SECONDS = saved


def test_cancel_stops_what_has_not_gone_out(ctx: WorkerContext, q: Queue, tw: TwilioLocal) -> None:
    add_residents(ctx.sessions, 40)
    broadcast_id = announce(ctx.sessions)
    ranges = prepared(ctx, broadcast_id)
    run_chunk(ctx, q.connection, broadcast_id, ranges[0][0], ranges[0][0] + 9, wait=True)
    assert tw.count == 10
    with transaction(ctx.sessions) as session:
        assert store.cancel_broadcast(session, broadcast_id) == 30
    enqueue_chunks(q, broadcast_id, ranges)
    drain(ctx, q)
    assert tw.count == 10
    counts = Counter(d.status for d in deliveries(ctx.sessions, broadcast_id).values())
    assert counts == Counter({"queued": 10, "canceled": 30})
    assert broadcast(ctx.sessions, broadcast_id).status == "canceled"
    with transaction(ctx.sessions) as session, pytest.raises(ValueError, match="already"):
        store.cancel_broadcast(session, broadcast_id)


def test_resident_who_opts_out_after_preparation_is_not_messaged(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    leaving, staying = add_residents(ctx.sessions, 2)
    broadcast_id = announce(ctx.sessions)
    prepared(ctx, broadcast_id)
    with transaction(ctx.sessions) as session:
        session.execute(update(Resident).where(Resident.id == leaving).values(status="opted_out"))
    sweep(ctx, q)
    drain(ctx, q)
    rows = deliveries(ctx.sessions, broadcast_id)
    assert (rows[leaving].status, rows[staying].status) == ("opted_out", "queued")
    assert tw.sent_to(phones(ctx.sessions, [leaving])[0]) == []


# -- progress ------------------------------------------------------------------------------


def stats_of(ctx: WorkerContext) -> list[dict[str, object]]:
    with ctx.sessions() as session:
        return stats(session)["broadcasts"]  # type: ignore[no-any-return]


def test_stats_show_counts_and_an_eta_while_sending(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 10)
    broadcast_id = announce(ctx.sessions)
    ranges = prepared(ctx, broadcast_id)
    run_chunk(ctx, q.connection, broadcast_id, ranges[0][0], ranges[0][0] + 3, wait=True)
    now = utcnow()
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(prepared_at=now - timedelta(seconds=4))
        )
    (row,) = stats_of(ctx)
    assert {k: row[k] for k in ("id", "kind", "target", "recipients", "status")} == {
        "id": broadcast_id,
        "kind": "announcement",
        "target": "zona:Sopocachi",
        "recipients": 10,
        "status": "sending",
    }
    counts = row["status_counts"]
    assert isinstance(counts, dict)
    assert {k: counts[k] for k in ("pending", "sent", "failed", "unknown", "opted_out")} == {
        "pending": 6,
        "sent": 4,
        "failed": 0,
        "unknown": 0,
        "opted_out": 0,
    }
    assert {"sending", "delivered", "read"} <= set(counts)
    assert isinstance(row["eta_seconds"], int) and row["eta_seconds"] >= 6
    # 4 sent in the 4 s since it was prepared: the 6 left take 6 s more.
    with ctx.sessions() as session:
        (at_now,) = store.broadcast_stats(session, now=now)
    assert at_now["eta_seconds"] == 6
    drain(ctx, q)
    (row,) = stats_of(ctx)
    assert row["status"] == "done" and row["eta"] is None


def aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_whatsapp_resident_gets_sms_when_no_whatsapp_number_is_configured(
    config: Config, tw: TwilioLocal, q: Queue
) -> None:
    with installed(broadcast_config(config, tw, twilio_whatsapp_from=None)) as ctx:
        (only,) = add_residents(ctx.sessions, 1, channel="whatsapp", whatsapp_recent=True)
        (phone,) = phones(ctx.sessions, [only])
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)
        (sent,) = tw.requests
        assert (sent["To"], sent["From"]) == (phone, SMS_FROM)
        assert deliveries(ctx.sessions, broadcast_id)[only].channel == "sms"


# -- consent at the moment of sending ------------------------------------------------------


def test_a_resident_who_opts_out_mid_broadcast_gets_nothing_after_the_commit(
    config: Config, tw: TwilioLocal, q: Queue
) -> None:
    """SEND_RATE=10: sends leave 0.1 s apart. Three times, right after a send, a resident a
    few places further in line texts BAJA; none of them may get the broadcast afterwards."""
    with installed(broadcast_config(config, tw, send_rate=10)) as ctx:
        ids = add_residents(ctx.sessions, 30)
        numbers = phones(ctx.sessions, ids)
        committed: dict[str, float] = {}

        def opt_out_three_residents() -> None:
            for after in (4, 11, 18):
                deadline = time_.monotonic() + 30
                while tw.count < after and time_.monotonic() < deadline:
                    time_.sleep(0.002)
                sent = {r["To"] for r in tw.requests}
                upcoming = [n for n in numbers if n not in sent]
                phone = upcoming[2]  # two sends from now: 0.2 s away
                Chat(ctx.sessions, phone=phone).say("BAJA")
                committed[phone] = time_.monotonic()

        residents = threading.Thread(target=opt_out_three_residents)
        residents.start()
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)  # in this thread: RQ installs signal handlers
        residents.join(timeout=60)

        assert len(committed) == 3
        late = [r for r in tw.requests if r["To"] in committed and r["t"] > committed[r["To"]]]
        assert late == [], "messaged after their BAJA was committed"
        statuses = Counter(row.status for row in deliveries(ctx.sessions, broadcast_id).values())
        assert statuses == {"queued": 27, "opted_out": 3}
        assert tw.count == 27
