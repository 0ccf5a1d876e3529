"""What the tests of the sweeper's notices share (stale information, offers ending, mapped items
waiting, hidden offers): a worker context sending to the local Twilio server, and a `sweeper`
that sweeps at a fixed moment (never the wall clock, so a test passes at any hour), relays the
outbox and runs its jobs with the real worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from rq import Queue
from sqlalchemy import update

from bot.channels import segments
from bot.config import Config
from storage.db import transaction
from storage.models import Resident
from tests.helpers import installed, twilio_config
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.outbox import relay
from worker.runner import BurstWorker
from worker.sweeper import SweepResult, sweep

# Midday in La Paz (16:00 UTC), and 23:00 there the next day: within the quiet hours.
NOON = datetime(2026, 12, 1, 16, tzinfo=UTC)
NIGHT = datetime(2026, 12, 2, 3, tzinfo=UTC)


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(twilio_config(config, tw)) as ctx:
        yield ctx


@dataclass
class Sweeper:
    ctx: WorkerContext
    q: Queue
    tw: TwilioLocal

    def sweep(self, now: datetime) -> SweepResult:
        return sweep(self.ctx, self.q, now=now)

    def deliver(self) -> None:
        """The outbox relayed to RQ and its jobs run: the messages reach the local Twilio."""
        relay(self.ctx.sessions, self.q)
        BurstWorker([self.q], connection=self.q.connection).work(
            burst=True, logging_level="WARNING"
        )

    def sent(self, phone: str, containing: str = "") -> list[str]:
        """What the phone received (only the texts containing `containing`), oldest first."""
        return [str(r["Body"]) for r in self.tw.sent_to(phone) if containing in str(r["Body"])]

    def heard(self, *phones: str, containing: str = "") -> list[str]:
        """After delivering: each phone's newest message, checked to be one SMS."""
        self.deliver()
        newest = [self.sent(phone, containing)[-1] for phone in phones]
        assert all(segments(text) == 1 for text in newest), newest
        return newest

    def opt_out(self, phone: str) -> None:
        with transaction(self.ctx.sessions) as session:
            session.execute(
                update(Resident).where(Resident.phone == phone).values(status="opted_out")
            )


@pytest.fixture
def sweeper(ctx: WorkerContext, q: Queue, tw: TwilioLocal) -> Sweeper:
    return Sweeper(ctx, q, tw)


def quiet_by_night_and_not_to_who_opted_out(
    sweeper: Sweeper,
    counted: str,
    opted_out: str,
    told: str,
    by_day: datetime,
    *,
    night: datetime = NIGHT,
    containing: str = "",
) -> None:
    """The notice the sweep counts in its field `counted` waits out the night; by day it reaches
    `told` once and never the phone that opted out meanwhile."""
    assert getattr(sweeper.sweep(night), counted) == 0
    sweeper.opt_out(opted_out)
    assert getattr(sweeper.sweep(by_day), counted) == 1
    sweeper.deliver()
    assert sweeper.sent(opted_out, containing) == []
    assert len(sweeper.sent(told, containing)) == 1
