"""Zona information nobody has checked: the sweeper tells the zona's leader, in their language,
in one SMS through the outbox and the real worker, at most once a week, never at night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from bot.channels import segments
from bot.config import Config
from storage.db import transaction
from storage.info import add_item, resolve_scope
from storage.leaders import add_leader
from storage.models import InfoItem, Resident, Zone
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import installed, twilio_config
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.outbox import relay
from worker.reminders import REMIND_EVERY
from worker.runner import BurstWorker
from worker.sweeper import sweep

pytestmark = pytest.mark.usefixtures("local_only")

SOPOCACHI_LEADER = "+59171000900"
ACHUMANI_LEADER = "+59171000901"
NOT_SIGNED_UP = "+59171000902"
# Midday in La Paz (16:00 UTC), well after INFO_STALE_DAYS (180) from OLD.
NOON = datetime(2026, 12, 1, 16, tzinfo=UTC)
OLD = NOON - timedelta(days=200)
RECENT = NOON - timedelta(days=10)


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(twilio_config(config, tw)) as ctx:
        yield ctx


def leader_of(ctx: WorkerContext, phone: str, zone: str, lang: str | None) -> None:
    if lang is not None:
        onboard(Chat(ctx.sessions, phone=phone), lang, zone)
    with transaction(ctx.sessions) as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
        add_leader(session, phone, zone_id)


def item(ctx: WorkerContext, scope: str, text: str, checked: datetime) -> int:
    with transaction(ctx.sessions) as session:
        return add_item(session, "health", resolve_scope(session, scope), text, None, checked).id


def setting(ctx: WorkerContext) -> dict[str, int]:
    leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    leader_of(ctx, NOT_SIGNED_UP, "San Jorge", None)
    return {
        "sopocachi1": item(ctx, "zona:Sopocachi", "Posta de Sopocachi.", OLD),
        "sopocachi2": item(ctx, "zona:Sopocachi", "Escuela Sopocachi.", OLD),
        "fresh": item(ctx, "zona:Sopocachi", "Feria Sopocachi.", RECENT),
        "achumani": item(ctx, "zona:Achumani", "Posta de Achumani.", OLD),
        "san jorge": item(ctx, "zona:San Jorge", "Posta de San Jorge.", OLD),
        # The macrodistrito's items are its subalcaldía's to check, not a zona leader's.
        "macro": item(ctx, "macro:Cotahuma", "Subalcaldía Cotahuma.", OLD),
    }


def deliver(ctx: WorkerContext, q: Queue) -> None:
    relay(ctx.sessions, q)
    BurstWorker([q], connection=q.connection).work(burst=True, logging_level="WARNING")


def bodies(tw: TwilioLocal, phone: str) -> list[str]:
    return [str(r["Body"]) for r in tw.sent_to(phone)]


def test_leaders_hear_of_stale_items_once_a_week_in_their_language(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    ids = setting(ctx)

    assert sweep(ctx, q, now=NOON).reminded == 2
    deliver(ctx, q)
    [spanish] = bodies(tw, SOPOCACHI_LEADER)
    assert spanish == (
        "Mi Barrio: 2 datos de la zona Sopocachi no se revisan hace mas de 180 dias. "
        "Escriba INFO EDITAR para confirmarlos o corregirlos."
    )
    [aymara] = bodies(tw, ACHUMANI_LEADER)
    assert "zona Achumani ukan 1 datos 180 urut" in aymara and "INFO EDITAR" in aymara
    assert segments(spanish) == segments(aymara) == 1
    assert bodies(tw, NOT_SIGNED_UP) == []

    # Sweeps run every few seconds: nothing more for a week.
    assert sweep(ctx, q, now=NOON + timedelta(hours=1)).reminded == 0
    assert sweep(ctx, q, now=NOON + REMIND_EVERY - timedelta(minutes=1)).reminded == 0

    # Sopocachi's leader checks their items (as INFO EDITAR does); Achumani's does not.
    with transaction(ctx.sessions) as session:
        session.execute(
            update(InfoItem)
            .where(InfoItem.id.in_([ids["sopocachi1"], ids["sopocachi2"]]))
            .values(checked_at=NOON + timedelta(days=1))
        )
    assert sweep(ctx, q, now=NOON + REMIND_EVERY).reminded == 1
    deliver(ctx, q)
    assert len(bodies(tw, SOPOCACHI_LEADER)) == 1
    assert len(bodies(tw, ACHUMANI_LEADER)) == 2


def test_no_reminder_at_night_nor_to_a_leader_who_opted_out(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    setting(ctx)
    night = datetime(2026, 12, 2, 3, tzinfo=UTC)  # 23:00 in La Paz
    assert sweep(ctx, q, now=night).reminded == 0
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Resident).where(Resident.phone == ACHUMANI_LEADER).values(status="opted_out")
        )
    assert sweep(ctx, q, now=NOON + timedelta(days=1)).reminded == 1
    deliver(ctx, q)
    assert bodies(tw, ACHUMANI_LEADER) == [] and len(bodies(tw, SOPOCACHI_LEADER)) == 1
