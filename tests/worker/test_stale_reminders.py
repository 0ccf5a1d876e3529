"""Zona information nobody has checked: the sweeper tells the zona's leader, in their language,
in one SMS through the outbox and the real worker, at most once a week, never at night."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from storage.db import transaction
from storage.info import add_item, resolve_scope
from storage.leaders import add_leader
from storage.models import InfoItem, Zone
from tests.conftest import Chat
from tests.factories import onboard
from tests.worker.conftest import NOON, Sweeper, quiet_by_night_and_not_to_who_opted_out
from worker.context import WorkerContext
from worker.reminders import REMIND_EVERY

pytestmark = pytest.mark.usefixtures("local_only")

SOPOCACHI_LEADER = "+59171000900"
ACHUMANI_LEADER = "+59171000901"
NOT_SIGNED_UP = "+59171000902"
# Well before NOON: past INFO_STALE_DAYS (180) for OLD, not for RECENT.
OLD = NOON - timedelta(days=200)
RECENT = NOON - timedelta(days=10)


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


def test_leaders_hear_of_stale_items_once_a_week_in_their_language(sweeper: Sweeper) -> None:
    ids = setting(sweeper.ctx)

    assert sweeper.sweep(NOON).reminded == 2
    spanish, aymara = sweeper.heard(SOPOCACHI_LEADER, ACHUMANI_LEADER)
    assert spanish == (
        "Mi Barrio: 2 datos de la zona Sopocachi no se revisan hace mas de 180 dias. "
        "Escriba INFO EDITAR para confirmarlos o corregirlos."
    )
    assert "zona Achumani ukan 1 datos 180 urut" in aymara and "INFO EDITAR" in aymara
    assert sweeper.sent(NOT_SIGNED_UP) == [] and len(sweeper.sent(SOPOCACHI_LEADER)) == 1

    # Sweeps run every few seconds: nothing more for a week.
    assert sweeper.sweep(NOON + timedelta(hours=1)).reminded == 0
    assert sweeper.sweep(NOON + REMIND_EVERY - timedelta(minutes=1)).reminded == 0

    # Sopocachi's leader checks their items (as INFO EDITAR does); Achumani's does not.
    with transaction(sweeper.ctx.sessions) as session:
        session.execute(
            update(InfoItem)
            .where(InfoItem.id.in_([ids["sopocachi1"], ids["sopocachi2"]]))
            .values(checked_at=NOON + timedelta(days=1))
        )
    assert sweeper.sweep(NOON + REMIND_EVERY).reminded == 1
    sweeper.deliver()
    assert len(sweeper.sent(SOPOCACHI_LEADER)) == 1
    assert len(sweeper.sent(ACHUMANI_LEADER)) == 2


def test_no_reminder_at_night_nor_to_a_leader_who_opted_out(sweeper: Sweeper) -> None:
    setting(sweeper.ctx)
    quiet_by_night_and_not_to_who_opted_out(
        sweeper, "reminded", ACHUMANI_LEADER, SOPOCACHI_LEADER, NOON + timedelta(days=1)
    )
