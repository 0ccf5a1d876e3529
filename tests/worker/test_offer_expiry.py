"""An offer about to end: the sweeper tells its offerer, in their language, in one SMS through
the outbox and the real worker, once per period (renewing starts a new one), never at night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from bot.channels import segments
from bot.config import Config
from storage.db import transaction
from storage.models import Resident, ServiceOffer
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import installed, twilio_config
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.outbox import relay
from worker.runner import BurstWorker
from worker.sweeper import sweep

pytestmark = pytest.mark.usefixtures("local_only")

SPANISH = "+59171000910"
AYMARA = "+59171000911"
PAUSED = "+59171000912"
# Midday in La Paz (16:00 UTC); the offers were published 85 days before: 5 days left.
NOON = datetime(2026, 12, 1, 16, tzinfo=UTC)
PUBLISHED = NOON - timedelta(days=85)


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(twilio_config(config, tw)) as ctx:
        yield ctx


def offerer(ctx: WorkerContext, phone: str, lang: str, text: str) -> Chat:
    chat = Chat(ctx.sessions, phone=phone, now=PUBLISHED)
    onboard(chat, lang)
    for said in ("OFREZCO", "1", text, "1"):
        chat.say(said)
    return chat


def deliver(ctx: WorkerContext, q: Queue) -> None:
    relay(ctx.sessions, q)
    BurstWorker([q], connection=q.connection).work(burst=True, logging_level="WARNING")


def bodies(tw: TwilioLocal, phone: str) -> list[str]:
    return [str(r["Body"]) for r in tw.sent_to(phone)]


def test_offerers_hear_once_before_their_offer_ends_and_again_after_renewing(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    spanish = offerer(ctx, SPANISH, "1", "Arreglo grifos")
    offerer(ctx, AYMARA, "2", "Costura y arreglos")
    paused = offerer(ctx, PAUSED, "1", "Clases de guitarra")
    paused.say("OFREZCO")
    paused.say("2")  # a paused offer is nobody's to renew in a hurry

    # Three weeks before the end: too early (OFFER_WARN_DAYS is 7).
    assert sweep(ctx, q, now=NOON - timedelta(days=14)).warned == 0
    assert sweep(ctx, q, now=NOON).warned == 2
    deliver(ctx, q)
    [told] = bodies(tw, SPANISH)
    assert told == (
        "Mi Barrio: su oferta Arreglo grifos deja de mostrarse el 06/12/2026. "
        "Para renovarla 90 dias mas, escriba OFREZCO y luego 1."
    )
    [aymara] = bodies(tw, AYMARA)
    assert "Costura y arreglos servicioma 06/12/2026 urux" in aymara and "OFREZCO" in aymara
    assert segments(told) == segments(aymara) == 1
    assert bodies(tw, PAUSED) == []

    # Sweeps run every few seconds: once per period.
    assert sweep(ctx, q, now=NOON + timedelta(hours=2)).warned == 0

    # Renewed by SMS as the warning says: a new period, warned again near its end.
    spanish.now = NOON + timedelta(days=1)
    spanish.say("OFREZCO")
    assert "Renovada" in spanish.say("1")
    assert sweep(ctx, q, now=NOON + timedelta(days=2)).warned == 0
    assert sweep(ctx, q, now=NOON + timedelta(days=85)).warned == 1
    deliver(ctx, q)
    assert len(bodies(tw, SPANISH)) == 2 and "02/03/2027" in bodies(tw, SPANISH)[1]


def test_no_warning_at_night_nor_to_an_offerer_who_opted_out(
    ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    offerer(ctx, SPANISH, "1", "Arreglo grifos")
    offerer(ctx, AYMARA, "2", "Costura y arreglos")
    night = datetime(2026, 12, 2, 3, tzinfo=UTC)  # 23:00 in La Paz
    assert sweep(ctx, q, now=night).warned == 0
    with transaction(ctx.sessions) as session:
        session.execute(update(Resident).where(Resident.phone == AYMARA).values(status="opted_out"))
    assert sweep(ctx, q, now=NOON + timedelta(hours=1)).warned == 1
    deliver(ctx, q)
    assert bodies(tw, AYMARA) == [] and len(bodies(tw, SPANISH)) == 1
    with ctx.sessions() as session:
        warned = session.scalars(select(ServiceOffer.expiry_warned_at.is_not(None))).all()
    assert sorted(warned) == [False, True]
