"""An offer hidden by its third report: the sweeper tells the zona's leaders, each in their
language, in one SMS through the outbox and the real worker, once per hiding; a hiding at night
is told in the morning, never at 3 a.m."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.leaders import add_leader
from storage.models import Zone
from tests.conftest import Chat
from tests.factories import onboard
from tests.worker.conftest import NOON, Sweeper, quiet_by_night_and_not_to_who_opted_out
from worker.context import WorkerContext

pytestmark = pytest.mark.usefixtures("local_only")

SOPOCACHI_LEADER = "+59171000930"
ACHUMANI_LEADER = "+59171000931"
# 3 a.m. in La Paz (07:00 UTC), and half past seven that morning, after the quiet hours.
THREE_AM = datetime(2026, 12, 2, 7, tzinfo=UTC)
MORNING = datetime(2026, 12, 2, 11, 30, tzinfo=UTC)
# In the notice, either language (the leaders get other messages too).
TOLD = "OFERTAS"
# The neighbours who report, per zona.
SEEKERS = {"Sopocachi": "+5917100094", "Achumani": "+5917100096"}


def resident(ctx: WorkerContext, phone: str, zone: str, lang: str = "1") -> Chat:
    return onboard(Chat(ctx.sessions, phone=phone, now=NOON - timedelta(days=1)), lang, zone)


def leader_of(ctx: WorkerContext, phone: str, zone: str, lang: str) -> Chat:
    lead = resident(ctx, phone, zone, lang)
    with transaction(ctx.sessions) as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
        add_leader(session, phone, zone_id)
    return lead


def offered(ctx: WorkerContext, phone: str, zone: str) -> None:
    """A plumbing offer of the zona, shown to its neighbours."""
    chat = resident(ctx, phone, zone)
    for said in ("OFREZCO", "1", f"Plomero de {zone}", "1"):
        chat.say(said)


def reported(ctx: WorkerContext, zone: str, now: datetime, *, again: bool = False) -> None:
    """Three neighbours of the zona find the zona's plumbing offer and report it (`again`: the
    same neighbours as before)."""
    for n in range(3):
        phone = f"{SEEKERS[zone]}{n}"
        seeker = Chat(ctx.sessions, phone=phone) if again else resident(ctx, phone, zone)
        seeker.now = now
        for said in ("MENU", "BUSCO", "1"):
            seeker.say(said)
        assert "revisaremos esa oferta" in seeker.say("R1")


def test_leaders_hear_once_per_hiding_in_their_language(sweeper: Sweeper) -> None:
    ctx = sweeper.ctx
    sopocachi = leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    offered(ctx, "+59171000932", "Sopocachi")
    offered(ctx, "+59171000933", "Achumani")
    late = resident(ctx, "+59171000939", "Sopocachi")
    late.say("BUSCO")
    late.say("1")  # the offer on screen before it is hidden
    reported(ctx, "Sopocachi", NOON)
    reported(ctx, "Achumani", NOON)
    # The reports themselves send nothing: the sweeper does.
    sweeper.deliver()
    assert sweeper.sent(SOPOCACHI_LEADER) == sweeper.sent(ACHUMANI_LEADER) == []

    assert sweeper.sweep(NOON + timedelta(minutes=1)).hidden_told == 2
    spanish, aymara = sweeper.heard(SOPOCACHI_LEADER, ACHUMANI_LEADER)
    assert spanish == (
        "Mi Barrio: vecinos reportaron una oferta de Plomeria de Sopocachi y ya no se muestra. "
        "Escriba OFERTAS para revisarla."
    )
    assert aymara.startswith("Mi Barrio: markachirinakax Achumani zonan Plomeria servicio")
    assert "OFERTAS" in aymara

    # A fourth report, and sweeps every few seconds: still once per hiding.
    assert "revisaremos esa oferta" in late.say("R1")
    assert sweeper.sweep(NOON + timedelta(hours=2)).hidden_told == 0

    # Sopocachi's leader shows it again; the same neighbours hide it again: told again.
    sopocachi.now = NOON + timedelta(hours=3)
    sopocachi.say("OFERTAS")
    assert "vuelve a mostrarse" in sopocachi.say("APROBAR 1")
    reported(ctx, "Sopocachi", NOON + timedelta(hours=4), again=True)
    assert sweeper.sweep(NOON + timedelta(hours=5)).hidden_told == 1
    assert sweeper.heard(SOPOCACHI_LEADER) == [spanish]
    assert len(sweeper.sent(SOPOCACHI_LEADER, TOLD)) == 2
    assert len(sweeper.sent(ACHUMANI_LEADER, TOLD)) == 1


def test_an_offer_hidden_at_3_am_is_told_in_the_morning(sweeper: Sweeper) -> None:
    ctx = sweeper.ctx
    leader_of(ctx, SOPOCACHI_LEADER, "Sopocachi", "1")
    leader_of(ctx, ACHUMANI_LEADER, "Achumani", "2")
    offered(ctx, "+59171000932", "Sopocachi")
    offered(ctx, "+59171000933", "Achumani")
    reported(ctx, "Sopocachi", THREE_AM)
    reported(ctx, "Achumani", THREE_AM)
    sweeper.deliver()
    assert sweeper.sent(SOPOCACHI_LEADER) == []
    # Nothing at 3 a.m.; in the morning the Sopocachi leader hears, not the one who opted out.
    quiet_by_night_and_not_to_who_opted_out(
        sweeper, "hidden_told", ACHUMANI_LEADER, SOPOCACHI_LEADER, MORNING, night=THREE_AM
    )
