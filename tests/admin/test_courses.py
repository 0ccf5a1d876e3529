"""Courses in the console: the municipality publishes or withdraws a course (audited); every
role that sees residents reads completion and right answers for its own zonas only."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import courses as store
from storage.db import transaction
from storage.models import AuditEntry, Course, utcnow
from tests.admin.conftest import Browser
from tests.admin.test_polls import CITY, LEADER, SUB, TRANSLATOR, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import neighbour, onboard


@pytest.fixture
def courses(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        store.seed_starter_courses(session, utcnow())


def status(sessions: sessionmaker[Session], slug: str) -> str:
    with sessions() as session:
        return session.scalars(select(Course.status).where(Course.slug == slug)).one()


def take_first_lesson(chat: Chat, answer: str) -> None:
    for text in ("CURSOS", "1", "1", answer):
        chat.say(text)


def test_the_city_withdraws_and_publishes_a_course_and_it_is_audited(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert "Cómo usar Mi Barrio" in page and "Su junta vecinal y el POA" in page
    assert "Volver a borrador" in page
    answer = browser.post(
        "/admin/cursos/como-usar-mi-barrio/estado", {"status": "draft"}, form="/admin/cursos"
    )
    assert answer.status_code == 302
    assert status(sessions, "como-usar-mi-barrio") == "draft"
    onboard(chat)
    assert chat.say("CURSOS").startswith("Cursos: 1 Su junta vecinal y el POA. 0: volver.")
    browser.post(
        "/admin/cursos/como-usar-mi-barrio/estado", {"status": "published"}, form="/admin/cursos"
    )
    assert status(sessions, "como-usar-mi-barrio") == "published"
    with sessions() as session:
        trail = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.via).order_by(AuditEntry.id)
        ).all()
    assert [tuple(row) for row in trail][-2:] == [
        ("course.draft", CITY, "web"),
        ("course.publish", CITY, "web"),
    ]
    missing = browser.post("/admin/cursos/nada/estado", {"status": "draft"}, form="/admin/cursos")
    assert missing.status_code == 404


@pytest.mark.parametrize("email", [SUB, LEADER, VIEWER])
def test_other_roles_read_but_cannot_publish(
    browser: Browser, sessions: sessionmaker[Session], courses: None, email: str
) -> None:
    staff_in(browser, sessions, email)
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert "Cómo usar Mi Barrio" in page and "Volver a borrador" not in page
    refused = browser.post(
        "/admin/cursos/como-usar-mi-barrio/estado", {"status": "draft"}, form="/admin/cursos"
    )
    assert refused.status_code == 403
    assert status(sessions, "como-usar-mi-barrio") == "published"


def test_a_translator_does_not_see_the_figures(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    assert browser.get("/admin/cursos").status_code == 403


def test_figures_are_shown_per_zona_within_scope(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session], courses: None
) -> None:
    onboard(chat)  # Sopocachi
    take_first_lesson(chat, "1")  # right
    take_first_lesson(neighbour(chat, "+59171000002"), "2")  # Sopocachi, wrong
    take_first_lesson(neighbour(chat, "+59171000009", zone="Achumani"), "1")
    staff_in(browser, sessions, LEADER)  # Sopocachi only
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert "<tr><td>Sopocachi</td><td>2</td><td>0</td>" in page
    assert "<td>1 / 2</td>" in page
    assert "Achumani" not in page
    assert "Nadie de su alcance tomó este curso todavía." in page  # the other course
    city = Browser(browser.client.application.test_client())
    staff_in(city, sessions, CITY)
    everything = city.get("/admin/cursos").get_data(as_text=True)
    assert "<tr><td>Achumani</td><td>1</td><td>0</td>" in everything
