"""The Evidencia page starts an export the worker builds, shows its progress and the files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
from rq import Queue, SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.enums import StaffRole
from storage.models import AuditEntry, EvidenceExport, OutboxEntry
from tests.admin.conftest import Browser, add_staff
from tests.admin.test_evidence import RANGE, signed_up
from worker import context
from worker.jobs import JOBS
from worker.outbox import relay
from worker.queues import evidence_queue


def test_an_export_runs_in_the_worker_and_the_page_follows_it(
    browser: Browser, sessions: sessionmaker[Session], config: Config, tmp_path: Path, q: Queue
) -> None:
    signed_up(sessions)
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    browser.login("alcaldia@lapaz.bo")
    page = f"/admin/evidence?{RANGE}"
    assert "Exportar para análisis" in browser.get(page).get_data(as_text=True)
    started = browser.post(
        "/admin/evidence/exports",
        {"format": "parquet", "step": "week", "from": "2026-11-02", "to": "2026-11-15"},
        form=page,
    )
    assert started.status_code == 302
    status_url = started.headers["Location"]
    waiting = browser.get(status_url).get_data(as_text=True)
    assert "En cola" in waiting and 'http-equiv="refresh"' in waiting
    with sessions() as session:
        job = session.scalars(select(EvidenceExport)).one()
        [entry] = session.scalars(select(OutboxEntry).where(OutboxEntry.job == "build_export"))
        assert entry.args == [job.id] and "build_export" in JOBS
        assert session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "evidence.export")
        ).one()
    # The relay hands it to the evidence queue, whose own worker builds it; the sending
    # queue stays free for broadcasts.
    assert relay(sessions, q) == 1
    slow = evidence_queue(q)
    assert (q.count, slow.count) == (0, 1)
    context.use(context.build(replace(config, exports_dir=str(tmp_path))))
    try:
        SimpleWorker([slow], connection=q.connection).work(burst=True)
    finally:
        context.use(None)
    done = browser.get(status_url).get_data(as_text=True)
    assert "Lista." in done and 'http-equiv="refresh"' not in done
    assert "measures.parquet" in done and "events.parquet" in done
    download = browser.get(f"{status_url}/measures.parquet")
    assert download.status_code == 200
    target = tmp_path / "downloaded.parquet"
    target.write_bytes(download.data)
    rows = pq.read_table(target).to_pylist()
    city = [r for r in rows if r["place.kind"] == "city"]
    assert [r["residents.signed_up_new"] for r in city] == [3, 0]
    assert browser.get(f"{status_url}/..%2Fsecret").status_code == 404
    with sessions() as session:
        job = session.get(EvidenceExport, job.id)
        assert job is not None and job.status == "done" and job.done == job.total > 0


def test_a_leader_cannot_export_the_city(browser: Browser, sessions: sessionmaker[Session]) -> None:
    signed_up(sessions)
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    browser.login("lider@lapaz.bo")
    page = f"/admin/evidence?{RANGE}"
    assert "Exportar para análisis" not in browser.get(page).get_data(as_text=True)
    refused = browser.post("/admin/evidence/exports", {"format": "csv"}, form=page)
    assert refused.status_code == 403
    with sessions() as session:
        assert session.scalars(select(EvidenceExport)).first() is None
