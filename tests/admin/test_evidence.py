"""The console's Evidencia page: a place beside the city, a weekly SVG trend, comparisons."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import actions
from storage import courses as course_store
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import MappedItem, utcnow
from tests.admin.conftest import Browser, add_staff
from tests.admin.test_courses import take_first_lesson
from tests.admin.test_mapping import mapped
from tests.conftest import Chat
from tests.factories import neighbour, onboard

RANGE = "from=2026-11-02&to=2026-11-15"


def signed_up(sessions: sessionmaker[Session]) -> None:
    """Two residents in Sopocachi and one in Miraflores on 2 November; one of Sopocachi's
    writes again on the 10th."""
    moment = datetime(2026, 11, 2, 16, tzinfo=UTC)
    for phone, zone in (("+59171000071", "Sopocachi"), ("+59171000072", "Sopocachi"),
                        ("+59171000073", "Miraflores")):  # fmt: skip
        chat = onboard(Chat(sessions, phone=phone, now=moment), zone=zone)
    chat.now = datetime(2026, 11, 10, 16, tzinfo=UTC)
    chat.say("menu")


def test_a_leader_sees_their_zona_beside_the_city_with_a_chart(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    signed_up(sessions)
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    browser.login("lider@lapaz.bo")
    assert 'href="/admin/evidence">Evidencia</a>' in browser.get("/admin/").get_data(as_text=True)
    page = browser.get(f"/admin/evidence?{RANGE}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Evidencia: Sopocachi" in html
    assert '<td>Nuevos inscritos</td><td class="n">2</td><td class="n">3</td>' in html
    assert "<svg" in html and "<polyline" in html
    assert "tercios" not in html  # one zona: nothing to group
    assert browser.get(f"/admin/evidence?zona=Miraflores&{RANGE}").status_code == 403


def test_the_city_compares_before_and_after_and_groups_zonas(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    signed_up(sessions)
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    browser.login("alcaldia@lapaz.bo")
    html = browser.get(f"/admin/evidence?{RANGE}&fecha=2026-11-09&dias=7").get_data(as_text=True)
    assert "Evidencia: La Paz" in html
    assert "Antes y después del 2026-11-09 (7 días)" in html
    assert "muy pocos datos para concluir" in html
    # Before/after names its measures as the table above does, not by their keys.
    assert "<td>Vecinos activos</td>" in html and "<td>Votos en encuestas</td>" in html
    assert "residents.active" not in html and "polls.voted" not in html
    assert "tercios" in html
    assert "Miraflores" in html and "Sopocachi" in html
    assert browser.get("/admin/evidence?from=ayer").status_code == 400


def test_the_page_shows_mapping_and_course_figures_of_the_place_only(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    """Sopocachi: three items (park, park, no_water; one approved, one rejected) and two
    residents in the first lesson of a course, one right; Miraflores: one item and one right
    answer. A leader of Sopocachi sees Sopocachi's figures, the city sees all."""
    with transaction(sessions) as session:
        course_store.seed_starter_courses(session, utcnow())
    onboard(chat)  # Sopocachi
    take_first_lesson(chat, "1")
    take_first_lesson(neighbour(chat, "+59171000002"), "2")
    take_first_lesson(neighbour(chat, "+59171000009", zone="Miraflores"), "1")
    items = [
        mapped(chat, "+59171000081", "Sopocachi", "park", "Plaza Avaroa"),
        mapped(chat, "+59171000082", "Sopocachi", "park", "Parque del Montículo"),
        mapped(chat, "+59171000083", "Sopocachi", "no_water", "Calle Guachalla sin agua"),
        mapped(chat, "+59171000084", "Miraflores", "shop", "Tienda de barrio"),
    ]
    with transaction(sessions) as session:
        for item_id, decision in ((items[0], "approve"), (items[1], "reject")):
            item = session.get(MappedItem, item_id)
            assert item is not None
            actions.review_mapped_item(session, item, decision, note="repetido")
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    browser.login("lider@lapaz.bo")
    html = browser.get("/admin/evidence").get_data(as_text=True)
    mapping = {  # label: (Sopocachi, La Paz)
        "Elementos mapeados": ("3", "4"),
        "Aprobados": ("1", "1"),
        "Rechazados": ("1", "1"),
        "Tipos distintos mapeados": ("2", "3"),
        "Cobertura de tipos": ("11%", "17%"),  # 2 and 3 of the 18 kinds ("other" not counted)
    }
    for label, (here, city) in mapping.items():
        assert f'<td>{label}</td><td class="n">{here}</td><td class="n">{city}</td>' in html
    assert '<td>Ofertas de vecinos activas</td><td class="n">0</td>' in html
    course = (
        '<tr><td>Cómo usar Mi Barrio</td><td class="n">{}</td><td class="n">0</td>'
        '<td class="n">0%</td><td class="n">{}</td></tr>'
    )
    assert course.format(2, "1 / 2") in html
    assert course.format(3, "2 / 3") not in html  # Miraflores is not the leader's
    assert '<tr><td>Su junta vecinal y el POA</td><td class="n">0</td>' in html
    # Each question's right answers, in the place only: question 1 answered by two, one right.
    shares = '<tr><td>Cómo usar Mi Barrio</td><td class="n">{}</td><td class="n">– (0/0)</td>'
    assert shares.format("50% (1/2)") in html
    assert "67% (2/3)" not in html
    assert '<th scope="col" class="n">P8</th>' in html
    city = Browser(browser.client.application.test_client())
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    city.login("alcaldia@lapaz.bo")
    everything = city.get("/admin/evidence").get_data(as_text=True)
    assert course.format(3, "2 / 3") in everything
    assert shares.format("67% (2/3)") in everything
    # Miraflores alone: its one right answer.
    miraflores = city.get("/admin/evidence?zona=Miraflores").get_data(as_text=True)
    assert shares.format("100% (1/1)") in miraflores
    assert '<td>Elementos mapeados</td><td class="n">4</td><td class="n">4</td>' in everything
