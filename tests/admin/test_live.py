"""The broadcast page's live part: htmx (vendored, served gzipped) fetches it every few
seconds while the broadcast may still send; without JavaScript the page refreshes itself."""

from __future__ import annotations

import gzip
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin import auth
from bot.admin.vendor import HTMX, STATIC
from storage.enums import StaffRole
from storage.models import Broadcast
from tests.admin.conftest import Browser, add_staff
from tests.admin.test_console import compose
from tests.factories import add_residents

CITY = "alcaldia@lapaz.bo"
LIVE = {"HX-Request": "true"}


def armed(browser: Browser, sessions: sessionmaker[Session], zone: str = "Sopocachi") -> int:
    add_residents(sessions, 3, zone=zone)
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    answer = compose(browser, target=f"zona:{zone}", confirmar="1", send_at="2099-01-01T08:00")
    assert answer.status_code == 302
    with sessions() as session:
        return session.scalars(select(Broadcast.id)).one()


def test_an_armed_broadcast_refreshes_its_progress_with_or_without_javascript(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    broadcast_id = armed(browser, sessions)
    page = browser.get(f"/admin/difusiones/{broadcast_id}").get_data(as_text=True)
    assert f'<script src="/admin/vendor/{HTMX}" defer></script>' in page
    assert f'hx-get="/admin/difusiones/{broadcast_id}/avance" hx-trigger="every 3s"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert ">Actualizar</a>" in page

    part = browser.get(f"/admin/difusiones/{broadcast_id}/avance", headers=LIVE)
    text = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in text and 'id="progreso"' in text
    assert f"Difusión {broadcast_id}: Programado" in text and "Programada y armada" in text
    assert '<p id="avance">0% procesado' in text  # armed, nothing sent yet
    assert "Cancelar lo que no salió" not in text  # forms stay put, outside the live part

    browser.post(
        f"/admin/difusiones/{broadcast_id}/cancelar", {}, form=f"/admin/difusiones/{broadcast_id}"
    )
    text = browser.get(f"/admin/difusiones/{broadcast_id}/avance", headers=LIVE).get_data(
        as_text=True
    )
    assert f"Difusión {broadcast_id}: Cancelado" in text and "hx-trigger" not in text
    page = browser.get(f"/admin/difusiones/{broadcast_id}").get_data(as_text=True)
    assert "<script" not in page and "refresh" not in page and "Actualizar" not in page


def test_the_live_part_keeps_the_scope(browser: Browser, sessions: sessionmaker[Session]) -> None:
    broadcast_id = armed(browser, sessions, zone="Miraflores")
    leader = Browser(browser.client.application.test_client())
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    leader.login("lider@lapaz.bo")
    path = f"/admin/difusiones/{broadcast_id}/avance"
    assert leader.get(path, headers=LIVE).status_code == 403


def test_htmx_is_served_from_here_gzipped_when_the_browser_takes_it(browser: Browser) -> None:
    plain = (STATIC / HTMX).read_bytes()
    packed = browser.get(f"/admin/vendor/{HTMX}", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) < len(plain) // 2 and gzip.decompress(packed.data) == plain
    assert "max-age=31536000" in packed.headers["Cache-Control"]
    assert "Accept-Encoding" in packed.headers["Vary"]
    unpacked = browser.get(f"/admin/vendor/{HTMX}")
    assert "Content-Encoding" not in unpacked.headers and unpacked.data == plain
    assert browser.get("/admin/vendor/admin.css").status_code == 404
    assert (STATIC / HTMX.replace(".min.js", ".LICENSE.txt")).exists()


def test_polling_is_no_activity_and_a_closed_session_reloads_the_page(
    browser: Browser, sessions: sessionmaker[Session], monkeypatch: Any
) -> None:
    broadcast_id = armed(browser, sessions)
    path = f"/admin/difusiones/{broadcast_id}/avance"
    start = time.time()
    monkeypatch.setattr(auth.time, "time", lambda: start + 20 * 60)
    assert browser.get(path, headers=LIVE).status_code == 200
    monkeypatch.setattr(auth.time, "time", lambda: start + auth.IDLE_SECONDS + 60)
    answer = browser.get(path, headers=LIVE)  # 31 minutes after the last page the user asked for
    assert answer.headers.get("HX-Refresh") == "true" and answer.get_data(as_text=True) == ""
    again = browser.get(path, headers=LIVE)  # signed out now: still a reload, not the login form
    assert again.headers.get("HX-Refresh") == "true" and "Contraseña" not in again.get_data(
        as_text=True
    )
    page = browser.get(f"/admin/difusiones/{broadcast_id}")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
