"""`mibarrio info add|remove|list|import|export`, and what residents then read with INFO."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage.db import transaction
from storage.models import AuditEntry, InfoItem
from tests.commands.test_staff import Staff
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import terminal


@pytest.fixture
def staff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Staff:
    unset = ("REDIS_URL", "PUBLIC_URL", "INFO_STALE_DAYS", "GSM7_FOLD")
    return Staff(terminal(monkeypatch, tmp_path, db_url, unset=unset))


HEALTH = "Centro de Salud Sopocachi, Calle Belisario Salinas 520, de 7:30 a 19:30."


def test_an_added_item_reaches_residents_of_that_zona_with_the_day_it_was_checked(
    staff: Staff, chat: Chat
) -> None:
    item_id = staff.run(
        "info",
        "add",
        "--category",
        "health",
        "--to",
        "zona:sopocachi",
        "--es",
        HEALTH,
        "--ay",
        "Centro de Salud Sopocachi, Belisario Salinas thakhi 520.",
    ).stdout.strip()
    assert item_id.isdigit()
    onboard(chat)
    assert chat.say("INFO").startswith("Informacion de Sopocachi: 1 Salud; 2 Emergencias.")
    today = datetime.now(UTC).astimezone().strftime("/%Y")
    reply = chat.say("1")
    assert HEALTH in reply and "(revisado el " in reply and today in reply


def test_add_refuses_an_unknown_zona_and_a_text_longer_than_one_sms(staff: Staff) -> None:
    unknown = staff.refused(
        "info", "add", "--category", "school", "--to", "zona:Atlantida", "--es", "Escuela"
    )
    assert "unknown scope" in unknown.output
    long = staff.refused("info", "add", "--category", "school", "--to", "all", "--es", "x" * 200)
    assert "too long for one SMS" in long.output


def test_every_database_starts_with_the_emergency_numbers(staff: Staff) -> None:
    rows = staff.json("info", "list", "--json")
    # One item, so one SMS has the three numbers.
    (emergency,) = [r for r in rows if r["category"] == "emergency"]
    assert all(n in emergency["text_es"] for n in ("110", "119", "118"))
    assert {r["scope"] for r in rows} == {"all"}


def test_stale_lists_only_items_not_checked_for_info_stale_days(
    staff: Staff, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = staff.run(
        "info", "add", "--category", "market", "--to", "zona:Sopocachi", "--es", "Feria: sábados"
    ).stdout.strip()
    old = staff.run(
        "info", "add", "--category", "water", "--to", "macro:Cotahuma", "--es", "Agua: 6 a 18"
    ).stdout.strip()
    with transaction(sessions) as session:
        session.execute(
            update(InfoItem)
            .where(InfoItem.id == int(old))
            .values(checked_at=datetime(2025, 1, 10, tzinfo=UTC))
        )
    stale = staff.run("info", "list", "--stale").stdout
    assert "Agua: 6 a 18" in stale and "STALE" in stale and "2025-01-10" in stale
    assert "Feria" not in stale and "110" not in stale
    assert fresh in staff.run("info", "list").stdout
    monkeypatch.setenv("INFO_STALE_DAYS", "100000")
    assert "no stale items" in staff.run("info", "list", "--stale").stdout


def test_export_then_import_updates_items_and_adds_new_ones(
    staff: Staff, chat: Chat, tmp_path: Path
) -> None:
    staff.run("info", "add", "--category", "school", "--to", "zona:Sopocachi", "--es", "Escuela")
    exported = tmp_path / "info.csv"
    staff.run("info", "export", str(exported))
    with exported.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["category"] for r in rows] == ["school", "emergency"]
    rows[0]["text_es"] = "Unidad Educativa Sopocachi: Calle Rosendo Gutiérrez 310."
    rows[0]["checked_on"] = "2026-10-01"
    rows.append(
        {
            "id": "",
            "category": "junta",
            "scope": "zona:Sopocachi",
            "text_es": "Junta vecinal: reunión el primer lunes del mes, 19:00, sede de la plaza.",
            "text_ay": "",
            "checked_on": "",
        }
    )
    with exported.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert "1 added, 2 updated" in staff.run("info", "import", str(exported)).stdout
    onboard(chat)
    assert chat.say("INFO").startswith("Informacion de Sopocachi: 1 Escuela; 2 Junta vecinal;")
    assert "Rosendo Gutiérrez 310. (revisado el 01/10/2026)" in chat.say("1")


def test_remove_deletes_an_item_residents_read_and_audits_it(staff: Staff, chat: Chat) -> None:
    item_id = staff.run(
        "info", "add", "--category", "health", "--to", "zona:Sopocachi", "--es", HEALTH
    ).stdout.strip()
    onboard(chat)
    assert chat.say("INFO").startswith("Informacion de Sopocachi: 1 Salud")
    removed = staff.run("info", "remove", item_id).stdout
    assert f"removed {item_id} (health, zona:Sopocachi)" in removed
    assert "Salud" not in chat.say("INFO")
    assert "no item 999" in staff.refused("info", "remove", "999").output
    with chat.sessions() as session:
        actions = [(e.action, e.via, e.target_id) for e in session.scalars(select(AuditEntry))]
        removal = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "info.remove")
        ).one()
        assert removal.before is not None and removal.before["text_es"] == HEALTH
    assert actions == [("info.add", "cli", item_id), ("info.remove", "cli", item_id)]


def test_a_bad_row_imports_nothing(staff: Staff, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,category,scope,text_es,text_ay,checked_on\n"
        ",school,zona:Sopocachi,Escuela Sopocachi,,\n"
        ",library,zona:Sopocachi,Biblioteca,,\n",
        encoding="utf-8",
    )
    refused = staff.refused("info", "import", str(bad))
    assert "line 3" in refused.output and "nothing was imported" in refused.output
    assert "Escuela" not in staff.run("info", "list").stdout


def test_export_to_standard_output(staff: Staff) -> None:
    out = CliRunner().invoke(main, ["info", "export", "-"], catch_exceptions=False).stdout
    assert out.startswith("id,category,scope,text_es,text_ay,checked_on")
