"""A course written or edited in the console's form: the municipality's only, through the same
import as a file (the same rules, the one-SMS check, the audit), problems named in Spanish next
to the form with everything typed kept, and lessons added or removed without saving."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import courses as store
from storage.db import transaction
from storage.models import AuditEntry, Course, utcnow
from tests.admin.conftest import BASE, Browser
from tests.admin.test_courses import status, take_first_lesson
from tests.admin.test_polls import CITY, LEADER, SUB, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import onboard

NEW = "/admin/cursos/nuevo"


@pytest.fixture
def courses(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        store.seed_starter_courses(session, utcnow())


class FormReader(HTMLParser):
    """What the page's form would send as it stands: its fields, named, with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self._label = a.get("for", "")
            self.labels[self._label] = ""
        elif tag == "input" and a.get("type") not in ("submit", "checkbox"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.fields[a["name"]] = a.get("value", "on")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            if self._select not in self.fields or "selected" in a:
                self.fields[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "label":
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data
        if self._label is not None:
            self.labels[self._label] += data


def read_form(page: str) -> FormReader:
    reader = FormReader()
    reader.feed(page)
    return reader


def fill_new(browser: Browser, **changes: str) -> dict[str, str]:
    """The new-course form with three short lessons written in it (and `changes`)."""
    fields = read_form(browser.get(NEW).get_data(as_text=True)).fields
    fields.update({"slug": "agua-segura", "title-es": "Agua segura", "title-ay": "Suma uma"})
    for i in range(3):
        fields.update(
            {
                f"l{i}-text-es": f"Hierva el agua de beber un minuto ({i + 1}).",
                f"l{i}-text-ay": f"Umaxa mä minuto qhatiyañawa ({i + 1}).",
                f"l{i}-question-es": "¿Cuánto se hierve el agua?",
                f"l{i}-answer-es-0": "Un minuto",
                f"l{i}-answer-es-1": "Nada",
                f"l{i}-correct": "1",
                f"l{i}-explanation-es": "Un minuto de hervor basta.",
            }
        )
    fields.update(changes)
    return fields


def send(browser: Browser, path: str, fields: dict[str, str], action: str = "guardar") -> Any:
    return browser.post(path, {**fields, "accion": action}, form=path)


def test_the_city_writes_a_course_in_the_form_and_it_is_a_draft(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    listing = browser.get("/admin/cursos").get_data(as_text=True)
    assert 'href="/admin/cursos/nuevo"' in listing
    assert 'href="/admin/cursos/junta-vecinal-y-poa/editar">Editar «Su junta vecinal' in listing
    blank = read_form(browser.get(NEW).get_data(as_text=True))
    assert blank.labels["l0-text-es"] == "Lección 1: Texto en español"
    assert blank.labels["l2-answer-ay-3"] == "Lección 3: Respuesta 4 en aymara"
    assert "l3-text-es" not in blank.fields  # three lessons to start with
    answer = send(browser, NEW, fill_new(browser))
    assert answer.status_code == 302
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert "«Agua segura» guardado, en borrador: publíquelo cuando esté listo." in page
    assert "<h2>Agua segura / Suma uma</h2>" in page
    assert status(sessions, "agua-segura") == "draft"
    with sessions() as session:
        course = store.course_by_slug(session, "agua-segura")
        assert course is not None and course.ay_draft  # not marked as reviewed
        assert [(lesson.answers_es, lesson.correct) for lesson in course.lessons] == [
            (["Un minuto", "Nada"], 1)
        ] * 3
        assert course.lessons[1].text_ay == "Umaxa mä minuto qhatiyañawa (2)."
        assert course.lessons[0].answers_ay is None  # no Aymara answers: the Spanish ones
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.actor, entry.via, entry.after) == (
            "course.import",
            CITY,
            "web",
            {"slug": "agua-segura", "lessons": 3, "status": "draft"},
        )


def test_editing_a_lesson_keeps_the_course_published(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    path = "/admin/cursos/junta-vecinal-y-poa/editar"
    page = browser.get(path).get_data(as_text=True)
    assert "Este curso está publicado y sigue publicado al guardar." in page
    fields = read_form(page).fields
    with sessions() as session:
        course = store.course_by_slug(session, "junta-vecinal-y-poa")
        assert course is not None
        before = store.data_of(course)
    assert fields["l1-text-es"] == before.lessons[1].text_es  # the course as it is
    assert fields["title-ay"] == before.title_ay and "slug" not in fields
    fields["l1-text-es"] = "La junta vecinal reúne a los vecinos de su zona cada mes."
    assert send(browser, path, fields).status_code == 302
    assert "sigue publicado" in browser.get("/admin/cursos").get_data(as_text=True)
    with sessions() as session:
        course = store.course_by_slug(session, "junta-vecinal-y-poa")
        assert course is not None and course.status == "published"
        after = store.data_of(course)
    assert after.lessons[1].text_es == "La junta vecinal reúne a los vecinos de su zona cada mes."
    before.lessons[1].text_es = after.lessons[1].text_es
    assert after == before  # nothing else changed


def test_an_over_long_text_is_refused_in_spanish_and_what_was_typed_stays(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    long_text = "Hierva el agua de beber durante un minuto entero. " * 4
    answer = send(browser, NEW, fill_new(browser, **{"l1-text-es": long_text}))
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "No se guardó el curso. Corrija esto" in page
    problem = "agua-segura lección 2, texto (es): "
    assert problem in page and "caracteres al enviarse, más de un SMS" in page
    # named again inside the lesson's own box
    lesson_2 = page[page.index('id="leccion-2"') : page.index('id="leccion-3"')]
    assert problem in lesson_2
    kept = read_form(page).fields
    assert kept["l1-text-es"].strip() == long_text.strip()
    assert kept["slug"] == "agua-segura" and kept["title-ay"] == "Suma uma"
    assert kept["l2-answer-es-1"] == "Nada" and kept["l0-text-ay"].startswith("Umaxa")
    with sessions() as session:
        assert store.course_by_slug(session, "agua-segura") is None
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.action == "course.import")
        ).all()


def test_the_rules_of_the_import_are_named_in_spanish(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    fields = fill_new(browser, **{"title-es": "", "l0-question-es": "", "l2-correct": "3"})
    page = send(browser, NEW, fields).get_data(as_text=True)
    assert "agua-segura: sin título en castellano" in page
    assert "agua-segura lección 1: falta la pregunta en castellano" in page
    assert "agua-segura lección 3: la respuesta correcta 3 no es una de ellas" in page
    assert read_form(page).fields["l2-correct"] == "3"  # as chosen
    gap = fill_new(browser, **{"l0-answer-es-1": "", "l0-answer-es-2": "Nada"})
    page = send(browser, NEW, gap).get_data(as_text=True)
    assert (
        "agua-segura lección 1: escriba las respuestas en español seguidas, desde la 1, "
        "sin dejar una vacía en medio"
    ) in page
    taken = send(browser, NEW, fill_new(browser, slug="como-usar-mi-barrio"))
    assert "Ya hay un curso «como-usar-mi-barrio»: elija otro nombre corto" in taken.get_data(
        as_text=True
    )
    with sessions() as session:
        assert session.scalars(select(Course.slug).order_by(Course.id)).all() == [
            "como-usar-mi-barrio",
            "junta-vecinal-y-poa",
        ]


def test_lessons_are_added_and_removed_without_saving_and_within_3_to_8(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    fields = fill_new(browser)
    page = send(browser, NEW, fields, "agregar").get_data(as_text=True)
    assert "Lección 4 agregada al final. Todavía no se guardó nada." in page
    grown = read_form(page).fields
    assert grown["l3-text-es"] == "" and grown["l2-text-es"] == fields["l2-text-es"]
    assert grown["quitar"] == "4"  # the last one, unless another is chosen
    grown.update({"l3-text-es": "Lección cuatro.", "quitar": "1"})
    page = send(browser, NEW, grown, "quitar").get_data(as_text=True)
    assert "Lección 1 quitada; las siguientes suben un número." in page
    shrunk = read_form(page).fields
    assert [shrunk[f"l{i}-text-es"] for i in range(3)] == [
        fields["l1-text-es"],
        fields["l2-text-es"],
        "Lección cuatro.",
    ]
    assert "quitar" not in shrunk  # three is the fewest
    refused = send(browser, NEW, {**shrunk, "quitar": "1"}, "quitar").get_data(as_text=True)
    assert "Un curso tiene al menos 3 lecciones." in refused
    for n in range(4, 9):
        page = send(browser, NEW, read_form(page).fields, "agregar").get_data(as_text=True)
        assert f"Lección {n} agregada al final." in page
    assert "Agregar una lección al final" not in page
    full = send(browser, NEW, read_form(page).fields, "agregar").get_data(as_text=True)
    assert "Un curso tiene como mucho 8 lecciones." in full
    with sessions() as session:
        assert store.course_by_slug(session, "agua-segura") is None


def test_the_aymara_review_mark_is_set_and_cleared_in_the_form(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    path = "/admin/cursos/como-usar-mi-barrio/editar"
    fields = read_form(browser.get(path).get_data(as_text=True)).fields
    assert "ay_reviewed" not in fields  # a draft: not ticked
    assert send(browser, path, {**fields, "ay_reviewed": "1"}).status_code == 302
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert "aymara: revisado" in page
    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None and not course.ay_draft
    again = read_form(browser.get(path).get_data(as_text=True)).fields
    assert again["ay_reviewed"] == "1"
    del again["ay_reviewed"]
    assert send(browser, path, again).status_code == 302
    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None and course.ay_draft


def test_a_right_answer_residents_answered_cannot_change_in_the_form(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    onboard(chat)
    take_first_lesson(chat, "1")  # lesson 1 of the first course listed, answered
    path = "/admin/cursos/como-usar-mi-barrio/editar"
    fields = read_form(browser.get(path).get_data(as_text=True)).fields
    assert fields["l0-correct"] == "1"
    page = send(browser, path, {**fields, "l0-correct": "2"}).get_data(as_text=True)
    assert (
        "como-usar-mi-barrio lección 1: 1 vecinos ya respondieron su pregunta; "
        "no puede cambiar su respuesta correcta (1 de 3)."
    ) in page
    assert read_form(page).fields["l0-correct"] == "2"  # as typed, to fix
    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None and course.lessons[0].correct == 1
    # An unanswered lesson's right answer may change.
    assert send(browser, path, {**fields, "l1-correct": "1"}).status_code == 302
    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None and course.lessons[1].correct == 1


@pytest.mark.parametrize("email", [SUB, LEADER, VIEWER])
def test_only_the_city_writes_courses_in_the_form(
    browser: Browser, sessions: sessionmaker[Session], courses: None, email: str
) -> None:
    city = Browser(browser.client.application.test_client())
    staff_in(city, sessions, CITY)
    fields = fill_new(city)
    del fields["csrf_token"]  # the city's; the page gives this user their own
    staff_in(browser, sessions, email)
    listing = browser.get("/admin/cursos").get_data(as_text=True)
    assert "Escribir un curso nuevo" not in listing and "Editar «" not in listing
    assert browser.get(NEW).status_code == 403
    assert browser.get("/admin/cursos/como-usar-mi-barrio/editar").status_code == 403
    refused = browser.post(NEW, {**fields, "accion": "guardar"}, form="/admin/cursos")
    assert refused.status_code == 403
    edit = browser.post(
        "/admin/cursos/como-usar-mi-barrio/editar",
        {**fields, "accion": "guardar"},
        form="/admin/cursos",
    )
    assert edit.status_code == 403
    with sessions() as session:
        assert store.course_by_slug(session, "agua-segura") is None
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None and course.lessons[0].text_es != fields["l0-text-es"]


def test_the_form_needs_its_csrf_token(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    fields = fill_new(browser)
    del fields["csrf_token"]
    answer = browser.client.post(
        NEW,
        data={**fields, "accion": "guardar"},
        base_url=BASE,
        headers={"Referer": BASE + NEW},
    )
    assert answer.status_code == 400
    with sessions() as session:
        assert store.course_by_slug(session, "agua-segura") is None


def test_an_unknown_course_is_not_found(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    assert browser.get("/admin/cursos/nada/editar").status_code == 404
    answer = send(browser, NEW, fill_new(browser, slug="nada"))
    assert answer.status_code == 302  # a new course may take that name
    fields = fill_new(browser)
    missing = browser.post("/admin/cursos/otro/editar", {**fields, "accion": "guardar"}, form=NEW)
    assert missing.status_code == 404
    with sessions() as session:
        assert store.course_by_slug(session, "otro") is None
