"""`mibarrio course import|add|list|export|publish|stats`, and what residents then get."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.cli import main
from storage import courses as store
from storage.models import AuditEntry
from tests.commands.test_staff import Staff
from tests.conftest import Chat
from tests.factories import onboard
from tests.helpers import terminal

STARTER = sorted(str(p) for p in store.STARTER_DIR.glob("*.yaml"))


@pytest.fixture
def staff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Staff:
    unset = ("REDIS_URL", "PUBLIC_URL", "GSM7_FOLD")
    return Staff(terminal(monkeypatch, tmp_path, db_url, unset=unset))


def water_course(tmp_path: Path, **changes: object) -> Path:
    """A small course of three lessons as a CSV file, one row per lesson."""
    rows = [
        {
            "slug": "agua-segura",
            "title_es": "Agua segura",
            "title_ay": "Uma",
            "position": n,
            "text_es": f"Lección {n}: hierva el agua de beber un minuto.",
            "text_ay": "",
            "question_es": "¿Cuánto tiempo hierve el agua?",
            "question_ay": "",
            "answers_es": "Un minuto|Nada",
            "answers_ay": "",
            "correct": "1",
            "explanation_es": "Un minuto de hervor basta.",
            "explanation_ay": "",
        }
        for n in (1, 2, 3)
    ]
    for key, value in changes.items():
        rows[1][key] = value
    path = tmp_path / "agua.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=store.CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_starter_courses_are_imported_drafts_until_published(staff: Staff, chat: Chat) -> None:
    out = staff.run("course", "import", *STARTER).stdout
    assert "como-usar-mi-barrio: added, 8 lessons, draft" in out
    assert "junta-vecinal-y-poa: added, 8 lessons, draft" in out
    onboard(chat)
    assert chat.say("CURSOS").startswith("Todavia no hay cursos")
    assert staff.run("course", "publish", "junta-vecinal-y-poa").stdout.strip() == (
        "junta-vecinal-y-poa: published"
    )
    chat.say("MENU")
    assert chat.say("CURSOS").startswith("Cursos: 1 Su junta vecinal y el POA. 0: volver.")
    listed = staff.json("course", "list", "--json")
    assert [(c["slug"], c["status"], c["lessons"]) for c in listed] == [
        ("como-usar-mi-barrio", "draft", 8),
        ("junta-vecinal-y-poa", "published", 8),
    ]
    staff.run("course", "publish", "junta-vecinal-y-poa", "--draft")
    chat.say("MENU")
    assert chat.say("CURSOS").startswith("Todavia no hay cursos")
    with chat.sessions() as session:
        trail = session.execute(select(AuditEntry.action, AuditEntry.via).order_by(AuditEntry.id))
        assert [tuple(row) for row in trail] == [
            ("course.import", "cli"),
            ("course.import", "cli"),
            ("course.publish", "cli"),
            ("course.draft", "cli"),
        ]
    assert "no course nada" in staff.refused("course", "publish", "nada").output


def test_a_csv_course_is_imported_and_published_and_reaches_residents(
    staff: Staff, chat: Chat, tmp_path: Path
) -> None:
    out = staff.run("course", "import", "--publish", str(water_course(tmp_path))).stdout
    assert "agua-segura: added, 3 lessons, published" in out
    onboard(chat)
    chat.say("CURSOS")
    assert chat.say("1").startswith("Leccion 1 de 3: Leccion 1: hierva el agua")
    assert chat.say("1") == "Pregunta: ¿Cuanto tiempo hierve el agua? 1 Un minuto; 2 Nada"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"text_es": "Hierva el agua. " * 12}, "lesson 2 text (es)"),
        ({"explanation_ay": "Uma qhatiyañawa. " * 10}, "lesson 2 explanation (ay)"),
        ({"correct": "3"}, "the right answer 3 is not one of them"),
        ({"answers_es": "Sólo una"}, "1 answers (2 to 5)"),
        ({"answers_ay": "Maya|Paya|Kimsa"}, "not as many Aymara answers"),
        ({"slug": "otro"}, "otro: 1 lessons (a course has 3 to 8)"),
    ],
)
def test_import_refuses_a_course_that_breaks_a_rule_and_saves_nothing(
    staff: Staff, tmp_path: Path, changes: dict[str, str], said: str
) -> None:
    refused = staff.refused("course", "import", str(water_course(tmp_path, **changes)))
    assert said in refused.output and "nothing was saved" in refused.output
    assert "no courses" in staff.run("course", "list").stdout


def test_export_then_import_gives_back_the_same_course(staff: Staff, tmp_path: Path) -> None:
    staff.run("course", "import", *STARTER)
    exported = tmp_path / "out.yaml"
    staff.run("course", "export", "como-usar-mi-barrio", "--to", str(exported))
    again = store.read_file(exported)
    original = store.read_file(Path(STARTER[0]))
    assert again == original
    # An edited export updates the course in place.
    data = list(yaml.safe_load_all(exported.read_text(encoding="utf-8")))
    data[0]["title"]["es"] = "Mi Barrio paso a paso"
    exported.write_text(yaml.safe_dump_all(data, allow_unicode=True), encoding="utf-8")
    assert (
        "como-usar-mi-barrio: updated, 8 lessons"
        in staff.run("course", "import", str(exported)).stdout
    )
    assert "Mi Barrio paso a paso" in staff.run("course", "list").stdout
    assert "no course nada" in staff.refused("course", "export", "nada").output


def test_add_writes_a_course_at_the_terminal(staff: Staff) -> None:
    lesson = [
        "Lave sus manos con jabón antes de cocinar.",
        "",
        "¿Cuándo se lava las manos?",
        "",
        "Antes de cocinar|Nunca",
        "",
        "1",
        "El jabón quita los microbios.",
        "",
    ]
    typed = "\n".join(lesson * 3) + "\n"
    result = staff.runner.invoke(
        main,
        ["course", "add", "--slug", "manos", "--title-es", "Manos limpias", "--lessons", "3"],
        input=typed,
    )
    assert result.exit_code == 0, result.output
    assert "manos: added, 3 lessons, draft" in result.output
    shown = staff.run("course", "export", "manos").stdout
    assert "Lave sus manos con jabón antes de cocinar." in shown


def test_stats_give_completion_and_right_answers_per_zona(
    staff: Staff, chat: Chat, tmp_path: Path
) -> None:
    staff.run("course", "import", "--publish", str(water_course(tmp_path)))
    onboard(chat)
    for text in ("CURSOS", "1", "1", "1", "1", "1", "2", "1", "1", "1", "1"):
        chat.say(text)
    other = onboard(Chat(chat.sessions, phone="+59171234568"), zone="Miraflores")
    for text in ("CURSOS", "1", "1", "2"):
        other.say(text)
    stats = staff.json("course", "stats", "agua-segura", "--json")
    assert stats == [
        {
            "zone": "Miraflores",
            "enrolled": 1,
            "completed": 0,
            "questions": {"1": {"answered": 1, "right": 0}},
        },
        {
            "zone": "Sopocachi",
            "enrolled": 1,
            "completed": 1,
            "questions": {
                "1": {"answered": 1, "right": 1},
                "2": {"answered": 1, "right": 0},
                "3": {"answered": 1, "right": 1},
            },
        },
    ]
    table = staff.run("course", "stats", "agua-segura").stdout
    assert "Sopocachi" in table and "1/1" in table and "0/1" in table
    assert "no course nada" in staff.refused("course", "stats", "nada").output


def test_import_keeps_the_right_answer_of_a_question_residents_answered(
    staff: Staff, chat: Chat, tmp_path: Path
) -> None:
    staff.run("course", "import", "--publish", str(water_course(tmp_path)))
    onboard(chat)
    for text in ("CURSOS", "1", "1", "1", "1", "1", "1"):  # lessons 1 and 2 answered
        chat.say(text)
    # Lesson 2's right answer would become the second one: refused, nothing saved.
    refused = staff.refused(
        "course", "import", str(water_course(tmp_path, correct="2", answers_es="Nada|Un minuto"))
    )
    assert "agua-segura lesson 2: 1 residents answered its question" in refused.output
    assert "nothing was saved" in refused.output
    stats = staff.run("course", "stats", "agua-segura").stdout
    assert "1/1      1/1" in stats


def test_the_aymara_review_mark_is_listed_and_a_reviewed_import_clears_it(
    staff: Staff, tmp_path: Path
) -> None:
    staff.run("course", "import", *STARTER)
    listed = staff.run("course", "list").stdout.splitlines()
    assert all("(aymara: borrador por revisar)" in line for line in listed), listed
    assert {c["aymara"] for c in staff.json("course", "list", "--json")} == {"draft"}
    # A native speaker reviewed one: its file says so, and the mark goes (the export keeps it).
    exported = tmp_path / "poa.yaml"
    staff.run("course", "export", "junta-vecinal-y-poa", "--to", str(exported))
    text = exported.read_text(encoding="utf-8")
    assert "ay_reviewed: false" in text
    exported.write_text(text.replace("ay_reviewed: false", "ay_reviewed: true"), encoding="utf-8")
    staff.run("course", "import", str(exported))
    listed = staff.run("course", "list").stdout
    assert "junta-vecinal-y-poa" in listed and "(aymara: revisado)" in listed
    assert listed.count("borrador por revisar") == 1
    # The CSV form says it in its ay_reviewed column; a course without Aymara has no mark.
    staff.run("course", "import", str(water_course(tmp_path, ay_reviewed="sí")))
    water = [c for c in staff.json("course", "list", "--json") if c["slug"] == "agua-segura"]
    assert water[0]["aymara"] == "reviewed"
