"""Youth mappers' items waiting for review: the sweeper tells the zona's leader, in their
language, in one SMS through the outbox and the real worker, at most once a day, only when new
items wait, never at night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from bot.channels import segments
from bot.config import Config
from storage.db import transaction
from storage.leaders import add_leader
from storage.models import MappedItem, Resident, Zone
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import installed, twilio_config
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.outbox import relay
from worker.reminders import MAPPING_EVERY
from worker.runner import BurstWorker
from worker.sweeper import sweep

pytestmark = pytest.mark.usefixtures("local_only")

SOPOCACHI_LEADER = "+59171000910"
ACHUMANI_LEADER = "+59171000911"
SOPOCACHI_MAPPER = "+59171000912"
ACHUMANI_MAPPER = "+59171000913"
# Midday in La Paz (16:00 UTC).
NOON = datetime(2026, 12, 1, 16, tzinfo=UTC)


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(twilio_config(config, tw)) as ctx:
        yield ctx


def leader_of(ctx: WorkerContext, phone: str, zone: str, lang: str) -> Chat:
    chat = onboard(Chat(ctx.sessions, phone=phone, now=NOON), lang, zone)
    with transaction(ctx.sessions) as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
        add_leader(session, phone, zone_id)
    return chat


def mapper_of(lead: Chat, phone: str, zone: str) -> Chat:
    youth = onboard(Chat(lead.sessions, phone=phone, now=lead.now), "1", zone)
    assert phone[4:] in lead.say(f"MAPEADOR ALTA {phone[4:]}")
    return youth


def record(youth: Chat, text: str, now: datetime) -> None:
    youth.now = now
    for said in ("MAPEO", "1", "1", text, "1"):
        youth.say(said)


def deliver(ctx: WorkerContext, q: Queue) -> None:
    relay(ctx.sessions, q)
    BurstWorker([q], connection=q.connection).work(burst=True, logging_level="WARNING")


def told(tw: TwilioLocal, phone: str) -> list[str]:
    return [str(r["Body"]) for r in tw.sent_to(phone) if "MAPEO REVISAR" in str(r["Body"])]


def test_leaders_hear_once_a_day_that_new_mapped_items_wait(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    sopocachi = leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    achumani = leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    youth = mapper_of(sopocachi, SOPOCACHI_MAPPER, "Sopocachi")
    other = mapper_of(achumani, ACHUMANI_MAPPER, "Achumani")
    # Nothing waits yet: nobody is told.
    assert sweep(ctx, q, now=NOON).mapping_told == 0

    record(youth, "Plaza Avaroa", NOON)
    record(youth, "Plaza España", NOON)
    record(other, "Cancha de Achumani", NOON)
    assert sweep(ctx, q, now=NOON + timedelta(minutes=1)).mapping_told == 2
    deliver(ctx, q)
    [spanish] = told(tw, SOPOCACHI_LEADER)
    assert spanish == (
        "Mi Barrio: 2 registros de los mapeadores de Sopocachi esperan su revision. "
        "Escriba MAPEO REVISAR para verlos."
    )
    [aymara] = told(tw, ACHUMANI_LEADER)
    assert "zona Achumani ukan mapeadoranakan 1 qillqatanakapax" in aymara
    assert segments(spanish) == segments(aymara) == 1

    # A new item the same day: no second SMS until a day has passed.
    record(youth, "Cancha Guachalla", NOON + timedelta(hours=2))
    assert sweep(ctx, q, now=NOON + timedelta(hours=3)).mapping_told == 0
    # A day later: Sopocachi has a new item since the SMS, Achumani only the old one.
    assert sweep(ctx, q, now=NOON + MAPPING_EVERY + timedelta(minutes=1)).mapping_told == 1
    deliver(ctx, q)
    assert len(told(tw, SOPOCACHI_LEADER)) == 2 and "3 registros" in told(tw, SOPOCACHI_LEADER)[-1]
    assert len(told(tw, ACHUMANI_LEADER)) == 1

    # All reviewed: nothing more, whatever the day.
    with transaction(ctx.sessions) as session:
        session.execute(update(MappedItem).values(status="approved"))
    assert sweep(ctx, q, now=NOON + 3 * MAPPING_EVERY).mapping_told == 0


def test_no_notice_at_night_nor_to_a_leader_who_opted_out(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    sopocachi = leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    achumani = leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    record(mapper_of(sopocachi, SOPOCACHI_MAPPER, "Sopocachi"), "Plaza Avaroa", NOON)
    record(mapper_of(achumani, ACHUMANI_MAPPER, "Achumani"), "Cancha", NOON)
    night = datetime(2026, 12, 2, 3, tzinfo=UTC)  # 23:00 in La Paz
    assert sweep(ctx, q, now=night).mapping_told == 0
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Resident).where(Resident.phone == ACHUMANI_LEADER).values(status="opted_out")
        )
    assert sweep(ctx, q, now=NOON + timedelta(days=1)).mapping_told == 1
    deliver(ctx, q)
    assert told(tw, ACHUMANI_LEADER) == [] and len(told(tw, SOPOCACHI_LEADER)) == 1
