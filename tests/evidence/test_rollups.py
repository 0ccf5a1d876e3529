"""The rollups the worker keeps give the same figure as counting the event tables, for every
measure, place and period, and stay so when texts arrive late or Twilio repeats one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.engine import InboundMessage
from bot.evidence.compare import before_after, terciles
from bot.evidence.export import places
from bot.evidence.measures import (
    Place,
    local_midnight,
    measures,
    periods,
    place,
    rollup_series_many,
    series,
)
from bot.inbound import receive
from storage import rollups
from storage.db import transaction
from storage.models import ReceivedMessage, Resident, Zone
from tests.conftest import inbound_params, signed_post
from tests.evidence.test_measures import ANA, BEA, CARO, week_one, week_two
from tests.factories import onboard

FORTNIGHT = (date(2026, 11, 2), date(2026, 11, 15))


def refresh(sessions: sessionmaker[Session], now: datetime | None = None) -> rollups.Refreshed:
    with transaction(sessions) as session:
        return rollups.refresh(session, now=now)


def both_ways(session: Session, where: Place, first: date, last: date, step: str) -> None:
    raw = series(session, where, first, last, step, source="raw")
    rolled = series(session, where, first, last, step, source="rollups")
    assert rolled == raw, where


def every_place_agrees(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        every = places(session)
        sopocachi, achumani = place(session, zone="Sopocachi"), place(session, zone="Achumani")
        pair = Place("group", "pair", (*(sopocachi.zone_ids or ()), *(achumani.zone_ids or ())))
        for where in [*every, pair]:
            both_ways(session, where, *FORTNIGHT, "week")
        # An export reads every place at once: the same figures again.
        weeks = periods(*FORTNIGHT, "week")
        assert rollup_series_many(session, [*every, pair], weeks) == [
            series(session, where, *FORTNIGHT, "week", source="raw") for where in [*every, pair]
        ]
        for where in (every[0], sopocachi, pair):
            both_ways(session, where, date(2026, 10, 1), date(2026, 11, 30), "month")
            # An odd window of whole days, and one day at a time.
            for first, last in ((date(2026, 11, 3), date(2026, 11, 10)),):
                start, end = local_midnight(first), local_midnight(last)
                assert measures(session, where, start, end, source="rollups") == measures(
                    session, where, start, end, source="raw"
                )
            for day in range(2, 12):
                start = local_midnight(date(2026, 11, day))
                end = start + timedelta(days=1)
                assert measures(session, where, start, end, source="rollups") == measures(
                    session, where, start, end, source="raw"
                ), (where, day)


def test_every_measure_from_the_rollups_equals_the_count_of_the_events(
    sessions: sessionmaker[Session], config: Config
) -> None:
    people = week_one(sessions, config)
    refresh(sessions)  # the first refresh builds everything
    every_place_agrees(sessions)
    week_two(sessions, people)  # then the worker keeps up with what happens next
    outcome = refresh(sessions)
    assert not outcome.rebuilt and outcome.residents >= 2
    every_place_agrees(sessions)
    with sessions() as session:
        city = place(session)
        # Pages read the rollups once built; the comparisons agree with the raw ones too.
        assert rollups.built(session)
        pivot = date(2026, 11, 9)
        rolled = before_after(session, city, pivot, days=7)
        window = (local_midnight(date(2026, 11, 2)), local_midnight(date(2026, 11, 16)))
        groups = terciles(session, *window, city)
    with transaction(sessions) as session:
        rollups.rebuild(session)  # a rebuild from scratch lands on the same figures
    every_place_agrees(sessions)
    with sessions() as session:
        assert before_after(session, place(session), pivot, days=7) == rolled
        assert terciles(session, *window, place(session)) == groups
    assert rolled["after"]["residents"]["opted_out"] == 1  # Caro
    assert rolled["before"]["residents"]["signed_up_new"] == 3


def noon(day: int, hours: float = 0) -> datetime:
    return datetime(2026, 11, day, 16, tzinfo=UTC) + timedelta(hours=hours)


def city_week(sessions: sessionmaker[Session], source: str) -> dict[str, Any]:
    with sessions() as session:
        [week] = series(session, place(session), date(2026, 11, 2), date(2026, 11, 8), "week",
                        source=source)  # fmt: skip
        return week


def test_late_and_repeated_texts_leave_the_rollups_equal_to_the_events(
    sessions: sessionmaker[Session], config: Config, client: Any
) -> None:
    week_two(sessions, week_one(sessions, config))
    refresh(sessions)
    before = city_week(sessions, "rollups")
    assert before == city_week(sessions, "raw")
    assert before["residents"]["active_by_channel"] == {"sms": 2, "whatsapp": 1}

    # A text stamped on the 6th (a day already counted) reaches us only now, from Caro on
    # SMS: she becomes active on a second channel that week.
    late = "SM" + "1" * 32
    msg = InboundMessage(phone=CARO, channel="sms", body="hola")
    receive(sessions, late, msg, now=noon(6))
    # Twilio repeats it (same MessageSid): stored once, counted once.
    receive(sessions, late, msg, now=noon(6))
    # And a text through the webhook, sent twice with the same MessageSid.
    params = inbound_params("MENU", ANA, sid="SM" + "2" * 32)
    assert signed_post(client, "/twilio/inbound", params).status_code == 200
    assert signed_post(client, "/twilio/inbound", params).status_code == 200
    with sessions() as session:
        sids = session.scalars(
            select(func.count())
            .select_from(ReceivedMessage)
            .where(ReceivedMessage.sid.in_([late, "SM" + "2" * 32]))
        ).one()
        assert sids == 2
    stale = city_week(sessions, "rollups")
    assert stale == before  # nothing moves until the worker runs
    refresh(sessions)
    after = city_week(sessions, "rollups")
    assert after == city_week(sessions, "raw")
    assert after["residents"]["active_by_channel"] == {"sms": 3, "whatsapp": 1}
    assert after["residents"]["active"] == 3  # Caro was active already: not twice
    refresh(sessions)  # a second run changes nothing
    assert city_week(sessions, "rollups") == after
    every_place_agrees(sessions)


def test_a_return_a_move_and_an_erasure_are_recounted(
    sessions: sessionmaker[Session], config: Config
) -> None:
    week_two(sessions, week_one(sessions, config))
    refresh(sessions)
    with transaction(sessions) as session:
        caro = session.scalars(select(Resident).where(Resident.phone == CARO)).one()
        caro.language = "ay"  # by_language is today's language, for every period
    eva = onboard(InboundChat(sessions, "+59171000009", noon(12)), zone="Achumani")
    eva.now = noon(13)
    eva.say("BORRAR")
    eva.say("1")
    late = "SM" + "3" * 32
    receive(sessions, late, InboundMessage(phone=BEA, channel="sms", body="hola"), now=noon(3, 2))
    refresh(sessions)
    every_place_agrees(sessions)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Zone)) > 0


def InboundChat(sessions: sessionmaker[Session], phone: str, now: datetime) -> Any:  # noqa: N802
    from tests.conftest import Chat

    return Chat(sessions, phone=phone, now=now)


def test_the_worker_refreshes_the_rollups_once_a_minute_one_job_at_a_time(
    sessions: sessionmaker[Session], config: Config, q: Any
) -> None:
    from rq import SimpleWorker

    from worker import context
    from worker.evidence import REFRESH_JOB, keep_current
    from worker.queues import evidence_queue

    week_two(sessions, week_one(sessions, config))
    ctx = context.build(config)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert keep_current(ctx, q, now)  # never built: a job is queued
    assert not keep_current(ctx, q, now)  # already queued: not twice
    # On the evidence queue, which its own process serves: sending never waits behind it.
    slow = evidence_queue(q)
    assert (q.job_ids, slow.job_ids) == ([], [REFRESH_JOB])
    context.use(ctx)
    try:
        SimpleWorker([slow], connection=q.connection).work(burst=True)
    finally:
        context.use(None)
    with sessions() as session:
        assert rollups.built(session)
        built_at = rollups.built_at(session)
    assert built_at is not None
    assert not keep_current(ctx, q, built_at + timedelta(seconds=30))  # fresh enough
    late = "SM" + "4" * 32
    receive(sessions, late, InboundMessage(phone=ANA, channel="whatsapp", body="hola"),
            now=noon(4))  # fmt: skip
    assert keep_current(ctx, None, built_at + timedelta(seconds=61))  # no RQ: right here
    assert city_week(sessions, "rollups") == city_week(sessions, "raw")
    assert city_week(sessions, "rollups")["residents"]["active_by_channel"]["whatsapp"] == 2
