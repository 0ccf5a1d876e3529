"""An offer about to end: the sweeper tells its offerer, in their language, in one SMS through
the outbox and the real worker, once per period (renewing starts a new one), never at night."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import ServiceOffer
from tests.conftest import Chat
from tests.factories import onboard
from tests.worker.conftest import NOON, Sweeper, quiet_by_night_and_not_to_who_opted_out
from worker.context import WorkerContext

pytestmark = pytest.mark.usefixtures("local_only")

SPANISH = "+59171000910"
AYMARA = "+59171000911"
PAUSED = "+59171000912"
# The offers were published 85 days before NOON: 5 days left.
PUBLISHED = NOON - timedelta(days=85)


def offerer(ctx: WorkerContext, phone: str, lang: str, text: str) -> Chat:
    chat = Chat(ctx.sessions, phone=phone, now=PUBLISHED)
    onboard(chat, lang)
    for said in ("OFREZCO", "1", text, "1"):
        chat.say(said)
    return chat


def test_offerers_hear_once_before_their_offer_ends_and_again_after_renewing(
    sweeper: Sweeper,
) -> None:
    ctx = sweeper.ctx
    spanish = offerer(ctx, SPANISH, "1", "Arreglo grifos")
    offerer(ctx, AYMARA, "2", "Costura y arreglos")
    paused = offerer(ctx, PAUSED, "1", "Clases de guitarra")
    paused.say("OFREZCO")
    paused.say("2")  # a paused offer is nobody's to renew in a hurry

    # Three weeks before the end: too early (OFFER_WARN_DAYS is 7).
    assert sweeper.sweep(NOON - timedelta(days=14)).warned == 0
    assert sweeper.sweep(NOON).warned == 2
    told, aymara = sweeper.heard(SPANISH, AYMARA)
    assert told == (
        "Mi Barrio: su oferta Arreglo grifos deja de mostrarse el 06/12/2026. "
        "Para renovarla 90 dias mas, escriba OFREZCO y luego 1."
    )
    assert "Costura y arreglos servicioma 06/12/2026 urux" in aymara and "OFREZCO" in aymara
    assert sweeper.sent(PAUSED) == [] and len(sweeper.sent(SPANISH)) == 1

    # Sweeps run every few seconds: once per period.
    assert sweeper.sweep(NOON + timedelta(hours=2)).warned == 0

    # Renewed by SMS as the warning says: a new period, warned again near its end.
    spanish.now = NOON + timedelta(days=1)
    spanish.say("OFREZCO")
    assert "Renovada" in spanish.say("1")
    assert sweeper.sweep(NOON + timedelta(days=2)).warned == 0
    assert sweeper.sweep(NOON + timedelta(days=85)).warned == 1
    assert "02/03/2027" in sweeper.heard(SPANISH)[0] and len(sweeper.sent(SPANISH)) == 2


def test_no_warning_at_night_nor_to_an_offerer_who_opted_out(sweeper: Sweeper) -> None:
    offerer(sweeper.ctx, SPANISH, "1", "Arreglo grifos")
    offerer(sweeper.ctx, AYMARA, "2", "Costura y arreglos")
    quiet_by_night_and_not_to_who_opted_out(
        sweeper, "warned", AYMARA, SPANISH, NOON + timedelta(hours=1)
    )
    with sweeper.ctx.sessions() as session:
        warned = session.scalars(select(ServiceOffer.expiry_warned_at.is_not(None))).all()
    assert sorted(warned) == [False, True]
