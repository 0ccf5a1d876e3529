"""`mibarrio broadcast|leader|poll create --broadcast|stats`: what staff type and see.

The real CLI against the `db_url` database; a worker context drains the outbox through RQ to
the local Twilio stand-in; residents answer through the engine (`Chat`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rq import Queue
from sqlalchemy import select

from bot.cli import main
from bot.config import Config
from storage import broadcasts as store
from storage import leaders
from storage.models import Broadcast, Conversation, OutboxEntry, Resident, Vote, Zone, aware
from tests.conftest import Chat
from tests.factories import add_residents, onboard
from tests.helpers import broadcast_config, installed, terminal
from tests.twilio_local import TwilioLocal
from worker.context import WorkerContext
from worker.runner import drain

pytestmark = pytest.mark.usefixtures("local_only")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    unset = ("REDIS_URL", "PUBLIC_URL", "GSM7_FOLD", "TWILIO_ACCOUNT_SID")
    return terminal(monkeypatch, tmp_path, db_url, unset=unset, QUIET_HOURS="off")


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    with installed(broadcast_config(config, tw)) as worker_ctx:
        yield worker_ctx


def run(runner: CliRunner, *args: str, ok: bool = True) -> Result:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
    return result


def last_broadcast(ctx_or_sessions: Any) -> Broadcast:
    sessions = getattr(ctx_or_sessions, "sessions", ctx_or_sessions)
    with sessions() as session:
        return session.scalars(select(Broadcast).order_by(Broadcast.id.desc())).first()


def test_broadcast_prints_its_id_and_cost_and_goes_out(
    runner: CliRunner, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    add_residents(ctx.sessions, 3)
    add_residents(ctx.sessions, 2, language="ay")
    add_residents(ctx.sessions, 4, zone="San Pedro")

    out = run(
        runner,
        "broadcast",
        "--to",
        "zona:sopocachi",
        "--es",
        "Corte de agua",
        "--ay",
        "Janiw uma utjkaniti",
    ).stdout.splitlines()

    created = last_broadcast(ctx)
    assert out[0] == str(created.id)
    assert "5 residents" in out[1] and "costará 5 SMS" in out[1]
    assert (created.kind, created.target, created.urgent) == (
        "announcement",
        "zona:Sopocachi",
        False,
    )
    drain(ctx, q)
    assert tw.count == 5


def test_broadcast_refuses_without_the_aymara_its_audience_reads(
    runner: CliRunner, ctx: WorkerContext
) -> None:
    add_residents(ctx.sessions, 1, language="ay")
    result = run(runner, "broadcast", "--to", "all", "--es", "Corte de agua", ok=False)
    assert "Aymara" in result.output and "nothing was sent" in result.output
    with ctx.sessions() as session:
        assert session.scalars(select(Broadcast)).all() == []
        assert session.scalars(select(OutboxEntry)).all() == []
    assert (
        "unknown target"
        in run(
            runner, "broadcast", "--to", "zona:Narnia", "--es", "x", "--ay", "x", ok=False
        ).output
    )


def test_a_long_text_costs_more_and_says_so(runner: CliRunner, ctx: WorkerContext) -> None:
    add_residents(ctx.sessions, 4)
    long_text = "Aviso importante sobre el corte de agua programado en toda la zona. " * 3
    result = run(runner, "broadcast", "--to", "all", "--es", long_text, "--ay", "Uma")
    assert "costará 8 SMS" in result.stdout
    assert "costs 2 SMS per resident" in result.stderr


def test_scheduled_and_urgent_broadcasts(runner: CliRunner, ctx: WorkerContext) -> None:
    add_residents(ctx.sessions, 1)
    later = (datetime.now(store.LA_PAZ) + timedelta(hours=2)).replace(tzinfo=None)
    out = run(
        runner,
        "broadcast",
        "--to",
        "all",
        "--es",
        "Feria",
        "--ay",
        "Feria",
        "--at",
        later.isoformat(timespec="minutes"),
    ).stdout
    scheduled = last_broadcast(ctx)
    assert "goes out at" in out
    with ctx.sessions() as session:
        (entry,) = [e for e in session.scalars(select(OutboxEntry)) if e.args == [scheduled.id]]
    local = entry.not_before
    assert local is not None
    want = later.replace(tzinfo=store.LA_PAZ)
    assert abs((aware(local) - want).total_seconds()) < 61

    run(
        runner,
        "broadcast",
        "--to",
        "all",
        "--es",
        "x",
        "--ay",
        "x",
        "--at",
        "2001-01-01T08:00",
        ok=False,
    )
    run(
        runner,
        "broadcast",
        "--to",
        "all",
        "--es",
        "Deslizamiento",
        "--ay",
        "Deslizamiento",
        "--urgent",
    )
    assert last_broadcast(ctx).urgent


def test_quiet_hours_from_the_environment_defer_a_broadcast(
    runner: CliRunner, ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_residents(ctx.sessions, 1)
    now = datetime.now(store.LA_PAZ)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    monkeypatch.setenv("QUIET_HOURS", f"{start:%H:%M}-{end:%H:%M}")
    out = run(runner, "broadcast", "--to", "all", "--es", "Feria", "--ay", "Feria").stdout
    assert "quiet hours" in out and f"{end:%H:%M}" in out


def test_cancel_and_list(runner: CliRunner, ctx: WorkerContext) -> None:
    add_residents(ctx.sessions, 2)
    run(runner, "broadcast", "--to", "all", "--es", "Feria", "--ay", "Feria")
    broadcast_id = last_broadcast(ctx).id
    assert f"#{broadcast_id} announcement" in run(runner, "broadcast", "list").stdout
    assert "canceled" in run(runner, "broadcast", "cancel", str(broadcast_id)).stdout
    assert (
        "already canceled" in run(runner, "broadcast", "cancel", str(broadcast_id), ok=False).output
    )
    assert "no broadcast 999" in run(runner, "broadcast", "cancel", "999", ok=False).output


def test_leader_add_registers_a_leader_for_one_zona(runner: CliRunner, sessions: Any) -> None:
    out = run(runner, "leader", "add", "--phone", "71234567", "--zone", "sopocachi").stdout
    assert "+59171234567 for zona Sopocachi" in out
    with sessions() as session:
        leader = leaders.leader_for(session, "+59171234567")
        assert leader is not None
        zone = session.get(Zone, leader.zone_id)
        assert zone is not None and zone.name == "Sopocachi"
    run(runner, "leader", "add", "--phone", "+59171234567", "--zone", "San Pedro")
    assert "San Pedro" in run(runner, "leader", "list").stdout
    run(runner, "leader", "add", "--phone", "+59171234567", "--zone", "Narnia", ok=False)
    run(runner, "leader", "add", "--phone", "hello", "--zone", "San Pedro", ok=False)


def test_poll_invitation_is_answered_with_a_bare_number(
    runner: CliRunner, ctx: WorkerContext, q: Queue, tw: TwilioLocal, chat: Chat
) -> None:
    onboard(chat)
    out = run(
        runner,
        "poll",
        "create",
        "--to",
        "zona:Sopocachi",
        "--question-es",
        "¿Feria el domingo?",
        "--question-ay",
        "Domingo feria?",
        "--option",
        "Sí|Jisa",
        "--option",
        "No|Janiwa",
        "--closes-in",
        "3d",
        "--broadcast",
    ).stdout.splitlines()
    poll_id = int(out[0])
    assert "costará 1 SMS" in out[1]
    drain(ctx, q)

    (sent,) = tw.sent_to(chat.phone)
    assert sent["Body"].startswith("Encuesta: ¿Feria el domingo? 1 Si, 2 No.")
    with ctx.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == chat.phone)).one()
        conv = session.get(Conversation, resident.id)
        assert conv is not None and conv.expect is not None
        assert (conv.expect["kind"], conv.expect["id"]) == ("poll", poll_id)

    assert "Gracias" in chat.say("1")
    with ctx.sessions() as session:
        assert session.scalars(select(Vote.poll_id)).all() == [poll_id]


def test_stats_json_lists_broadcasts_with_status_counts(
    runner: CliRunner, ctx: WorkerContext, q: Queue
) -> None:
    add_residents(ctx.sessions, 3)
    run(runner, "broadcast", "--to", "all", "--es", "Feria", "--ay", "Feria")
    drain(ctx, q)
    figures = json.loads(run(runner, "stats", "--json").stdout)
    (row,) = figures["broadcasts"]
    assert {"id", "kind", "target", "recipients", "status_counts", "eta"} <= set(row)
    assert row["recipients"] == 3 and row["target"] == "all"
    assert {
        k: row["status_counts"][k]
        for k in (
            "pending",
            "sending",
            "sent",
            "delivered",
            "read",
            "failed",
            "unknown",
            "opted_out",
        )
    } == {
        "pending": 0,
        "sending": 0,
        "sent": 3,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "unknown": 0,
        "opted_out": 0,
    }
