"""`mibarrio seed --demo-city`: a small city on PostgreSQL, and the console reading it.

The full-size city (1,000,000 residents) is for bench/city.py; here a few thousand residents
check the build's counts, its consistency and that every page agrees with the others on it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.passwords import hash_password
from storage import audience, demo_city, staff
from storage.db import is_sqlite, make_engine, transaction
from tests.admin.conftest import PASSWORD, Browser

RESIDENTS = 3000
ADMIN = f"alcaldia@{demo_city.STAFF_DOMAIN}"


def build(url: str, *, force: bool = False, seed: int = 7) -> demo_city.CityBuilt:
    engine = make_engine(url)
    try:
        return demo_city.build_city(
            engine,
            demo_city.CityPlan.scaled(residents=RESIDENTS, seed=seed),
            staff_password_hash=hash_password(PASSWORD),
            force=force,
        )
    finally:
        engine.dispose()


def scalar(sessions: sessionmaker[Session], sql: str) -> Any:
    with sessions() as session:
        return session.execute(text(sql)).scalar()


def test_sqlite_is_refused_with_a_clear_message(db_url: str, monkeypatch: Any) -> None:
    if not is_sqlite(db_url):
        pytest.skip("the refusal is SQLite's; PostgreSQL builds the city below")
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["seed", "--demo-city", "--scale", "0.001"])
    assert result.exit_code != 0
    assert "needs PostgreSQL" in result.output


@pytest.fixture
def city(db_url: str) -> demo_city.CityBuilt:
    if is_sqlite(db_url):
        pytest.skip("the demo city is built on PostgreSQL only (refusal tested above)")
    return build(db_url)


def test_the_city_has_its_counts_and_agrees_with_itself(
    city: demo_city.CityBuilt, sessions: sessionmaker[Session]
) -> None:
    counts = city.counts
    assert counts["residents"] == RESIDENTS
    assert counts["inbound_messages"] == 10 * RESIDENTS
    assert counts["reports"] == RESIDENTS // 5
    assert counts["polls"] == 10 and counts["broadcasts"] == 10
    assert 0 < counts["votes"] <= 2 * RESIDENTS
    assert counts["deliveries"] > 0 and counts["report_supporters"] > 0
    # Spanish and Aymara, SMS and WhatsApp, some opted out, every zona history consistent.
    languages = scalar(sessions, "SELECT count(DISTINCT language) FROM residents")
    channels = scalar(sessions, "SELECT count(DISTINCT last_channel) FROM residents")
    assert languages == 2 and channels == 2
    assert scalar(sessions, "SELECT count(*) FROM residents WHERE status = 'opted_out'") > 0
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM residents r WHERE r.consent_at IS NOT NULL AND r.zone_id <> "
            "(SELECT zone_id FROM resident_zone_history h WHERE h.resident_id = r.id "
            "ORDER BY since DESC, id DESC LIMIT 1)",
        )
        == 0
    )
    # Nobody texted before signing up; every report's zona is the reporter's zona then.
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM inbound_messages m JOIN residents r ON r.id = m.resident_id "
            "WHERE m.received_at < r.created_at OR m.received_at > now()",
        )
        == 0
    )
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM reports p WHERE p.zone_id <> (SELECT zone_id FROM "
            "resident_zone_history h WHERE h.resident_id = p.resident_id "
            "AND h.since <= p.created_at ORDER BY since DESC LIMIT 1)",
        )
        == 0
    )
    # A delivery went to a resident signed up then; sequences continue after the seeded ids.
    assert (
        scalar(
            sessions,
            "SELECT count(*) FROM deliveries d JOIN broadcasts b ON b.id = d.broadcast_id "
            "JOIN residents r ON r.id = d.resident_id WHERE r.consent_at >= b.created_at",
        )
        == 0
    )
    # The kept counts of signed-up residents were made after the load, and count on after it.
    active = scalar(sessions, "SELECT count(*) FROM residents WHERE status = 'active'")
    with transaction(sessions) as session:
        assert sum(audience.signed_up_by_zone(session).values()) == active
        session.execute(
            text(
                "UPDATE residents SET status = 'opted_out' WHERE id = "
                "(SELECT min(id) FROM residents WHERE status = 'active')"
            )
        )
        assert sum(audience.signed_up_by_zone(session).values()) == active - 1
    with transaction(sessions) as session:
        session.execute(
            text(
                "INSERT INTO news (text_es, target, citywide, created_at) "
                "VALUES ('x', 'all', true, now())"
            )
        )


def test_the_same_seed_builds_the_same_city_and_a_full_database_needs_force(
    city: demo_city.CityBuilt, db_url: str, sessions: sessionmaker[Session]
) -> None:
    fingerprint = (
        "SELECT md5(string_agg(id::text || zone_id::text || status || coalesce(language, '-'), ',' "
        "ORDER BY id)) FROM residents"
    )
    first = scalar(sessions, fingerprint)
    with pytest.raises(demo_city.NotEmptyError):
        build(db_url)
    again = build(db_url, force=True)
    assert again.counts == city.counts
    assert scalar(sessions, fingerprint) == first


def test_every_page_answers_and_the_pages_agree(
    city: demo_city.CityBuilt, browser: Browser, client: Any, sessions: sessionmaker[Session]
) -> None:
    assert browser.login(ADMIN).status_code == 302
    with transaction(sessions) as session:
        user = staff.find_user(session, ADMIN)
        assert user is not None
        token = staff.issue_token(session, user)
    api = {"Authorization": f"Bearer {token}"}
    broadcast_id = scalar(sessions, "SELECT max(id) FROM broadcasts WHERE status = 'done'")
    poll_id = scalar(sessions, "SELECT max(id) FROM polls")
    code = scalar(sessions, "SELECT code FROM reports ORDER BY id DESC LIMIT 1")
    for path in (
        "/admin/",
        "/admin/reportes",
        "/admin/reportes?estado=received&categoria=agua",
        f"/admin/reportes/{code}",
        "/admin/difusiones",
        f"/admin/difusiones/{broadcast_id}",
        "/admin/encuestas",
        f"/admin/encuestas/{poll_id}",
        "/admin/evidence",
        "/admin/auditoria",
        "/admin/textos",
        "/admin/noticias",
    ):
        assert browser.get(path).status_code == 200, path

    active = scalar(sessions, "SELECT count(*) FROM residents WHERE status = 'active'")
    home = browser.get("/admin/").get_data(as_text=True)
    found = re.search(r"(\d+) vecino\(s\) inscritos", home)
    assert found and int(found.group(1)) == active
    stats = client.get("/api/v1/stats", headers=api).get_json()
    assert stats["residents"] == active
    evidence = client.get("/api/v1/evidence", headers=api).get_json()
    assert evidence["city"]["residents"]["signed_up"] == active

    # The broadcast's page and the API count the same deliveries as the table holds.
    summary = client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=api).get_json()
    rows = scalar(sessions, f"SELECT count(*) FROM deliveries WHERE broadcast_id = {broadcast_id}")
    assert sum(summary["status_counts"].values()) == rows == summary["recipients"]
    page = browser.get(f"/admin/difusiones/{broadcast_id}").get_data(as_text=True)
    assert f"{rows}" in page

    # Open reports on the home page add up to the queue's open reports.
    open_reports = scalar(
        sessions, "SELECT count(*) FROM reports WHERE status IN ('received', 'in_progress')"
    )
    cells = re.findall(r'<td class="n">(\d+)</td><td class="n">(\d+)</td>', home)
    assert sum(int(o) for _, o in cells) == open_reports
    listed = client.get("/api/v1/reports?status=received", headers=api).get_json()
    assert all(r["status"] == "received" for r in listed["reports"])
