"""SIGKILL of a web worker and of the worker mid-broadcast: nothing twice, nothing lost.

gunicorn (as the Procfile runs it: 2 processes of 8 threads) answers residents signing up
while `mibarrio worker` sends a broadcast at SEND_RATE=60. Twice, the gunicorn worker holding a
request in flight is SIGKILLed while texts arrive (gunicorn starts a new one; a text whose
request was cut gets no answer and is posted again with the same MessageSid, as Twilio
retries). A third of the way
into the broadcast the worker is SIGKILLed too, and a new one is started a second later, as a
process supervisor would. What the dead worker had in flight is unknown; the last pass
(RECONCILE_AFTER=0) asks the stand-in about it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_residents
from tests.faults.conftest import (
    SignupTraffic,
    StackFor,
    Texter,
    broadcast_status,
    broadcast_to,
    database_of,
    misapplied_signups,
    phone_list,
    publish,
    queue_messages,
    reconcile_last,
    signups,
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

RECIPIENTS = 400
MESSAGES = 10
RATE = 60
TEXTERS = 40  # residents signing up over HTTP meanwhile (4 texts each)


def test_sigkilled_web_and_worker_processes_cost_no_message(
    db_url: str, db: sessionmaker[Session], stack_for: StackFor, results_dir: Path
) -> None:
    started = time.monotonic()
    figures = Figures(
        scenario="sigkill",
        database=database_of(db_url),
        title="SIGKILL of web workers and of the worker",
        does=(
            f"gunicorn answers {TEXTERS} residents signing up while `mibarrio worker` sends a "
            f"broadcast to {RECIPIENTS} residents and {MESSAGES} single messages at "
            f"SEND_RATE={RATE}. Twice, the gunicorn worker holding a request in flight is "
            "SIGKILLed (texts left without an answer are posted again with their MessageSid); "
            "the worker is SIGKILLed a third of the way in and a new one starts a second later."
        ),
        scale=f"{RECIPIENTS} recipients + {MESSAGES} single messages, {TEXTERS * 4} texts",
        issue_scale="SIGKILL of web and worker",
    )
    ids = add_residents(db, RECIPIENTS)
    gone = phone_list(db, add_residents(db, 10, status="opted_out"))
    singles = add_residents(db, MESSAGES, zone="Miraflores")
    newcomers = signups(TEXTERS, first=2000)
    port = free_port()
    with TwilioLocal(delay=0.05) as tw:
        stack = stack_for(tw, SEND_RATE=str(RATE))
        stack.web(port)
        texter = Texter(port)
        traffic = SignupTraffic(texter, newcomers, threads=4).start(pace=0.02)
        broadcast_id = broadcast_to(db, "(F-B3)")
        queued = queue_messages(db, singles)
        stack.worker()

        killed_web = []
        for n in range(2):
            time.sleep(1.0)
            # A text half sent holds a thread of one gunicorn worker: that worker is killed,
            # so a request is in flight for certain (signing-up texts may be cut too).
            stalled = texter.stall(f"+59175100{n:03d}", "hola")
            pid = stack.holder("web", stalled.port)
            os.kill(pid, signal.SIGKILL)
            killed_web.append(pid)
            stalled.finish()
        wait_for(lambda: tw.count >= RECIPIENTS // 3, 60, "a third of the broadcast")
        stack.kill("worker")
        sent_at_kill = tw.count
        time.sleep(1.0)
        stack.worker("worker2")
        traffic.wait()
        wait_for(
            lambda: broadcast_status(db, broadcast_id) == "done" and rows_in(db, STUCK) == 0,
            90,
            "the new worker to finish the broadcast",
        )
        stack.stop("worker2")
        stack.stop("web")
        reconcile_last(stack, db, figures)

        expected = {(phone, "(F-B3)") for phone in phone_list(db, ids)}
        expected |= {(phone, marker) for marker, phone in queued.items()}
        count_sends(figures, tw.requests, expected, {phone: None for phone in gone})
    count_leftovers(figures, db)
    count_texts(figures, db, texter.answers, misapplied_signups(db, newcomers))
    figures.faults = {
        "web workers SIGKILLed": len(killed_web),
        "requests cut": figures.no_answer,
        "worker SIGKILLed after (sends)": sent_at_kill,
    }
    figures.seconds = round(time.monotonic() - started, 1)
    publish(figures, results_dir)
    assert figures.no_answer >= len(killed_web), "no request was in flight when a worker died"
