"""`mibarrio evidence summary` and `export`: what staff print and what analysts receive."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.evidence.export import safe
from storage.models import Resident
from tests.conftest import Chat
from tests.factories import onboard, report
from tests.helpers import terminal

ANA, BEA, EVA = "+59171000051", "+59171000052", "+59171000053"
SECRET = "Calle Secreta 77"


def noon(day: int) -> datetime:
    return datetime(2026, 11, day, 16, tzinfo=UTC)


@pytest.fixture
def evidence_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    return terminal(monkeypatch, tmp_path, db_url, unset=("REDIS_URL",))


def fortnight(sessions: sessionmaker[Session]) -> None:
    """Ana and Bea in Sopocachi (Cotahuma), Eva in Miraflores, who later erases herself."""
    ana = onboard(Chat(sessions, phone=ANA, now=noon(2)))
    report(ana, text='=HYPERLINK("http://x")', place=SECRET)
    onboard(Chat(sessions, phone=BEA, now=noon(3)), lang="2")
    eva = onboard(Chat(sessions, phone=EVA, now=noon(4)), zone="Miraflores")
    report(eva, category="2", text="Foco quemado", place="Pasaje Eva 5")
    eva.now = noon(10)
    eva.say("BORRAR")
    eva.say("1")


def invoke(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_summary_of_a_macrodistrict_is_one_printable_page(
    sessions: sessionmaker[Session], evidence_cli: CliRunner, tmp_path: Path
) -> None:
    fortnight(sessions)
    page = tmp_path / "cotahuma.html"
    invoke(
        evidence_cli, "evidence", "summary", "--macro", "Cotahuma",
        "--from", "2026-11-02", "--to", "2026-11-15", "--html", str(page),
    )  # fmt: skip
    html = page.read_text(encoding="utf-8")
    assert "Mi Barrio — Cotahuma" in html
    assert "<svg" in html and "Vecinos activos por semana" in html
    assert "@page" in html  # sized for printing
    assert "Sopocachi" in html
    figures = json.loads(
        invoke(
            evidence_cli,
            "evidence",
            "summary",
            "--macro",
            "cotahuma",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-15",
        )  # fmt: skip
    )
    assert figures["residents"]["signed_up_new"] == 2  # Ana and Bea
    assert figures["reports"]["new"] == 1
    unknown = evidence_cli.invoke(main, ["evidence", "summary", "--macro", "Atlantis"])
    assert unknown.exit_code != 0 and "no macrodistrito" in unknown.output


def test_the_export_holds_no_phone_no_free_text_and_nothing_of_the_erased(
    sessions: sessionmaker[Session], evidence_cli: CliRunner, tmp_path: Path
) -> None:
    fortnight(sessions)
    with sessions() as session:
        eva_id = session.scalars(select(Resident.id).where(Resident.phone.is_(None))).one()
        ana_id = session.scalars(select(Resident.id).where(Resident.phone == ANA)).one()
    out = tmp_path / "export"
    invoke(
        evidence_cli, "evidence", "export", "--format", "csv", "--out", str(out),
        "--from", "2026-11-02", "--to", "2026-11-15",
    )  # fmt: skip
    raw = {name: (out / name).read_bytes() for name in ("measures.csv", "events.csv")}
    for data in raw.values():
        assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: accents right in Excel
        text = data.decode("utf-8-sig")
        for secret in (ANA, BEA, EVA, ANA[1:], SECRET, "HYPERLINK", "Pasaje Eva", "Foco"):
            assert secret not in text
    with (out / "events.csv").open(encoding="utf-8-sig", newline="") as f:
        events = list(csv.DictReader(f))
    assert {e["event"] for e in events} >= {"signup", "text", "report", "report_resident"}
    residents = {e["resident"] for e in events if e["resident"]}
    assert len(residents) == 2  # Ana and Bea; Eva asked to be erased
    assert str(ana_id) not in residents and str(eva_id) not in residents
    assert all(e["zona"] != "Miraflores" for e in events)  # Eva was its only resident
    ana_rows = {e["resident"] for e in events if e["event"] == "report"}
    assert len(ana_rows) == 1  # the same resident, the same hash, within one export
    with (out / "measures.csv").open(encoding="utf-8-sig", newline="") as f:
        measures = list(csv.DictReader(f))
    city = [m for m in measures if m["place.kind"] == "city"]
    assert [m["residents.signed_up_new"] for m in city] == ["3", "0"]  # Eva counted, anonymously


def test_a_cell_that_looks_like_a_formula_is_kept_as_text() -> None:
    assert safe("=1+1") == "'=1+1"
    assert safe("+591") == "'+591"
    assert safe("-2") == "'-2"
    assert safe("@SUM(A1)") == "'@SUM(A1)"
    assert safe("Sopocachi") == "Sopocachi"
    assert safe(-2) == -2
    assert safe(None) == ""
