"""Twilio misbehaving on a few percent of sends: nothing twice, nothing lost, nothing left unknown.

A broadcast to 1,000 residents (a tenth in Aymara) and 20 single messages go out through
`mibarrio worker` at SEND_RATE=100 while the stand-in answers some sends with a 5xx (the
request may or may not have reached Twilio: here it did not), holds some past TWILIO_TIMEOUT
(Twilio got them), answers every send with 429 for a moment, and refuses connections for a
moment (Twilio never saw those). Then a last pass reconciles what is unknown.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_residents
from tests.faults.conftest import (
    StackFor,
    broadcast_status,
    broadcast_to,
    database_of,
    phone_list,
    publish,
    queue_messages,
    reconcile_last,
)
from tests.faults.figures import STUCK, Figures, count_leftovers, count_sends, rows_in
from tests.helpers import wait_for
from tests.twilio_local import TwilioLocal

pytestmark = pytest.mark.slow

RECIPIENTS = 1000
MESSAGES = 20
RATE = 100  # SEND_RATE: the broadcast takes about ten seconds, long enough for two bursts
TIMEOUT = 1.0  # TWILIO_TIMEOUT; a held answer comes after twice that
FIVE_XX = 0.01  # of recipients: their first send gets a 500 or 503
HELD = 0.005  # of recipients: their first send is answered after the client gave up
BURST_429 = 0.15  # seconds during which every send gets 429 (20429)
REFUSED = 0.2  # seconds during which connections are refused


def test_twilio_5xx_timeouts_refusals_and_429_bursts_cost_nothing(
    db_url: str, db: sessionmaker[Session], stack_for: StackFor, results_dir: Path
) -> None:
    started = time.monotonic()
    figures = Figures(
        scenario="twilio-faults",
        database=database_of(db_url),
        title="Twilio faults on ~3-5% of sends",
        does=(
            f"A broadcast to {RECIPIENTS:,} residents and {MESSAGES} single messages through "
            f"`mibarrio worker` at SEND_RATE={RATE}; the stand-in answers {FIVE_XX:.0%} of "
            f"first sends with 500/503 (not kept), holds {HELD:.1%} past TWILIO_TIMEOUT "
            f"({TIMEOUT:.0f} s; kept), answers everything with 429 for {BURST_429} s and refuses "
            f"connections for {REFUSED} s. Then a last `--burst` pass reconciles."
        ),
        scale=f"{RECIPIENTS:,} recipients + {MESSAGES} single messages",
        issue_scale="5xx, timeouts, connection refused and 429 bursts on 3% of sends",
    )
    ids = add_residents(db, RECIPIENTS * 9 // 10) + add_residents(
        db, RECIPIENTS // 10, language="ay"
    )
    gone = add_residents(db, 10, status="opted_out")
    singles = add_residents(db, MESSAGES, zone="Miraflores")
    numbers = phone_list(db, ids)
    rng = random.Random(16)
    faulty = rng.sample(numbers, int(RECIPIENTS * (FIVE_XX + HELD)))
    five_xx, held = faulty[: int(RECIPIENTS * FIVE_XX)], faulty[int(RECIPIENTS * FIVE_XX) :]

    with TwilioLocal(delay=0.02) as tw:
        for n, phone in enumerate(five_xx):
            tw.fail(phone, 500 if n % 2 else 503, None, times=1)
        for phone in held:
            tw.hang(phone, 2 * TIMEOUT)
        message_phones = phone_list(db, singles)
        tw.fail(message_phones[0], 500, None, times=1)  # single messages meet a fault too
        tw.hang(message_phones[1], 2 * TIMEOUT)

        stack = stack_for(tw, SEND_RATE=str(RATE))
        broadcast_id = broadcast_to(db, "(F-B1)")
        queued = queue_messages(db, singles)
        stack.worker(TWILIO_TIMEOUT=str(TIMEOUT))

        wait_for(lambda: tw.count >= RECIPIENTS // 3, 60, "a third of the broadcast")
        tw.fail("*", 429, 20429, for_seconds=BURST_429)
        wait_for(lambda: tw.count >= 2 * RECIPIENTS // 3, 60, "two thirds of the broadcast")
        tw.refuse(REFUSED)

        # 429s and refusals come back after a jittered backoff (2.5-7.5 s for a first retry).
        wait_for(
            lambda: broadcast_status(db, broadcast_id) == "done" and rows_in(db, STUCK) == 0,
            90,
            "the broadcast and the messages to settle",
        )
        stack.stop("worker")
        log = stack.log("worker")
        reconcile_last(stack, db, figures)

        expected = {(phone, "(F-B1)") for phone in numbers}
        expected |= {(phone, marker) for marker, phone in queued.items()}
        count_sends(figures, tw.requests, expected, {p: None for p in phone_list(db, gone)})
        errors = tw.errors
    count_leftovers(figures, db)
    refused = len(re.findall(r": retry None connect: ", log))
    injected = {
        "5xx": sum(1 for e in errors if e["status"] >= 500),
        "timeouts": len(held) + 1,
        "429": sum(1 for e in errors if e["status"] == 429),
        "refused connections": refused,
        "refused for (s)": REFUSED,
    }
    injected["share of sends"] = round(
        (injected["5xx"] + injected["timeouts"] + injected["429"] + refused)
        / (RECIPIENTS + MESSAGES),
        3,
    )
    figures.faults = injected
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
    assert injected["429"] > 0 and refused > 0, injected  # both bursts hit sends
