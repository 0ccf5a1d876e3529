"""Youth mappers' items waiting for review: the sweeper tells the zona's leader, in their
language, in one SMS through the outbox and the real worker, at most once a day, only when new
items wait, never at night."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from storage.db import transaction
from storage.leaders import add_leader
from storage.models import MappedItem, Zone
from tests.conftest import Chat
from tests.factories import onboard
from tests.worker.conftest import NOON, Sweeper, quiet_by_night_and_not_to_who_opted_out
from worker.context import WorkerContext
from worker.reminders import MAPPING_EVERY

pytestmark = pytest.mark.usefixtures("local_only")

SOPOCACHI_LEADER = "+59171000910"
ACHUMANI_LEADER = "+59171000911"
SOPOCACHI_MAPPER = "+59171000912"
ACHUMANI_MAPPER = "+59171000913"
# What the leaders are told (they get other messages too).
TOLD = "MAPEO REVISAR"


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


def test_leaders_hear_once_a_day_that_new_mapped_items_wait(sweeper: Sweeper) -> None:
    ctx = sweeper.ctx
    sopocachi = leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    achumani = leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    youth = mapper_of(sopocachi, SOPOCACHI_MAPPER, "Sopocachi")
    other = mapper_of(achumani, ACHUMANI_MAPPER, "Achumani")
    # Nothing waits yet: nobody is told.
    assert sweeper.sweep(NOON).mapping_told == 0

    record(youth, "Plaza Avaroa", NOON)
    record(youth, "Plaza España", NOON)
    record(other, "Cancha de Achumani", NOON)
    assert sweeper.sweep(NOON + timedelta(minutes=1)).mapping_told == 2
    spanish, aymara = sweeper.heard(SOPOCACHI_LEADER, ACHUMANI_LEADER, containing=TOLD)
    assert spanish == (
        "Mi Barrio: 2 registros de los mapeadores de Sopocachi esperan su revision. "
        "Escriba MAPEO REVISAR para verlos."
    )
    assert "zona Achumani ukan mapeadoranakan 1 qillqatanakapax" in aymara

    # A new item the same day: no second SMS until a day has passed.
    record(youth, "Cancha Guachalla", NOON + timedelta(hours=2))
    assert sweeper.sweep(NOON + timedelta(hours=3)).mapping_told == 0
    # A day later: Sopocachi has a new item since the SMS, Achumani only the old one.
    assert sweeper.sweep(NOON + MAPPING_EVERY + timedelta(minutes=1)).mapping_told == 1
    [again] = sweeper.heard(SOPOCACHI_LEADER, containing=TOLD)
    assert "3 registros" in again and len(sweeper.sent(SOPOCACHI_LEADER, TOLD)) == 2
    assert len(sweeper.sent(ACHUMANI_LEADER, TOLD)) == 1

    # All reviewed: nothing more, whatever the day.
    with transaction(ctx.sessions) as session:
        session.execute(update(MappedItem).values(status="approved"))
    assert sweeper.sweep(NOON + 3 * MAPPING_EVERY).mapping_told == 0


def test_no_notice_at_night_nor_to_a_leader_who_opted_out(sweeper: Sweeper) -> None:
    sopocachi = leader_of(sweeper.ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    achumani = leader_of(sweeper.ctx, ACHUMANI_LEADER, "Achumani", "2")
    record(mapper_of(sopocachi, SOPOCACHI_MAPPER, "Sopocachi"), "Plaza Avaroa", NOON)
    record(mapper_of(achumani, ACHUMANI_MAPPER, "Achumani"), "Cancha", NOON)
    quiet_by_night_and_not_to_who_opted_out(
        sweeper,
        "mapping_told",
        ACHUMANI_LEADER,
        SOPOCACHI_LEADER,
        NOON + timedelta(days=1),
        containing=TOLD,
    )
