"""The console in a real browser: Debian's chromium driven by Playwright, against gunicorn.

Each role signs in; the municipality composes a broadcast, a worker sends it to the local
Twilio stand-in and the progress page reaches 100%; a report's status change reaches the
resident; a leader's poll, created in the browser, shows a resident's vote on its chart.
Screenshots go to TEST_ARTIFACTS (default test-artifacts/ at the repository root).
Also checked: labelled form fields (the accessibility tree), a keyboard-only sign-in, and the
bytes each page transfers (at most 100 KB on a thin connection).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import segments
from bot.outbound import Content, render_broadcast
from storage.enums import StaffRole
from storage.models import Broadcast, Course, OutboundMessage
from tests.admin.conftest import PASSWORD, add_staff
from tests.conftest import Chat
from tests.factories import CODE, add_residents, onboard, phones
from tests.factories import report as file_report
from tests.helpers import broadcast_config, free_port, installed, served
from tests.twilio_local import TwilioLocal
from worker.runner import drain

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_only")]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "test-artifacts")
PAGE_BUDGET = 100 * 1024  # bytes transferred per page, everything included

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs chromium: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[str]:
    """gunicorn serving the app on localhost (a secure context, so Secure cookies work)."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL"))
    }
    env.update(
        DATABASE_URL=db_url,
        SECRET_KEY="browser-test",
        QUIET_HOURS="off",
        MIBARRIO_INSTANCE=str(tmp_path / "instance"),
        NO_PROXY="127.0.0.1,localhost",
    )
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4"]
    command += ["--bind", f"127.0.0.1:{port}", "bot.app:create_app()"]
    with served(command, env, port, tmp_path / "gunicorn.log"):
        yield f"http://localhost:{port}"


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Staff:
    """One staff member's browser tab, counting what every page transfers."""

    def __init__(self, browser: Any, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.page = browser.new_context(locale="es-BO").new_page()
        self.transferred: dict[str, int] = {}
        self.page.on("response", self._count)

    def _count(self, response: Any) -> None:
        try:
            size = len(response.body())
        except Exception:  # noqa: BLE001 - redirects have no body to read
            size = 0
        self.transferred[self.page.url] = self.transferred.get(self.page.url, 0) + size

    def open(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def shot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{label}.png"), full_page=True)

    def sign_in(self, email: str) -> None:
        self.open("/admin/login")
        self.page.get_by_label("Correo electrónico").fill(email)
        self.page.get_by_label("Contraseña").fill(PASSWORD)
        self.page.get_by_role("button", name="Entrar").click()
        self.page.wait_for_url("**/admin/")


def labelled_fields(page: Any) -> list[str]:
    """Names of the form fields chromium's accessibility tree exposes (unnamed ones as '')."""
    fields = page.locator("input:not([type=hidden]), select, textarea")
    return [
        fields.nth(i).evaluate("el => el.labels && el.labels.length ? el.labels[0].innerText : ''")
        for i in range(fields.count())
    ]


def test_each_role_signs_in_and_sees_only_its_pages(
    web: str, browser: Any, sessions: sessionmaker[Session]
) -> None:
    roles = {
        "municipality": (StaffRole.MUNICIPALITY, {}),
        "subalcaldia": (StaffRole.SUBALCALDIA, {"macro": "Cotahuma"}),
        "leader": (StaffRole.LEADER, {"zone": "Sopocachi"}),
        "translator": (StaffRole.TRANSLATOR, {}),
        "viewer": (StaffRole.VIEWER, {}),
    }
    for name, (role, place) in roles.items():
        add_staff(sessions, f"{name}@lapaz.bo", role, **place)
        tab = Staff(browser, web, name)
        tab.sign_in(f"{name}@lapaz.bo")
        nav = tab.page.get_by_role("navigation", name="Principal")
        has_reports = nav.get_by_role("link", name="Reportes").count() == 1
        assert has_reports == (role != StaffRole.TRANSLATOR), name
        answer = tab.open("/admin/difusiones/nueva")
        writes = role in (StaffRole.MUNICIPALITY, StaffRole.SUBALCALDIA, StaffRole.LEADER)
        assert (answer.status == 200) == writes, (name, answer.status)
        tab.open("/admin/")
        tab.shot("home")


def test_sign_in_works_from_the_keyboard_alone(
    web: str, browser: Any, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    tab = Staff(browser, web, "keyboard")
    tab.open("/admin/login")
    assert labelled_fields(tab.page) == ["Correo electrónico", "Contraseña"]
    tab.page.keyboard.press("Tab")  # the first field of the page
    tab.page.keyboard.type("alcaldia@lapaz.bo")
    tab.page.keyboard.press("Tab")
    tab.page.keyboard.type(PASSWORD)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url("**/admin/")
    assert tab.page.get_by_role("heading", name="Participación por zona").count() == 1


def test_a_broadcast_composed_in_the_browser_reaches_residents_and_100_percent(
    web: str,
    browser: Any,
    sessions: sessionmaker[Session],
    config: Any,
    tw: TwilioLocal,
    q: Queue,
) -> None:
    ids = add_residents(sessions, 6, zone="Sopocachi") + add_residents(
        sessions, 2, zone="Sopocachi", language="ay"
    )
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    tab = Staff(browser, web, "municipality")
    tab.sign_in("alcaldia@lapaz.bo")

    tab.open("/admin/difusiones/nueva")
    assert "" not in labelled_fields(tab.page)
    tab.page.get_by_label("Destino").select_option("zona:Sopocachi")
    tab.page.get_by_label("Texto en español").fill("Mañana no hay agua de 8 a 14.")
    tab.page.get_by_label("Texto en aymara").fill("Qharürux janiw uma utjkaniti 8 14 ukjakama.")
    tab.page.get_by_role("button", name="Ver vista previa y costo").click()
    assert tab.page.get_by_text("8 vecino(s), 8 SMS en total").count() == 1
    tab.shot("broadcast-preview")
    tab.page.get_by_role("button", name="Enviar").click()
    tab.page.wait_for_url("**/admin/difusiones/*")
    tab.shot("broadcast-armed")

    progress = tab.page.locator("#avance")
    assert progress.inner_text().startswith("0%")
    with installed(broadcast_config(config, tw)) as ctx:
        drain(ctx, q)  # a worker sends it to the local Twilio stand-in
    # No reload: htmx fetches the live part every 3 s and the page follows the worker.
    sync_api.expect(progress).to_have_text(re.compile(r"^100% procesado"), timeout=15_000)
    heading = tab.page.get_by_role("heading", name=re.compile(r"^Difusión \d+: Terminado$"))
    sync_api.expect(heading).to_have_count(1)
    assert tab.page.locator("#progreso[hx-trigger]").count() == 0  # finished: no more asking
    tab.shot("broadcast-done")
    assert {r["To"] for r in tw.requests} == set(phones(sessions, ids))
    with sessions() as session:
        assert session.scalars(select(Broadcast.status)).one() == "done"

    heaviest = max(tab.transferred.values())
    assert heaviest <= PAGE_BUDGET, tab.transferred


def test_a_status_change_in_the_browser_reaches_the_resident(
    web: str, browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    code = CODE.search(file_report(chat))
    assert code
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    tab = Staff(browser, web, "leader")
    tab.sign_in("lider@lapaz.bo")
    tab.open("/admin/reportes")
    tab.page.get_by_role("link", name=code.group(0)).click()
    tab.page.get_by_label("Nuevo estado").select_option("in_progress")
    tab.page.get_by_label("Nota para el vecino (obligatoria al rechazar)").fill(
        "Cuadrilla en camino"
    )
    tab.page.get_by_role("button", name="Guardar y avisar").click()
    assert tab.page.get_by_role("status").first.inner_text().startswith(code.group(0))
    tab.shot("report-changed")
    with sessions() as session:
        (body,) = session.scalars(
            select(OutboundMessage.body).where(OutboundMessage.to_address == chat.phone)
        )
    assert "en curso" in body and "Cuadrilla en camino" in body


def test_the_sms_count_follows_the_text_as_it_is_typed(
    web: str, browser: Any, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    tab = Staff(browser, web, "counter")
    tab.sign_in("alcaldia@lapaz.bo")
    tab.open("/admin/difusiones/nueva")
    assert tab.page.title() == "Nueva difusión · Mi Barrio"  # the counter's script stays out of it
    assert tab.page.locator("#sms-es").inner_text() == "1"
    texts = {"es": "Corte de agua mañana en toda la zona. " * 5, "ay": "Uma jan utjkaniti. " * 20}
    tab.page.get_by_label("Texto en español").fill(texts["es"])
    tab.page.get_by_label("Texto en aymara").fill(texts["ay"])
    for lang, text in texts.items():
        framed = render_broadcast(Content("announcement", text, text, None, None), lang, "sms")
        assert segments(framed) > 1
        sync_api.expect(tab.page.locator(f"#sms-{lang}")).to_have_text(str(segments(framed)))
    tab.shot("broadcast-counter")


def test_a_poll_created_in_the_browser_gets_votes_and_its_chart(
    web: str, browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    add_staff(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    tab = Staff(browser, web, "leader")
    tab.sign_in("lider@lapaz.bo")
    tab.page.get_by_role("navigation", name="Principal").get_by_role(
        "link", name="Encuestas"
    ).click()
    tab.page.get_by_role("link", name="Nueva encuesta").click()
    assert "" not in labelled_fields(tab.page)
    tab.page.get_by_label("Destino").select_option("zona:Sopocachi")
    tab.page.get_by_label("Pregunta en español").fill("¿Feria el domingo en la plaza?")
    tab.page.get_by_label("Pregunta en aymara").fill("Domingo plazan feria?")
    tab.page.get_by_label("Opciones (de 2 a 9)").fill("Sí|Jisa\nNo|Janiwa")
    tab.page.get_by_role("button", name="Crear la encuesta").click()
    tab.page.wait_for_url(re.compile(r".*/admin/encuestas/\d+$"))

    assert "Gracias, su voto cuenta" in chat.say("2") + chat.say("1")
    tab.page.reload()
    assert tab.page.locator("#participacion").inner_text().startswith("Votaron 1 de 1")
    chart = tab.page.get_by_role("img", name=re.compile(r"^Votos por opción"))
    assert chart.count() == 1
    assert chart.locator("desc").text_content() == "1. Sí: 1 (100%); 2. No: 0 (0%)"
    tab.shot("poll")
    assert max(tab.transferred.values()) <= PAGE_BUDGET, tab.transferred


def test_a_course_written_in_the_browser_is_refused_kept_fixed_and_saved_as_a_draft(
    web: str, browser: Any, sessions: sessionmaker[Session]
) -> None:
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    tab = Staff(browser, web, "course-form")
    tab.sign_in("alcaldia@lapaz.bo")
    tab.open("/admin/cursos")
    tab.page.get_by_role("link", name="Escribir un curso nuevo").click()
    assert "" not in labelled_fields(tab.page)
    page = tab.page
    page.get_by_label("Nombre corto", exact=False).fill("agua-segura")
    page.get_by_label("Título en español").fill("Agua segura")
    page.get_by_label("Título en aymara").fill("Suma uma")
    long_text = "Hierva el agua de beber durante un minuto entero. " * 4
    for n in (1, 2, 3):
        text = long_text if n == 2 else f"Hierva el agua de beber un minuto ({n})."
        page.get_by_label(f"Lección {n}: Texto en español").fill(text)
        page.get_by_label(f"Lección {n}: Texto en aymara").fill(f"Uma qhatiyaña ({n}).")
        page.get_by_label(f"Lección {n}: Pregunta en español").fill("¿Cuánto se hierve?")
        page.get_by_label(f"Lección {n}: Respuesta 1 en español").fill("Un minuto")
        page.get_by_label(f"Lección {n}: Respuesta 2 en español").fill("Nada")
        page.get_by_label(f"Lección {n}: Explicación en español").fill("Un minuto basta.")
    page.get_by_role("button", name="Guardar el curso").click()
    alert = page.get_by_role("alert")
    sync_api.expect(alert).to_contain_text("agua-segura lección 2, texto (es)")
    tab.shot("refused")
    typed = page.get_by_label("Lección 2: Texto en español")
    assert typed.input_value().strip() == long_text.strip()
    typed.fill("Hierva el agua de beber un minuto (2).")
    page.get_by_role("button", name="Agregar una lección al final").click()
    assert page.get_by_label("Lección 4: Texto en español").input_value() == ""
    page.get_by_label("Lección que quiere quitar").select_option("4")
    page.get_by_role("button", name="Quitar esa lección").click()
    assert page.get_by_label("Lección 4: Texto en español").count() == 0
    page.get_by_role("button", name="Guardar el curso").click()
    page.wait_for_url("**/admin/cursos")
    sync_api.expect(page.get_by_role("status").first).to_contain_text(
        "«Agua segura» guardado, en borrador"
    )
    tab.shot("saved")
    with sessions() as session:
        course = session.scalars(select(Course).where(Course.slug == "agua-segura")).one()
        assert course.status == "draft" and len(course.lessons) == 3
    assert max(tab.transferred.values()) <= PAGE_BUDGET, tab.transferred
