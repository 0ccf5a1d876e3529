"""Residents who text BAJA while a broadcast is going out get nothing after their opt-out.

`mibarrio worker` sends a broadcast at SEND_RATE=20 while gunicorn, as the Procfile runs it,
answers residents' texts. Every half second, one resident a few places further in the sending
line (1 to 8 places: some already handed to a send thread that waits for its rate-limit slot,
some not yet picked) texts BAJA. Once the web app has answered, the opt-out is committed: from
then on the stand-in must see nothing for that resident. Residents who had opted out before the
broadcast are in the same zona and must see nothing at all.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Delivery, Resident
from tests.factories import add_residents
from tests.faults.conftest import (
    StackFor,
    Texter,
    broadcast_status,
    broadcast_to,
    database_of,
    phone_list,
    publish,
    reconcile_last,
)
from tests.faults.figures import (
    STUCK,
    Figures,
    count_leftovers,
    count_sends,
    count_texts,
    rows_in,
)
from tests.helpers import free_port, wait_for
from tests.twilio_local import TwilioLocal

pytestmark = pytest.mark.slow

RECIPIENTS = 200
ALREADY_OUT = 10
LEAVING = 15  # residents who text BAJA during the broadcast
RATE = 20


def sending_order(sessions: sessionmaker[Session], broadcast_id: int) -> list[str]:
    """Recipients' phones in the order their rows are picked (delivery id)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Resident.phone)
                .join(Delivery, Delivery.resident_id == Resident.id)
                .where(Delivery.broadcast_id == broadcast_id)
                .order_by(Delivery.id)
            )
        )


def test_residents_who_text_baja_mid_broadcast_get_nothing_after_it(
    db_url: str, db: sessionmaker[Session], stack_for: StackFor, results_dir: Path
) -> None:
    started = time.monotonic()
    figures = Figures(
        scenario="opt-out",
        database=database_of(db_url),
        title="BAJA during a broadcast",
        does=(
            f"A broadcast to {RECIPIENTS} residents at SEND_RATE={RATE} through `mibarrio "
            f"worker`; every 0.5 s one resident 1-8 places further in the sending line texts "
            f"BAJA to gunicorn ({LEAVING} in all), and {ALREADY_OUT} residents of the zona had "
            "opted out before. A send to a resident after the web app answered their BAJA "
            "counts as sent to an opted-out resident."
        ),
        scale=f"{RECIPIENTS} recipients, {LEAVING} BAJA mid-broadcast, {ALREADY_OUT} opted out",
        issue_scale="opt-out during a broadcast at SEND_RATE=10: 0 sent after the commit",
    )
    ids = add_residents(db, RECIPIENTS)
    before = phone_list(db, add_residents(db, ALREADY_OUT, status="opted_out"))
    rng = random.Random(16)
    port = free_port()
    opted_out: dict[str, float | None] = {phone: None for phone in before}
    with TwilioLocal(delay=0.02) as tw:
        stack = stack_for(tw, SEND_RATE=str(RATE))
        stack.web(port)
        texter = Texter(port)
        broadcast_id = broadcast_to(db, "(F-B6)")
        stack.worker()
        wait_for(lambda: tw.count >= 20, 60, "the broadcast to get going")
        order = sending_order(db, broadcast_id)
        for _ in range(LEAVING):
            reached = {r["To"] for r in tw.requests}
            upcoming = [p for p in order if p not in reached and p not in opted_out]
            phone = upcoming[rng.randint(1, 8)]
            answer = texter.until_answered(phone, "BAJA")
            assert answer.status == 200, answer
            opted_out[phone] = answer.t  # committed before the answer left the app
            time.sleep(0.5)
        assert tw.count < RECIPIENTS - LEAVING, "the broadcast ended before the last BAJA"
        wait_for(
            lambda: broadcast_status(db, broadcast_id) == "done" and rows_in(db, STUCK) == 0,
            60,
            "the broadcast to finish",
        )
        stack.stop("worker")
        stack.stop("web")
        reconcile_last(stack, db, figures)
        leaving = {p for p, t in opted_out.items() if t is not None}
        expected = {(p, "(F-B6)") for p in phone_list(db, ids) if p not in leaving}
        count_sends(figures, tw.requests, expected, opted_out)
        reached_first = sum(1 for p in leaving if tw.sent_to(p))
    count_leftovers(figures, db)
    with db() as session:
        still_in = session.scalar(
            select(func.count()).where(
                Resident.phone.in_(list(leaving)), Resident.status != "opted_out"
            )
        )
    count_texts(figures, db, texter.answers, misapplied=int(still_in or 0))
    figures.faults = {
        "BAJA mid-broadcast": LEAVING,
        "of them sent the broadcast before their BAJA": reached_first,
        "opted out before": ALREADY_OUT,
    }
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
