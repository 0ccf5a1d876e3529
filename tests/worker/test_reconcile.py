"""Unknown sends are settled by asking Twilio's Message list, never left and never resent blindly.

A send is unknown when the request may have reached Twilio but no answer came back. The local
stand-in keeps every message it accepted, dropped connections and timeouts included, and
answers the list resource like Twilio, so "found" and "not found" are both real answers here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.db import transaction
from storage.models import Broadcast, Delivery, OutboundMessage, Resident, utcnow
from storage.outbox import queue_message
from tests.conftest import Chat
from tests.factories import add_residents, announce, broadcast, deliveries, onboard, phones
from tests.factories import resident as find
from tests.helpers import broadcast_config, installed, twilio_config
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.reconcile import ReconcileResult, reconcile
from worker.runner import drain

pytestmark = pytest.mark.usefixtures("local_only")

BODY = "Su reporte R-ABCD está en curso."


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(twilio_config(config, tw, twilio_timeout=0.5)) as ctx:
        yield ctx


def settle(ctx: WorkerContext) -> ReconcileResult:
    """A reconciliation pass once RECONCILE_AFTER (600 s) has gone by."""
    return reconcile(ctx, now=utcnow() + timedelta(seconds=ctx.config.reconcile_after + 1))


def queued(chat: Chat, ctx: WorkerContext) -> tuple[str, int]:
    onboard(chat)
    with transaction(ctx.sessions) as session:
        resident = session.get(Resident, find(ctx.sessions).id)
        assert resident is not None
        return resident.phone or "", queue_message(session, resident, BODY).id


def message(sessions: sessionmaker[Session], message_id: int) -> OutboundMessage:
    with sessions() as session:
        row = session.get(OutboundMessage, message_id)
        assert row is not None
        return row


@pytest.mark.parametrize("fault", ["drop", "timeout"])
def test_a_message_twilio_got_is_found_and_never_sent_again(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal, fault: str
) -> None:
    phone, message_id = queued(chat, ctx)
    if fault == "drop":
        tw.drop(phone)  # accepted, then the connection closed before the answer
    else:
        tw.hang(phone, 2.0)  # accepted, answered after our 0.5 s timeout
    drain(ctx, q)
    assert message(ctx.sessions, message_id).status == "unknown"

    settled = settle(ctx)

    assert (settled.found, settled.resent, settled.failed) == (1, 0, 0)
    row = message(ctx.sessions, message_id)
    assert row.status == "queued"
    assert row.twilio_sid == tw.sent_to(phone)[0]["sid"]
    drain(ctx, q)
    assert len(tw.sent_to(phone)) == 1, "found at Twilio, yet sent again"
    assert settle(ctx).settled == 0


def test_a_message_twilio_never_got_goes_out_once_more(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    phone, message_id = queued(chat, ctx)
    tw.fail(phone, 500, None, times=1)  # a 5xx: Twilio may or may not have kept it; here it did not
    drain(ctx, q)
    assert message(ctx.sessions, message_id).status == "unknown"

    assert settle(ctx).resent == 1
    drain(ctx, q)

    row = message(ctx.sessions, message_id)
    assert (row.status, row.resent) == ("queued", True)
    assert [r["Body"] for r in tw.sent_to(phone)] == [BODY]


def test_a_resent_message_that_is_lost_again_fails_instead_of_looping(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    phone, message_id = queued(chat, ctx)
    tw.fail(phone, 503, None, times=2)
    drain(ctx, q)
    assert settle(ctx).resent == 1
    drain(ctx, q)
    assert message(ctx.sessions, message_id).status == "unknown"

    assert settle(ctx).failed == 1
    drain(ctx, q)

    assert message(ctx.sessions, message_id).status == "failed"
    assert tw.sent_to(phone) == []
    assert len(tw.errors) == 2


def test_a_failed_lookup_settles_nothing(
    chat: Chat, config: Config, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    phone, message_id = queued(chat, ctx)
    tw.drop(phone)
    drain(ctx, q)
    unreachable = replace(ctx.config, twilio_api_base_url="http://127.0.0.1:1")
    with installed(unreachable) as offline:
        result = settle(offline)
    assert (result.settled, result.left) == (0, 1)
    assert message(ctx.sessions, message_id).status == "unknown"

    assert settle(ctx).found == 1  # Twilio answers again: settled on the next pass


def test_unknown_sends_wait_for_the_period_before_being_looked_up(
    chat: Chat, config: Config, tw: TwilioLocal, q: Queue
) -> None:
    with installed(twilio_config(config, tw, twilio_timeout=0.5)) as ctx:  # 600 s by default
        phone, message_id = queued(chat, ctx)
        tw.drop(phone)
        drain(ctx, q)
        assert reconcile(ctx, now=utcnow() + timedelta(seconds=590)).settled == 0
        assert tw.lookups == 0
        assert message(ctx.sessions, message_id).status == "unknown"


def test_an_erased_resident_is_not_looked_up_or_messaged(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    phone, message_id = queued(chat, ctx)
    tw.fail(phone, 500, None)
    drain(ctx, q)
    chat.say("BORRAR")
    chat.say("SI")

    assert settle(ctx).failed == 1
    drain(ctx, q)
    assert tw.lookups == 0
    assert message(ctx.sessions, message_id).status == "failed"
    assert tw.sent_to(phone) == []


def test_broadcast_deliveries_are_settled_and_the_broadcast_finishes(
    config: Config, tw: TwilioLocal, q: Queue
) -> None:
    settings = broadcast_config(config, tw, twilio_timeout=0.5)
    with installed(settings) as ctx:
        ids = add_residents(ctx.sessions, 6) + add_residents(ctx.sessions, 2, language="ay")
        numbers = dict(zip(ids, phones(ctx.sessions, ids), strict=True))
        got, lost, ay_got = ids[0], ids[1], ids[-1]
        tw.drop(numbers[got])
        tw.fail(numbers[lost], 502, None, times=1)
        tw.hang(numbers[ay_got], 2.0)
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)
        rows = deliveries(ctx.sessions, broadcast_id)
        assert {rows[i].status for i in (got, lost, ay_got)} == {"unknown"}
        assert broadcast(ctx.sessions, broadcast_id).status == "done"

        result = settle(ctx)
        assert (result.found, result.resent) == (2, 1)
        assert broadcast(ctx.sessions, broadcast_id).status == "sending"
        drain(ctx, q)

        rows = deliveries(ctx.sessions, broadcast_id)
        assert {row.status for row in rows.values()} == {"queued"}
        assert rows[lost].resent and not rows[got].resent
        for resident_id, number in numbers.items():
            assert len(tw.sent_to(number)) == 1, number
            assert rows[resident_id].twilio_sid == tw.sent_to(number)[0]["sid"]
        assert broadcast(ctx.sessions, broadcast_id).status == "done"


def test_a_canceled_broadcast_is_not_sent_again(config: Config, tw: TwilioLocal, q: Queue) -> None:
    settings = broadcast_config(config, tw)
    with installed(settings) as ctx:
        (only,) = add_residents(ctx.sessions, 1)
        (number,) = phones(ctx.sessions, [only])
        tw.fail(number, 500, None)
        broadcast_id = announce(ctx.sessions)
        drain(ctx, q)
        with transaction(ctx.sessions) as session:
            session.execute(
                update(Delivery)
                .where(Delivery.broadcast_id == broadcast_id)
                .values(updated_at=utcnow())
            )
            session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(status="canceled")
            )
        settle(ctx)
        drain(ctx, q)
        assert deliveries(ctx.sessions, broadcast_id)[only].status == "canceled"
        assert tw.sent_to(number) == []
