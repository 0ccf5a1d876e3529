"""The staff console: signing in, what each role sees and reaches, reports and broadcasts.

Residents sign up and report by chatting; staff work through the pages over the Flask test
client (https, so the Secure cookie is sent), with the forms' CSRF tokens as a browser would.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin import auth
from storage.enums import StaffRole
from storage.models import AuditEntry, Broadcast, OutboundMessage, Report
from tests.admin.conftest import BASE, PASSWORD, Browser, add_staff
from tests.conftest import Chat
from tests.factories import CODE, add_residents, neighbour, onboard
from tests.factories import report as file_report

CITY = "alcaldia@lapaz.bo"
LEADER = "dirigente@sopocachi.bo"


def reported(chat: Chat, zone: str = "Sopocachi", text: str = "No hay agua desde el lunes") -> str:
    onboard(chat, zone=zone)
    found = CODE.search(file_report(chat, text=text))
    assert found, chat.log
    return found.group(0)


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# -- signing in ---------------------------------------------------------------------------


def test_pages_need_a_signed_in_user(browser: Browser) -> None:
    for path in ("/admin/", "/admin/reportes", "/admin/difusiones", "/admin/auditoria"):
        answer = browser.get(path)
        assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_login_sets_a_secure_httponly_samesite_cookie_and_logout_ends_it(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    answer = browser.login(CITY)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert browser.get("/admin/").status_code == 200

    browser.post("/admin/logout", {}, form="/admin/")
    assert browser.get("/admin/").status_code == 302
    assert audit_actions(sessions) == ["login"]


def test_a_wrong_password_is_refused_and_five_lock_the_account(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    for _ in range(5):
        answer = browser.login(CITY, "no-es-la-clave")
        assert answer.status_code == 401
        assert "incorrectos" in answer.get_data(as_text=True)
    locked = browser.login(CITY)  # the right password, but too late
    assert locked.status_code == 401 and "bloqueada" in locked.get_data(as_text=True)
    assert browser.get("/admin/").status_code == 302
    assert audit_actions(sessions).count("login.failed") == 5


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(browser: Browser) -> None:
    answer = browser.login("nadie@lapaz.bo")
    assert answer.status_code == 401 and "Correo o contraseña incorrectos" in answer.get_data(
        as_text=True
    )


def test_a_form_without_its_csrf_token_is_refused(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    answer = browser.client.post(
        "/admin/login", data={"email": CITY, "password": PASSWORD}, base_url=BASE
    )
    assert answer.status_code == 400
    assert browser.get("/admin/").status_code == 302


def test_a_disabled_user_is_signed_out_at_the_next_request(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    from storage import staff
    from storage.db import transaction

    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    assert browser.get("/admin/").status_code == 200
    with transaction(sessions) as session:
        user = staff.find_user(session, CITY)
        assert user is not None
        staff.disable_user(session, user)
    assert browser.get("/admin/").status_code == 302
    assert browser.login(CITY).status_code == 401


def test_half_an_hour_idle_signs_out(
    browser: Browser, sessions: sessionmaker[Session], monkeypatch: Any
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    later = time.time() + auth.IDLE_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    answer = browser.get("/admin/")
    assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_login_redirects_only_inside_the_console(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    answer = browser.post(
        "/admin/login?next=https://evil.example/admin",
        {"email": CITY, "password": PASSWORD},
        form="/admin/login",
    )
    assert answer.headers["Location"].endswith("/admin/")


# -- reports --------------------------------------------------------------------------------


def test_a_status_change_tells_the_resident_and_is_audited(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)

    page = browser.get("/admin/reportes").get_data(as_text=True)
    assert code in page
    answer = browser.post(
        f"/admin/reportes/{code}", {"status": "in_progress", "note": "Cuadrilla en camino"}
    )
    assert answer.status_code == 302
    assert "Se avisará a 1 vecino" in browser.get(f"/admin/reportes/{code}").get_data(as_text=True)

    with sessions() as session:
        found = session.scalars(select(Report).where(Report.code == code)).one()
        assert found.status == "in_progress"
        (body,) = session.scalars(select(OutboundMessage.body))
    assert code in body and "en curso" in body and "Cuadrilla en camino" in body
    assert audit_actions(sessions)[-1] == "report.status"


def test_rejecting_without_a_note_is_refused_and_nothing_changes(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    browser.post(f"/admin/reportes/{code}", {"status": "rejected", "note": ""})
    page = browser.get(f"/admin/reportes/{code}").get_data(as_text=True)
    assert "necesita una nota" in page
    with sessions() as session:
        assert session.scalars(select(Report.status)).one() == "received"
        assert list(session.scalars(select(OutboundMessage))) == []
    assert "report.status" not in audit_actions(sessions)


def test_a_report_text_with_markup_is_shown_as_text(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat, text="<script>alert('x')</script> sin agua")
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    for path in ("/admin/reportes", f"/admin/reportes/{code}"):
        page = browser.get(path).get_data(as_text=True)
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert" in page


def test_a_leader_sees_and_reaches_only_their_zona(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    own = reported(chat)
    other = reported(Chat(sessions, phone="+59171000555"), zone="Miraflores")
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    browser.login(LEADER)

    page = browser.get("/admin/reportes").get_data(as_text=True)
    assert own in page and other not in page
    assert browser.get(f"/admin/reportes/{other}").status_code == 403
    refused = browser.post(
        f"/admin/reportes/{other}", {"status": "resolved", "note": ""}, form="/admin/reportes"
    )
    assert refused.status_code == 403
    with sessions() as session:
        assert set(session.scalars(select(Report.status))) == {"received"}


def test_phones_are_masked_for_all_but_municipality(
    new_browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    add_staff(sessions, "sub@lapaz.bo", StaffRole.SUBALCALDIA, macro="Cotahuma")
    city, sub = new_browser(), new_browser()
    city.login(CITY)
    sub.login("sub@lapaz.bo")
    assert chat.phone in city.get(f"/admin/reportes/{code}").get_data(as_text=True)
    page = sub.get(f"/admin/reportes/{code}").get_data(as_text=True)
    assert chat.phone not in page and chat.phone[-3:] in page


def test_a_viewer_reads_but_cannot_change(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    add_staff(sessions, "ojo@lapaz.bo", StaffRole.VIEWER)
    browser.login("ojo@lapaz.bo")
    page = browser.get(f"/admin/reportes/{code}").get_data(as_text=True)
    assert code in page and "Guardar y avisar" not in page
    answer = browser.post(
        f"/admin/reportes/{code}", {"status": "resolved", "note": ""}, form="/admin/reportes"
    )
    assert answer.status_code == 403
    assert browser.get("/admin/difusiones/nueva").status_code == 403


def test_a_translator_does_not_see_residents(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    add_staff(sessions, "aymara@lapaz.bo", StaffRole.TRANSLATOR)
    browser.login("aymara@lapaz.bo")
    assert browser.get("/admin/").status_code == 200
    for path in ("/admin/reportes", f"/admin/reportes/{code}", "/admin/difusiones"):
        assert browser.get(path).status_code == 403


# -- broadcasts -----------------------------------------------------------------------------


def compose(browser: Browser, **fields: Any) -> Any:
    data = {
        "target": "zona:Sopocachi",
        "text_es": "Corte de agua mañana de 8 a 14.",
        "text_ay": "Qharürux janiw uma utjkaniti.",
        "kind": "announcement",
        **fields,
    }
    return browser.post("/admin/difusiones/nueva", data, form="/admin/difusiones/nueva")


def test_a_preview_shows_the_cost_and_writes_nothing(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 3, zone="Sopocachi")
    add_residents(sessions, 2, zone="Sopocachi", language="ay")
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)

    page = compose(browser).get_data(as_text=True)

    assert "5 vecino(s), 5 SMS en total" in page
    # As residents get it: GSM-7 has no "í", so the SMS frame is folded.
    assert "Alcaldia de La Paz informa: Corte de agua mañana de 8 a 14." in page
    with sessions() as session:
        assert list(session.scalars(select(Broadcast))) == []
    assert "broadcast.create" not in audit_actions(sessions)


def test_confirming_sends_and_the_progress_page_shows_it(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 3, zone="Sopocachi")
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)

    answer = compose(browser, confirmar="1")

    assert answer.status_code == 302
    with sessions() as session:
        (created,) = session.scalars(select(Broadcast))
        assert (created.recipients, created.target, created.status) == (
            3,
            "zona:Sopocachi",
            "scheduled",
        )
        assert created.staff_user_id is not None
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Programada y armada" in page and "Cancelar lo que no salió" in page
    assert audit_actions(sessions)[-1] == "broadcast.create"

    browser.post(
        f"/admin/difusiones/{created.id}/cancelar", {}, form=f"/admin/difusiones/{created.id}"
    )
    with sessions() as session:
        assert session.get(Broadcast, created.id).status == "canceled"  # type: ignore[union-attr]
    assert audit_actions(sessions)[-1] == "broadcast.cancel"


def test_aymara_readers_without_an_aymara_text_are_refused(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 2, zone="Sopocachi", language="ay")
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    page = compose(browser, text_ay="", confirmar="1").get_data(as_text=True)
    assert "2 vecino(s) de este destino leen aymara" in page
    with sessions() as session:
        assert list(session.scalars(select(Broadcast))) == []


def test_a_leader_cannot_send_outside_their_zona(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 2, zone="Miraflores")
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    browser.login(LEADER)
    page = browser.get("/admin/difusiones/nueva").get_data(as_text=True)
    assert "zona:Sopocachi" in page and "zona:Miraflores" not in page and 'value="all"' not in page

    refused = compose(browser, target="all", confirmar="1")
    assert refused.status_code == 200 and "not a valid choice" in refused.get_data(as_text=True)
    with sessions() as session:
        assert list(session.scalars(select(Broadcast))) == []


def test_the_audit_log_is_for_the_city_only(
    new_browser: Any, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    city, leader = new_browser(), new_browser()
    city.login(CITY)
    leader.login(LEADER)
    assert leader.get("/admin/auditoria").status_code == 403
    page = city.get("/admin/auditoria?accion=login").get_data(as_text=True)
    assert CITY in page and LEADER in page


def test_twilio_webhooks_take_no_csrf_token_and_set_no_cookie(client: Any) -> None:
    from tests.conftest import inbound_params, signed_post

    answer = signed_post(client, "/twilio/inbound", inbound_params("hola"))
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def test_home_counts_residents_per_zona_in_scope(
    new_browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    neighbour(chat, "+59171000321", zone="Miraflores")
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    city, leader = new_browser(), new_browser()
    city.login(CITY)
    leader.login(LEADER)
    everything = city.get("/admin/").get_data(as_text=True)
    assert "Sopocachi" in everything and "Miraflores" in everything
    assert "2 vecino(s)" in everything
    own = leader.get("/admin/").get_data(as_text=True)
    assert "Sopocachi" in own and "Miraflores" not in own


def test_the_csv_export_is_scoped_spreadsheet_safe_and_has_no_phones(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    own = reported(chat, text='=HYPERLINK("http://x") sin agua')
    other = reported(Chat(sessions, phone="+59171000555"), zone="Miraflores")
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    browser.login(LEADER)

    answer = browser.get("/admin/reportes.csv?estado=received")

    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeffcodigo,zona,categoria")
    assert own in text and other not in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["codigo"] for row in rows] == [own]
    assert rows[0]["descripcion"].startswith("'=HYPERLINK")  # text to a spreadsheet, not a formula
    assert chat.phone not in text


def test_resend_to_failed_sends_only_passing_failures_once(
    browser: Browser, sessions: sessionmaker[Session], config: Any, tw: Any, q: Any
) -> None:
    from tests.factories import deliveries, phones
    from tests.helpers import broadcast_config, installed
    from worker.runner import drain

    ids = add_residents(sessions, 4, zone="Sopocachi")
    numbers = dict(zip(ids, phones(sessions, ids), strict=True))
    off, stop, fine = ids[0], ids[1], ids[2:]
    tw.fail(numbers[off], 400, 30003, times=1)  # phone off: worth another try
    tw.fail(numbers[stop], 400, 21610, times=1)  # said STOP to the carrier: never again
    add_staff(sessions, CITY, StaffRole.MUNICIPALITY)
    browser.login(CITY)
    # Urgent: a run in La Paz's quiet hours (21:00-07:00) would otherwise wait for the morning.
    compose(browser, confirmar="1", urgent="y")
    with installed(broadcast_config(config, tw)) as ctx:
        drain(ctx, q)
        with ctx.sessions() as session:
            (broadcast_id,) = session.scalars(select(Broadcast.id))
        page = browser.get(f"/admin/difusiones/{broadcast_id}").get_data(as_text=True)
        assert "Teléfono apagado o sin señal: 1" in page

        browser.post(
            f"/admin/difusiones/{broadcast_id}/reenviar",
            {},
            form=f"/admin/difusiones/{broadcast_id}",
        )
        drain(ctx, q)
        again = browser.post(
            f"/admin/difusiones/{broadcast_id}/reenviar",
            {},
            form=f"/admin/difusiones/{broadcast_id}",
        )
        assert again.status_code == 302
        drain(ctx, q)

        rows = deliveries(ctx.sessions, broadcast_id)
    assert rows[off].status == "queued" and rows[stop].status == "opted_out"
    sent = [r["To"] for r in tw.requests]
    assert sorted(sent) == sorted([numbers[off], *(numbers[i] for i in fine)])
    assert "broadcast.resend_failed" in audit_actions(sessions)


def test_a_leader_keeps_their_daily_limit_in_the_console(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 2, zone="Sopocachi")
    add_staff(sessions, LEADER, StaffRole.LEADER, zone="Sopocachi")
    browser.login(LEADER)
    for _ in range(3):
        assert compose(browser, confirmar="1").status_code == 302
    fourth = compose(browser, confirmar="1")
    assert fourth.status_code == 200
    assert "3 avisos por día" in fourth.get_data(as_text=True)
    with sessions() as session:
        assert len(list(session.scalars(select(Broadcast)))) == 3


def test_every_console_page_has_a_plain_title(
    app: Any, browser: Browser, sessions: sessionmaker[Session]
) -> None:
    """Every page without parameters opens for the municipality and its <title> is text: a
    template whose title block swallowed markup showed HTML in the browser's tab."""
    add_staff(sessions, "titulos@lapaz.bo", StaffRole.MUNICIPALITY)
    browser.login("titulos@lapaz.bo")
    pages = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin/") and "GET" in (rule.methods or ()) and not rule.arguments
    )
    checked = 0
    for path in pages:
        answer = browser.get(path)
        if answer.status_code != 200 or answer.mimetype != "text/html":
            continue
        page = answer.get_data(as_text=True)
        title = page.split("<title>", 1)[1].split("</title>", 1)[0]
        assert "<" not in title and title.endswith("· Mi Barrio"), (path, title)
        checked += 1
    assert checked >= 10
