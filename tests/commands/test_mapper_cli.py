"""`mibarrio mapper`: staff register mappers, review what they recorded and read progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.commands.mapping import mapper
from storage.models import AuditEntry, InfoItem, MappedItem, Report
from tests.commands.test_staff import Staff
from tests.conftest import Chat
from tests.factories import neighbour, onboard
from tests.helpers import terminal


@pytest.fixture
def staff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Staff:
    unset = ("REDIS_URL", "PUBLIC_URL", "GSM7_FOLD")
    return Staff(terminal(monkeypatch, tmp_path, db_url, unset=unset))


YOUTH = "+59171000970"


def record(chat: Chat, group: str, kind: str, text: str) -> None:
    for said in ("MAPEO", group, kind, text):
        chat.say(said)
    assert "registro" in chat.say("1")


def ids(chat: Chat) -> list[int]:
    with chat.sessions() as session:
        return list(session.scalars(select(MappedItem.id).order_by(MappedItem.id)))


def test_staff_register_review_and_count_mappers(staff: Staff, chat: Chat) -> None:
    onboard(chat)
    youth = neighbour(chat, YOUTH)
    assert "jovenes mapeadores" in youth.say("MAPEO")
    assert "mapper of Sopocachi" in staff.run("mapper", "add", "71000970").stdout
    assert "(already)" in staff.run("mapper", "add", YOUTH).stdout
    assert "has not signed up" in staff.refused("mapper", "add", "71000999").output
    listed = staff.run("mapper", "list").stdout
    assert YOUTH in listed and "Sopocachi" in listed and "active" in listed

    record(youth, "1", "6", "Posta de salud Sopocachi, calle Guachalla")
    record(youth, "2", "2", "Sin agua en la calle Ecuador")
    record(youth, "2", "4", "Callejón oscuro")
    asset, need, rejected = ids(chat)
    queue = staff.run("mapper", "review", "--zone", "sopocachi").stdout
    assert "Posta de salud" in queue and "Callejón oscuro" in queue

    staff.run("mapper", "edit", str(asset), "--text", "Posta de salud Sopocachi")
    assert "zona information" in staff.run("mapper", "approve", str(asset)).stdout
    assert "report R-" in staff.run("mapper", "approve", str(need)).stdout
    assert "rejected" in staff.run("mapper", "reject", str(rejected), "--note", "Repetido").stdout
    assert "already approved" in staff.refused("mapper", "approve", str(asset)).output
    assert "no pending items" in staff.run("mapper", "review").stdout

    with chat.sessions() as session:
        info = session.scalars(select(InfoItem).where(InfoItem.source == "mapeo")).one()
        assert (info.category, info.text_es) == (
            "health",
            "Posta: Posta de salud Sopocachi",
        )
        report = session.scalars(select(Report)).one()
        assert (report.category, report.mapped) == ("agua", True)
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == [
        "mapper.add",
        "mapper.add",
        "mapping.edit",
        "mapping.approve",
        "mapping.approve",
        "mapping.reject",
    ]
    # 3 items: 2 approved, 1 rejected, 0 pending; 3 kinds of 11 = 27 %.
    stats = staff.json("mapper", "stats", "--json")
    assert stats["zones"] == [
        {
            "zone": "Sopocachi",
            "items": 3,
            "approved": 2,
            "rejected": 1,
            "pending": 0,
            "kinds": 3,
            "coverage": 0.167,  # 3 of the 18 kinds
        }
    ]
    assert [m["items"] for m in stats["mappers"]] == [3]

    assert "no longer a mapper" in staff.run("mapper", "remove", YOUTH).stdout
    assert "is not a mapper" in staff.refused("mapper", "remove", YOUTH).output
    assert "jovenes mapeadores" in youth.say("MAPEO")


COMMANDS = ["add", "remove", "list", "review", "approve", "reject", "edit", "stats"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_mapper_command_says_what_it_does(command: str) -> None:
    shown = CliRunner().invoke(mapper, [command, "--help"])
    assert shown.exit_code == 0
    usage, _, rest = shown.output.partition("\n\n")
    assert rest.split("\n\n")[0].strip() and not rest.startswith("Options:")
