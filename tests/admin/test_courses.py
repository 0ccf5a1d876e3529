"""Courses in the console: the municipality publishes or withdraws a course (audited); every
role that sees residents reads completion and right answers for its own zonas only."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import courses as store
from storage.db import transaction
from storage.models import AuditEntry, Course, utcnow
from tests.admin.conftest import BASE, Browser
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


def course_yaml(slug: str, lesson_text: str = "El agua del grifo se hierve un minuto.") -> bytes:
    lessons = "".join(
        f"""  - text: {{es: "{lesson_text} ({n})", ay: "Uma qhatiyañawa ({n})"}}
    question: {{es: "¿Cuánto se hierve?"}}
    answers: {{es: [Un minuto, Nada]}}
    correct: 1
    explanation: {{es: "Un minuto basta."}}
"""
        for n in (1, 2, 3)
    )
    return f"slug: {slug}\ntitle: {{es: Agua segura, ay: Suma uma}}\nlessons:\n{lessons}".encode()


def upload(browser: Browser, content: bytes, name: str) -> str:
    answer = browser.post(
        "/admin/cursos/importar",
        {"file": (io.BytesIO(content), name)},
        form="/admin/cursos",
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert answer.status_code == 200
    return str(answer.get_data(as_text=True))


def test_the_city_uploads_a_course_file_as_a_draft_and_downloads_it(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    page = upload(browser, course_yaml("agua-segura"), "agua.yaml")
    assert "Importado: «Agua segura» (en borrador)" in page
    assert "<h2>Agua segura / Suma uma</h2>" in page
    assert status(sessions, "agua-segura") == "draft"
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and (entry.action, entry.actor, entry.via) == (
            "course.import",
            CITY,
            "web",
        )
    download = browser.get("/admin/cursos/agua-segura.yaml")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    (again,) = store.read_yaml(download.get_data(as_text=True))
    assert again.title_ay == "Suma uma" and len(again.lessons) == 3
    assert again.lessons[0].text_es == "El agua del grifo se hierve un minuto. (1)"


def test_a_csv_course_file_goes_through_the_same_import(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=store.CSV_COLUMNS)
    writer.writeheader()
    for n in (1, 2, 3):
        writer.writerow(
            {
                "slug": "basura",
                "title_es": "La basura",
                "text_es": f"Saque la basura la noche del recojo ({n}).",
                "question_es": "¿Cuándo?",
                "answers_es": "La noche del recojo|Cualquier día",
                "correct": "1",
                "explanation_es": "Así no se acumula en la calle.",
            }
        )
    page = upload(browser, out.getvalue().encode(), "basura.csv")
    assert "Importado: «La basura» (en borrador)" in page
    assert status(sessions, "basura") == "draft"


def test_a_lesson_over_one_sms_is_refused_with_the_reason_and_nothing_is_saved(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    page = upload(browser, course_yaml("agua-larga", "Hierva el agua. " * 12), "agua.yaml")
    assert "No se importó el archivo: agua-larga lección 1, texto (es)" in page
    assert "más de un SMS" in page and "No se guardó nada." in page
    broken = upload(browser, b"slug: [\n", "roto.yaml")
    assert "No se pudo leer el archivo como cursos" in broken
    with sessions() as session:
        assert session.scalars(select(Course.slug).order_by(Course.id)).all() == [
            "como-usar-mi-barrio",
            "junta-vecinal-y-poa",
        ]
        assert not session.scalars(
            select(AuditEntry).where(AuditEntry.action == "course.import")
        ).all()


@pytest.mark.parametrize("email", [LEADER, VIEWER])
def test_only_the_city_uploads_or_downloads_courses(
    browser: Browser, sessions: sessionmaker[Session], courses: None, email: str
) -> None:
    staff_in(browser, sessions, email)
    assert "Cargar un curso" not in browser.get("/admin/cursos").get_data(as_text=True)
    refused = browser.post(
        "/admin/cursos/importar",
        {"file": (io.BytesIO(course_yaml("agua-segura")), "agua.yaml")},
        form="/admin/cursos",
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
    assert browser.get("/admin/cursos/como-usar-mi-barrio.yaml").status_code == 403
    with sessions() as session:
        assert session.scalar(select(Course).where(Course.slug == "agua-segura")) is None


def test_an_upload_without_its_csrf_token_is_refused(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    answer = browser.client.post(
        "/admin/cursos/importar",
        data={"file": (io.BytesIO(course_yaml("agua-segura")), "agua.yaml")},
        base_url=BASE,
        headers={"Referer": BASE + "/admin/cursos"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    with sessions() as session:
        assert session.scalar(select(Course).where(Course.slug == "agua-segura")) is None


def test_a_right_answer_residents_answered_cannot_change_on_import(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    """Answers already counted keep meaning what they meant: the question's right answer and
    its number of answers stay, while its wording and the unanswered lessons may change."""
    staff_in(browser, sessions, CITY)
    assert "Importado" in upload(browser, course_yaml("agua-segura"), "agua.yaml")
    with transaction(sessions) as session:
        course = store.course_by_slug(session, "agua-segura")
        assert course is not None
        store.publish(course, utcnow())
    onboard(chat)
    take_first_lesson(chat, "1")  # lesson 1 answered
    changed = course_yaml("agua-segura").replace(b"correct: 1", b"correct: 2")
    page = upload(browser, changed, "agua.yaml")
    assert (
        "No se importó el archivo: agua-segura lección 1: 1 vecinos ya respondieron su pregunta; "
        "no puede cambiar su respuesta correcta (1 de 2)."
    ) in page
    assert "No se guardó nada." in page
    with sessions() as session:
        course = store.course_by_slug(session, "agua-segura")
        assert course is not None and [lesson.correct for lesson in course.lessons] == [1, 1, 1]
    # The same right answers with new wording are taken.
    reworded = course_yaml("agua-segura", "Hierva el agua del grifo un minuto.")
    assert "Importado: «Agua segura» (publicado)" in upload(browser, reworded, "agua.yaml")


def test_the_courses_page_shows_the_aymara_review_mark_and_what_residents_get(
    browser: Browser, sessions: sessionmaker[Session], courses: None
) -> None:
    staff_in(browser, sessions, CITY)
    page = browser.get("/admin/cursos").get_data(as_text=True)
    assert page.count("aymara: borrador por revisar") == 2
    assert "Los vecinos que usan aymara reciben este borrador mientras tanto" in page
    reviewed = course_yaml("agua-segura").replace(b"lessons:", b"ay_reviewed: true\nlessons:")
    page = upload(browser, reviewed, "agua.yaml")
    assert "aymara: revisado" in page and page.count("aymara: borrador por revisar") == 2
    page = upload(browser, course_yaml("agua-segura"), "agua.yaml")  # no mark: a draft again
    assert page.count("aymara: borrador por revisar") == 3
