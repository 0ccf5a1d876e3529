"""A replay: every text delivered three times, at once and out of order; each applied once.

Twilio may deliver a webhook more than once (its own retries, a proxy's, a replay). Here 500 new
residents sign up over HTTP against gunicorn as the Procfile runs it (2 processes of 8 threads),
four texts each: 2,000 texts. Every text is posted three times: the copies go out together,
shuffled among everybody else's, and for a third of the texts one copy is held back and sent
with that resident's next text, so it arrives after the conversation moved on. Every copy must
get the reply the first one got, every text must be stored once, and every sign-up must end as
its four texts say.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.faults.conftest import (
    SIGNUP,
    StackFor,
    Texter,
    database_of,
    misapplied_signups,
    new_sid,
    publish,
    signups,
)
from tests.faults.figures import Figures, count_texts
from tests.helpers import free_port
from tests.twilio_local import TwilioLocal

pytestmark = pytest.mark.slow

RESIDENTS = 500  # x 4 texts = 2,000 texts, x 3 copies = 6,000 requests
COPIES = 3
LATE_SHARE = 1 / 3  # of texts: one copy arrives with the resident's next text


def test_every_text_three_times_at_once_and_out_of_order_is_applied_once(
    db_url: str, db: sessionmaker[Session], stack_for: StackFor, results_dir: Path
) -> None:
    started = time.monotonic()
    texts = RESIDENTS * len(SIGNUP)
    figures = Figures(
        scenario="replay",
        database=database_of(db_url),
        title="Replay: every MessageSid three times",
        does=(
            f"{RESIDENTS} new residents sign up over HTTP (4 texts each) against gunicorn as "
            f"the Procfile runs it; each text is posted {COPIES} times from 16 client threads, "
            "the copies shuffled among everyone else's, and for a third of the texts one copy "
            "arrives with the resident's next text instead."
        ),
        scale=f"{texts:,} texts, {texts * COPIES:,} requests",
        issue_scale="10,000 texts, each MessageSid three times",
    )
    phones = signups(RESIDENTS, first=0)
    rng = random.Random(16)
    port = free_port()
    with TwilioLocal() as tw:
        stack = stack_for(tw)
        stack.web(port)
        texter = Texter(port)
        late: list[tuple[str, str, str]] = []
        held_back = 0
        for step in [*SIGNUP, None]:  # a last round for the copies held back from the last text
            batch, late = late, []
            if step is not None:
                for phone, zone in phones.items():
                    text = (phone, step.format(zone=zone), new_sid())
                    copies = [text] * COPIES
                    if rng.random() < LATE_SHARE:
                        late.append(copies.pop())
                        held_back += 1
                    batch += copies
            rng.shuffle(batch)
            texter.many(batch, threads=16)
        stack.stop("web")
    count_texts(figures, db, texter.answers, misapplied_signups(db, phones))
    figures.faults = {"copies per text": COPIES, "texts with a late copy": held_back}
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
    assert figures.requests == texts * COPIES and figures.applied == texts
