"""The console's forms from the keyboard alone (Tab, typing, Enter), and every field named in
chromium's accessibility tree: what a screen reader announces, not only what the HTML says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import courses as course_store
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import Broadcast, OutboundMessage, Poll, utcnow
from tests.admin.conftest import add_staff
from tests.browser.test_console_browser import Staff, browser, web  # noqa: F401 - fixtures
from tests.conftest import Chat
from tests.factories import CODE, add_poll, add_residents, onboard
from tests.factories import report as file_report

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_only")]

FIELD_ROLES = "textbox|searchbox|combobox|listbox|checkbox|radio|spinbutton|slider|switch"
FIELD = re.compile(rf"^\s*- '?({FIELD_ROLES})(?: \"((?:[^\"\\]|\\.)*)\")?")
CONTROLS = "main input:not([type=hidden]), main select, main textarea"
FOCUSABLE = CONTROLS + ", main button, header button"
ACTIVE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : el.innerText;
  return {kb: el.dataset.kb || null, label: (label || '').trim()};
}"""


def unnamed_fields(tab: Staff) -> tuple[list[str], int]:
    """Form fields of the page's main part as the accessibility tree has them: (the roles of
    those without a name, how many fields in all)."""
    snapshot = tab.page.locator("main").aria_snapshot()
    found = [m for m in map(FIELD.match, snapshot.splitlines()) if m]
    return [m.group(1) for m in found if not (m.group(2) or "").strip()], len(found)


def controls(tab: Staff) -> int:
    return int(tab.page.locator(CONTROLS).count())


def tab_order(tab: Staff) -> tuple[list[int], int]:
    """Press Tab through the page: the order in which its fields and buttons took the focus,
    and how many there are."""
    count = tab.page.evaluate(
        f"() => {{ const all = document.querySelectorAll({FOCUSABLE!r});"
        " all.forEach((el, i) => el.dataset.kb = i); return all.length; }"
    )
    reached: list[int] = []
    for _ in range(count * 3 + 60):  # links in between (navigation, tables) take turns too
        tab.page.keyboard.press("Tab")
        now = tab.page.evaluate(ACTIVE)
        if now and now["kb"] is not None:
            if reached and int(now["kb"]) == reached[0]:
                break  # round the page once
            if int(now["kb"]) not in reached:
                reached.append(int(now["kb"]))
    return reached, count


def tab_to(tab: Staff, label: str) -> None:
    """Press Tab until the field or button called `label` has the focus."""
    seen = []
    for _ in range(120):
        tab.page.keyboard.press("Tab")
        now = tab.page.evaluate(ACTIVE)
        if now and now["label"] == label:
            return
        seen.append(now and now["label"])
    raise AssertionError(f"Tab never reached {label!r}; went through {seen}")


def test_every_form_field_is_named_and_reached_by_tab_in_order(
    web: str,  # noqa: F811
    browser: Any,  # noqa: F811
    chat: Chat,
    sessions: sessionmaker[Session],
) -> None:
    onboard(chat)
    found = CODE.search(file_report(chat))
    assert found
    with transaction(sessions) as session:
        poll_id = add_poll(session, "¿Feria el domingo?", zone="Sopocachi").id
        course_store.seed_starter_courses(session, utcnow())
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    tab = Staff(browser, web, "a11y")
    tab.open("/admin/login")
    checked = {"/admin/login": (unnamed_fields(tab), tab_order(tab), controls(tab))}
    tab.sign_in("alcaldia@lapaz.bo")
    tab.open("/admin/textos")
    text = tab.page.locator("a[href^='/admin/textos/']").first.get_attribute("href")
    assert text
    for path in (
        "/admin/reportes",
        f"/admin/reportes/{found.group(0)}",
        "/admin/difusiones/nueva",
        "/admin/encuestas/nueva",
        f"/admin/encuestas/{poll_id}",
        "/admin/noticias",
        "/admin/cursos/nuevo",
        "/admin/cursos/junta-vecinal-y-poa/editar",
        "/admin/evidence",
        text,
        "/admin/auditoria",
    ):
        tab.open(path)
        checked[path] = (unnamed_fields(tab), tab_order(tab), controls(tab))

    for path, ((unnamed, fields), (reached, focusable), in_page) in checked.items():
        assert unnamed == [], (path, unnamed)
        assert fields == in_page >= 1, (path, fields, in_page)  # each one is in the tree
        assert sorted(reached) == list(range(focusable)), (path, reached, focusable)
        assert reached == sorted(reached), (path, reached)  # Tab follows the page's order


def test_a_poll_and_a_broadcast_go_out_from_the_keyboard_alone(
    web: str,  # noqa: F811
    browser: Any,  # noqa: F811
    chat: Chat,
    sessions: sessionmaker[Session],
) -> None:
    add_residents(sessions, 3, zone="Sopocachi")
    onboard(chat)
    found = CODE.search(file_report(chat))
    assert found
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    tab = Staff(browser, web, "keyboard-leader")
    tab.sign_in("lider@lapaz.bo")
    keys = tab.page.keyboard

    tab.open("/admin/encuestas/nueva")
    tab_to(tab, "Destino")
    keys.press("ArrowDown")  # a leader's one zona
    tab_to(tab, "Pregunta en español")
    keys.type("¿Feria el domingo en la plaza?")
    keys.press("Tab")
    keys.type("Domingo plazan feria?")
    tab_to(tab, "Opciones (de 2 a 9)")
    keys.type("Sí|Jisa")
    keys.press("Enter")  # a new line in the options, not a submit
    keys.type("No|Janiwa")
    tab_to(tab, "Crear la encuesta")
    keys.press("Enter")
    tab.page.wait_for_url(re.compile(r".*/admin/encuestas/\d+$"))
    with sessions() as session:
        poll = session.scalars(select(Poll)).one()
        assert (poll.target, [o.label_ay for o in poll.options]) == (
            "zona:Sopocachi",
            ["Jisa", "Janiwa"],
        )

    tab.open("/admin/difusiones/nueva")
    tab_to(tab, "Destino")
    keys.press("ArrowDown")
    tab_to(tab, "Texto en español")
    keys.type("Mañana no hay agua de 8 a 14.")
    tab_to(tab, "Texto en aymara")
    keys.type("Qharürux janiw uma utjkaniti.")
    tab_to(tab, "Ver vista previa y costo")
    with tab.page.expect_navigation():
        keys.press("Enter")
    assert tab.page.get_by_text("4 vecino(s), 4 SMS en total").count() == 1
    tab_to(tab, "Enviar")
    keys.press("Enter")
    tab.page.wait_for_url(re.compile(r".*/admin/difusiones/\d+$"))
    with sessions() as session:
        assert session.scalars(select(Broadcast.recipients)).one() == 4

    tab.open(f"/admin/reportes/{found.group(0)}")
    tab_to(tab, "Nuevo estado")
    keys.type("En curso")  # a closed list picks by typing its first letters
    tab_to(tab, "Nota para el vecino (obligatoria al rechazar)")
    keys.type("Cuadrilla en camino")
    tab_to(tab, "Guardar y avisar")
    with tab.page.expect_navigation():
        keys.press("Enter")
    with sessions() as session:
        told = session.scalars(
            select(OutboundMessage.body).where(OutboundMessage.to_address == chat.phone)
        ).one()
    assert "en curso" in told and "Cuadrilla en camino" in told
