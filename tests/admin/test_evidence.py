"""The console's Evidencia page: a place beside the city, a weekly SVG trend, comparisons."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.enums import StaffRole
from tests.admin.conftest import Browser, add_staff
from tests.conftest import Chat
from tests.factories import onboard

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
    assert "tercios" in html
    assert "Miraflores" in html and "Sopocachi" in html
    assert browser.get("/admin/evidence?from=ayer").status_code == 400
