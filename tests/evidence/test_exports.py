"""Exports in CSV and Parquet: no phone, nothing of an erased resident, numbers as numbers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from storage import rollups
from storage.db import transaction
from storage.models import Resident
from tests.evidence.test_faces import ANA, BEA, EVA, SECRET, fortnight, invoke
from tests.helpers import terminal

RANGE = ("--from", "2026-11-02", "--to", "2026-11-15")


@pytest.fixture
def evidence_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    return terminal(monkeypatch, tmp_path, db_url, unset=("REDIS_URL",))


def rows_of(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_parquet_and_csv_hold_the_same_rows_and_nothing_private(
    sessions: sessionmaker[Session], evidence_cli: CliRunner, tmp_path: Path
) -> None:
    fortnight(sessions)
    with transaction(sessions) as session:
        rollups.refresh(session)  # built: the export reads the rollups, refreshed first
    with sessions() as session:
        ana_id = session.scalars(select(Resident.id).where(Resident.phone == ANA)).one()
    exported: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        said = invoke(evidence_cli, "evidence", "export", "--format", fmt, "--out", str(out),
                      *RANGE)  # fmt: skip
        assert f"events.{fmt}" in said
        exported[fmt] = {name: rows_of(out / f"{name}.{fmt}") for name in ("measures", "events")}
        for table in exported[fmt].values():
            cells = " ".join(str(v) for row in table for v in row.values())
            for secret in (ANA, BEA, EVA, ANA[1:], EVA[1:], SECRET, "HYPERLINK", "Pasaje Eva",
                           "Foco", str(ana_id) + ","):  # fmt: skip
                assert secret not in cells, (fmt, secret)
        events = exported[fmt]["events"]
        assert len({e["resident"] for e in events if e["resident"]}) == 2  # Eva erased herself
        assert all(e["zona"] != "Miraflores" for e in events)
    parquet, text = exported["parquet"], exported["csv"]
    assert len(parquet["events"]) == len(text["events"])
    assert len(parquet["measures"]) == len(text["measures"])
    city = [m for m in parquet["measures"] if m["place.kind"] == "city"]
    assert [m["residents.signed_up_new"] for m in city] == [3, 0]  # numbers, not text
    assert {e["event"] for e in parquet["events"]} == {e["event"] for e in text["events"]}
    # A new salt per export: the same resident gets another code next time.
    assert {e["resident"] for e in parquet["events"]} != {e["resident"] for e in text["events"]}


def test_report_text_only_when_asked_and_still_no_phone(
    sessions: sessionmaker[Session], evidence_cli: CliRunner, tmp_path: Path
) -> None:
    fortnight(sessions)
    out = tmp_path / "with-text"
    invoke(evidence_cli, "evidence", "export", "--format", "parquet", "--out", str(out),
           "--free-text", *RANGE)  # fmt: skip
    events = rows_of(out / "events.parquet")
    texts = [e["text"] for e in events if e["event"] == "report"]
    assert texts == ['=HYPERLINK("http://x")']  # Ana's; Eva's went with her
    cells = " ".join(str(v) for row in events for v in row.values())
    assert ANA not in cells and "Foco" not in cells
    csv_out = tmp_path / "csv-with-text"
    invoke(evidence_cli, "evidence", "export", "--out", str(csv_out), "--free-text", *RANGE)
    [report] = [e for e in rows_of(csv_out / "events.csv") if e["event"] == "report"]
    assert report["text"] == '\'=HYPERLINK("http://x")'  # never run as a formula


def test_an_unknown_format_is_refused(evidence_cli: CliRunner, tmp_path: Path) -> None:
    result = evidence_cli.invoke(main, ["evidence", "export", "--format", "xlsx", "--out",
                                        str(tmp_path)])  # fmt: skip
    assert result.exit_code != 0 and "xlsx" in result.output
