"""Civic micro-lessons (CURSOS): courses and their lessons, residents' enrolments and answers.

A course is data written by the municipality (YAML or CSV files, `mibarrio course`), not
catalog messages. Functions take the session and never commit.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import yaml
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from storage.broadcasts import LA_PAZ
from storage.db import insert_ignoring_conflicts
from storage.enums import ResidentStatus
from storage.models import (
    Course,
    Enrolment,
    Lesson,
    LessonAnswer,
    LessonDelivery,
    Resident,
    Zone,
    aware,
)

MIN_LESSONS = 3
MAX_LESSONS = 8
MAX_ANSWERS = 5
# A title is shown inside the course list and the progress line, which must stay one SMS.
MAX_TITLE = 40
# The starter courses shipped with Mi Barrio (loaded by `mibarrio course import` and the seed).
STARTER_DIR = Path(__file__).parent / "data" / "courses"
# Columns of the CSV form: one row per lesson; answers separated by "|".
CSV_COLUMNS = (
    "slug",
    "title_es",
    "title_ay",
    "position",
    "text_es",
    "text_ay",
    "question_es",
    "question_ay",
    "answers_es",
    "answers_ay",
    "correct",
    "explanation_es",
    "explanation_ay",
    "ay_reviewed",
)
# What says a course's Aymara was reviewed: `ay_reviewed: true` in YAML; in the CSV column
# ay_reviewed, one of these on any row of the course.
YES = frozenset({"true", "yes", "si", "sí", "1", "x"})
TEXTS = ("text", "question", "explanation")


# --- course data (files in, files out) ---------------------------------------------------------


@dataclass
class LessonData:
    text_es: str
    question_es: str
    answers_es: list[str]
    correct: int
    explanation_es: str
    text_ay: str | None = None
    question_ay: str | None = None
    answers_ay: list[str] | None = None
    explanation_ay: str | None = None


@dataclass
class CourseData:
    slug: str
    title_es: str
    title_ay: str | None = None
    lessons: list[LessonData] = field(default_factory=list)
    # A native speaker reviewed the Aymara texts (else they are a draft, marked as such).
    ay_reviewed: bool = False

    def problems(self, lang: str = "en") -> list[str]:
        """What keeps this course from being saved, in words staff can act on (English for
        the terminal, "es" for the console)."""
        es = lang == "es"
        found = []
        if not self.slug.strip() or " " in self.slug.strip():
            found.append(
                f"slug {self.slug!r}: una sola palabra (letras, números, guiones)"
                if es
                else f"slug {self.slug!r}: one word (letters, digits, dashes)"
            )
        if not self.title_es.strip():
            found.append(
                f"{self.slug}: sin título en castellano" if es else f"{self.slug}: no Spanish title"
            )
        for title in (self.title_es, self.title_ay or ""):
            if len(title) > MAX_TITLE:
                found.append(
                    f"{self.slug}: el título {title!r} tiene más de {MAX_TITLE} letras"
                    if es
                    else f"{self.slug}: title {title!r} is longer than {MAX_TITLE} letters"
                )
        if not MIN_LESSONS <= len(self.lessons) <= MAX_LESSONS:
            found.append(
                f"{self.slug}: {len(self.lessons)} lecciones "
                f"(un curso tiene de {MIN_LESSONS} a {MAX_LESSONS})"
                if es
                else f"{self.slug}: {len(self.lessons)} lessons "
                f"(a course has {MIN_LESSONS} to {MAX_LESSONS})"
            )
        names_es = {
            "text_es": "el texto",
            "question_es": "la pregunta",
            "explanation_es": "la explicación",
        }
        for n, lesson in enumerate(self.lessons, 1):
            where = f"{self.slug} lección {n}" if es else f"{self.slug} lesson {n}"
            for name in ("text_es", "question_es", "explanation_es"):
                if not str(getattr(lesson, name) or "").strip():
                    found.append(
                        f"{where}: falta {names_es[name]} en castellano"
                        if es
                        else f"{where}: {name} is empty"
                    )
            if not 2 <= len(lesson.answers_es) <= MAX_ANSWERS:
                found.append(
                    f"{where}: {len(lesson.answers_es)} respuestas (de 2 a {MAX_ANSWERS})"
                    if es
                    else f"{where}: {len(lesson.answers_es)} answers (2 to {MAX_ANSWERS})"
                )
            if not 1 <= lesson.correct <= len(lesson.answers_es):
                found.append(
                    f"{where}: la respuesta correcta {lesson.correct} no es una de ellas"
                    if es
                    else f"{where}: the right answer {lesson.correct} is not one of them"
                )
            if lesson.answers_ay and len(lesson.answers_ay) != len(lesson.answers_es):
                found.append(
                    f"{where}: no hay tantas respuestas en aymara como en castellano"
                    if es
                    else f"{where}: not as many Aymara answers as Spanish ones"
                )
        return found


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _by_language(node: Any, lang: str) -> Any:
    return node.get(lang) if isinstance(node, Mapping) else (node if lang == "es" else None)


def _yes(value: Any) -> bool:
    return value is True or str(value or "").strip().lower() in YES


def _answers(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value.split("|") if isinstance(value, str) else list(value)
    answers = [t for t in (_text(item) for item in items) if t]
    return answers or None


def course_of(raw: Mapping[str, Any]) -> CourseData:
    """One course from its YAML shape (slug, title, ay_reviewed, lessons; texts as {es, ay}),
    whitespace tidied: what a YAML document and the console's course form both give."""
    title = raw.get("title")
    course = CourseData(
        slug=str(raw.get("slug") or "").strip(),
        title_es=_text(_by_language(title, "es")) or "",
        title_ay=_text(_by_language(title, "ay")),
        ay_reviewed=_yes(raw.get("ay_reviewed")),
    )
    for item in raw.get("lessons") or []:
        answers = item.get("answers")
        course.lessons.append(
            LessonData(
                text_es=_text(_by_language(item.get("text"), "es")) or "",
                text_ay=_text(_by_language(item.get("text"), "ay")),
                question_es=_text(_by_language(item.get("question"), "es")) or "",
                question_ay=_text(_by_language(item.get("question"), "ay")),
                answers_es=_answers(_by_language(answers, "es")) or [],
                answers_ay=_answers(_by_language(answers, "ay")),
                correct=int(item.get("correct") or 0),
                explanation_es=_text(_by_language(item.get("explanation"), "es")) or "",
                explanation_ay=_text(_by_language(item.get("explanation"), "ay")),
            )
        )
    return course


def read_yaml(stream: TextIO | str) -> list[CourseData]:
    """One course per YAML document (or a list of them); texts as {es: ..., ay: ...}."""
    courses = []
    for document in yaml.safe_load_all(stream):
        for raw in document if isinstance(document, list) else [document]:
            if not isinstance(raw, Mapping):
                raise ValueError("a course is a mapping with slug, title and lessons")
            courses.append(course_of(raw))
    return courses


def read_csv(stream: TextIO) -> list[CourseData]:
    """One row per lesson (CSV_COLUMNS), rows of a course together or not, in lesson order."""
    courses: dict[str, CourseData] = {}
    rows = list(csv.DictReader(stream))
    for line, row in enumerate(rows, start=2):
        slug = (row.get("slug") or "").strip()
        if not slug:
            raise ValueError(f"line {line}: no slug")
        course = courses.setdefault(
            slug,
            CourseData(slug, _text(row.get("title_es")) or "", _text(row.get("title_ay"))),
        )
        course.ay_reviewed = course.ay_reviewed or _yes(row.get("ay_reviewed"))
        try:
            correct = int(row.get("correct") or 0)
        except ValueError as exc:
            raise ValueError(f"line {line}: correct must be a number") from exc
        course.lessons.append(
            LessonData(
                text_es=_text(row.get("text_es")) or "",
                text_ay=_text(row.get("text_ay")),
                question_es=_text(row.get("question_es")) or "",
                question_ay=_text(row.get("question_ay")),
                answers_es=_answers(row.get("answers_es")) or [],
                answers_ay=_answers(row.get("answers_ay")),
                correct=correct,
                explanation_es=_text(row.get("explanation_es")) or "",
                explanation_ay=_text(row.get("explanation_ay")),
            )
        )
    return list(courses.values())


def read_file(path: Path) -> list[CourseData]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return read_named(path.name, fh)


def read_named(name: str, stream: TextIO) -> list[CourseData]:
    """A course file by its name: .csv as CSV, anything else as YAML.

    Raises ValueError (with yaml.YAMLError, AttributeError, TypeError: READ_ERRORS) when the
    file cannot be read as courses.
    """
    if name.lower().endswith(".csv"):
        return read_csv(stream)
    return read_yaml(stream)


READ_ERRORS = (ValueError, yaml.YAMLError, AttributeError, TypeError)


def data_of(course: Course) -> CourseData:
    return CourseData(
        course.slug,
        course.title_es,
        course.title_ay,
        [
            LessonData(
                text_es=lesson.text_es,
                text_ay=lesson.text_ay,
                question_es=lesson.question_es,
                question_ay=lesson.question_ay,
                answers_es=list(lesson.answers_es),
                answers_ay=list(lesson.answers_ay) if lesson.answers_ay else None,
                correct=lesson.correct,
                explanation_es=lesson.explanation_es,
                explanation_ay=lesson.explanation_ay,
            )
            for lesson in course.lessons
        ],
        ay_reviewed=not course.ay_draft,
    )


def as_dict(c: CourseData) -> dict[str, Any]:
    """The course in its YAML shape (what course_of reads back)."""

    def both(es: Any, ay: Any) -> dict[str, Any]:
        return {"es": es, "ay": ay} if ay else {"es": es}

    return {
        "slug": c.slug,
        "title": both(c.title_es, c.title_ay),
        "ay_reviewed": c.ay_reviewed,
        "lessons": [
            {
                "text": both(lesson.text_es, lesson.text_ay),
                "question": both(lesson.question_es, lesson.question_ay),
                "answers": both(lesson.answers_es, lesson.answers_ay),
                "correct": lesson.correct,
                "explanation": both(lesson.explanation_es, lesson.explanation_ay),
            }
            for lesson in c.lessons
        ],
    }


def to_yaml(courses: Iterable[CourseData]) -> str:
    """The import's YAML form, so a course can be exported, edited and imported back."""
    documents = [as_dict(c) for c in courses]
    return yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False, width=100)


# --- courses in the database --------------------------------------------------------------------


def course_by_slug(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug))


def all_courses(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).order_by(Course.id)))


def published_courses(session: Session) -> list[Course]:
    return list(
        session.scalars(select(Course).where(Course.status == "published").order_by(Course.id))
    )


class CourseConflict(ValueError):
    """The update would spoil what residents already did; str() in English, `es` for the
    console."""

    def __init__(self, message: str, es: str) -> None:
        super().__init__(message)
        self.es = es


def answers_per_lesson(session: Session, course_id: int) -> dict[int, int]:
    """How many residents answered each lesson's question, by lesson position."""
    return {
        int(position): int(count)
        for position, count in session.execute(
            select(Lesson.position, func.count())
            .join(LessonAnswer, LessonAnswer.lesson_id == Lesson.id)
            .where(Lesson.course_id == course_id)
            .group_by(Lesson.position)
        )
    }


def save_course(session: Session, data: CourseData) -> tuple[Course, bool]:
    """Add the course, or update the one with its slug (lessons by position); (course, added).

    Lessons that residents already answered are updated in place, never removed: a course
    that has enrolments cannot lose lessons, and a question residents answered keeps its
    right answer and its number of answers (else its figures would count answers to another
    question as right or wrong). Raises CourseConflict then.
    """
    problems = data.problems()
    if problems:
        raise ValueError("; ".join(problems))
    course = course_by_slug(session, data.slug)
    added = course is None
    if course is None:
        course = Course(slug=data.slug, title_es=data.title_es, status="draft")
        session.add(course)
    existing = {lesson.position: lesson for lesson in course.lessons}
    if len(existing) > len(data.lessons) and enrolled(session, course.id):
        raise CourseConflict(
            f"{data.slug}: residents are taking it; it cannot lose lessons",
            f"{data.slug}: hay vecinos tomándolo, no puede perder lecciones.",
        )
    answered = answers_per_lesson(session, course.id) if not added else {}
    for position, item in enumerate(data.lessons, 1):
        lesson = existing.get(position)
        if lesson is None or not answered.get(position):
            continue
        if item.correct != lesson.correct or len(item.answers_es) != len(lesson.answers_es):
            count = answered[position]
            raise CourseConflict(
                f"{data.slug} lesson {position}: {count} residents answered its question; "
                f"its right answer ({lesson.correct} of {len(lesson.answers_es)}) cannot change "
                "(import it under a new slug instead)",
                f"{data.slug} lección {position}: {count} vecinos ya respondieron su pregunta; "
                f"no puede cambiar su respuesta correcta ({lesson.correct} de "
                f"{len(lesson.answers_es)}). Impórtelo como curso nuevo, con otro slug.",
            )
    course.title_es, course.title_ay = data.title_es, data.title_ay
    course.ay_draft = not data.ay_reviewed
    for position, item in enumerate(data.lessons, 1):
        lesson = existing.pop(position, None)
        if lesson is None:
            lesson = Lesson(position=position)
            course.lessons.append(lesson)
        for name, value in vars(item).items():
            setattr(lesson, name, value)
    for lesson in existing.values():
        course.lessons.remove(lesson)
    session.flush()
    return course, added


def has_aymara(course: Course) -> bool:
    """Whether the course has any Aymara text (else Aymara speakers get the Spanish)."""
    return bool(course.title_ay) or any(
        lesson.text_ay or lesson.question_ay or lesson.answers_ay or lesson.explanation_ay
        for lesson in course.lessons
    )


def aymara_state(course: Course) -> str:
    """How the course's Aymara stands: "draft" (awaits review), "reviewed" or "none"."""
    if not has_aymara(course):
        return "none"
    return "draft" if course.ay_draft else "reviewed"


# The same, in the words the terminal and the console show.
AYMARA_STATES_ES = {
    "draft": "borrador por revisar",
    "reviewed": "revisado",
    "none": "sin aymara (reciben el castellano)",
}


def publish(course: Course, now: datetime, *, published: bool = True) -> None:
    course.status = "published" if published else "draft"
    course.published_at = now if published else None


def enrolled(session: Session, course_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.course_id == course_id)
        )
        or 0
    )


# --- a resident's enrolments ------------------------------------------------------------------


def current_enrolment(session: Session, resident_id: int) -> Enrolment | None:
    """The course the resident is taking: the last one they touched and did not finish, of
    the courses still published (a course taken back to draft is not offered any more)."""
    return session.scalar(
        select(Enrolment)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Enrolment.resident_id == resident_id,
            Enrolment.completed_at.is_(None),
            Course.status == "published",
        )
        .order_by(Enrolment.updated_at.desc(), Enrolment.id.desc())
        .limit(1)
    )


# The stage of an enrolment whose course was taken back to draft once the resident was told.
WITHDRAWN = "withdrawn"


def withdrawn_enrolment(session: Session, resident_id: int) -> Enrolment | None:
    """The course the resident was last taking, if it was taken back to draft since and they
    were not told yet (its answers stay, for the figures)."""
    last = session.scalar(
        select(Enrolment)
        .where(Enrolment.resident_id == resident_id, Enrolment.completed_at.is_(None))
        .order_by(Enrolment.updated_at.desc(), Enrolment.id.desc())
        .limit(1)
    )
    if last is None or last.course.status == "published" or last.stage == WITHDRAWN:
        return None
    return last


def enrolment_of(session: Session, resident_id: int, course_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(
            Enrolment.resident_id == resident_id, Enrolment.course_id == course_id
        )
    )


def enrol(session: Session, resident: Resident, course: Course, now: datetime) -> Enrolment:
    """Start the course (or take it up again where it was left); one course at a time, so the
    others the resident was taking are paused. A finished course stays finished."""
    session.execute(
        update(Enrolment)
        .where(
            Enrolment.resident_id == resident.id,
            Enrolment.course_id != course.id,
            Enrolment.completed_at.is_(None),
        )
        .values(paused=True)
        .execution_options(synchronize_session="fetch")
    )
    enrolment = enrolment_of(session, resident.id, course.id)
    if enrolment is None:
        enrolment = Enrolment(
            resident_id=resident.id,
            course_id=course.id,
            zone_id=resident.zone_id,
            position=1,
            stage="lesson",
            paused=False,
            started_at=now,
            updated_at=now,
        )
        session.add(enrolment)
    enrolment.paused = False
    enrolment.updated_at = now
    session.flush()
    return enrolment


def lesson_of(enrolment: Enrolment) -> Lesson | None:
    """The lesson the enrolment is on (None past the last one)."""
    for lesson in enrolment.course.lessons:
        if lesson.position == enrolment.position:
            return lesson
    return None


def mark_delivered(
    session: Session, enrolment: Enrolment, lesson: Lesson, now: datetime, *, daily: bool = False
) -> bool:
    """Record that the lesson was shown; False if it had been already (then send nothing)."""
    inserted = session.scalar(
        insert_ignoring_conflicts(LessonDelivery)
        .values(enrolment_id=enrolment.id, lesson_id=lesson.id, daily=daily, at=now)
        .returning(LessonDelivery.id)
    )
    enrolment.last_lesson_at = now
    enrolment.updated_at = now
    return inserted is not None


def record_answer(
    session: Session, enrolment: Enrolment, lesson: Lesson, chosen: int, now: datetime
) -> bool:
    """The resident's answer (the first one to each question is the one counted); whether it
    is right. The enrolment moves to 'answered'."""
    right = chosen == lesson.correct
    resident = enrolment.resident
    session.execute(
        insert_ignoring_conflicts(LessonAnswer).values(
            resident_id=enrolment.resident_id,
            lesson_id=lesson.id,
            zone_id=resident.zone_id if resident is not None else enrolment.zone_id,
            chosen=chosen,
            correct=right,
            at=now,
        )
    )
    enrolment.stage = "answered"
    enrolment.updated_at = now
    return right


def advance(enrolment: Enrolment, now: datetime) -> Lesson | None:
    """Move to the next lesson; None (and the course completed) after the last one."""
    enrolment.updated_at = now
    if enrolment.position >= len(enrolment.course.lessons):
        enrolment.completed_at = now
        return None
    enrolment.position += 1
    enrolment.stage = "lesson"
    return lesson_of(enrolment)


def right_answers(session: Session, resident_id: int, course_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LessonAnswer)
            .join(Lesson, Lesson.id == LessonAnswer.lesson_id)
            .where(
                LessonAnswer.resident_id == resident_id,
                Lesson.course_id == course_id,
                LessonAnswer.correct.is_(True),
            )
        )
        or 0
    )


def next_daily_lesson(last_lesson_at: datetime | None, daily_hour: int, now: datetime) -> datetime:
    """When the next lesson by the day may go out (La Paz time): at the chosen hour, on the
    first day after the one the last lesson was shown; `now` itself when that time has come.
    The worker sends at the first run from then on (quiet hours permitting)."""
    local = aware(now).astimezone(LA_PAZ)
    day = local.date()
    if last_lesson_at is not None:
        day = max(day, aware(last_lesson_at).astimezone(LA_PAZ).date() + timedelta(days=1))
    due = datetime.combine(day, time(daily_hour), tzinfo=LA_PAZ)
    return max(due, local)


def daily_candidates(session: Session) -> list[Enrolment]:
    """Enrolments waiting for their next lesson by the day: answered, not paused, not done,
    of a published course and a resident who still receives messages. Whether the hour has
    come is the caller's."""
    return list(
        session.scalars(
            select(Enrolment)
            .join(Resident, Resident.id == Enrolment.resident_id)
            .join(Course, Course.id == Enrolment.course_id)
            .where(
                Course.status == "published",
                Enrolment.daily_hour.is_not(None),
                Enrolment.paused.is_(False),
                Enrolment.completed_at.is_(None),
                Enrolment.stage == "answered",
                Resident.status == ResidentStatus.ACTIVE,
            )
            .order_by(Enrolment.id)
        )
    )


# --- evidence -----------------------------------------------------------------------------------


@dataclass
class ZoneResults:
    """One zona's figures for one course (zona: where residents lived when they enrolled or
    answered)."""

    zone: str
    zone_id: int | None = None
    enrolled: int = 0
    completed: int = 0
    # Per lesson position: (answered, right).
    questions: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def completion(self) -> float | None:
        return self.completed / self.enrolled if self.enrolled else None


def course_results(
    session: Session,
    course_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ZoneResults]:
    """Completion and per-question results of one course, per zona (no zona: "-"), by name.

    With a period [start, end): the residents who enrolled in it and how many of them had
    finished by its end, and the answers given in it; without one, since publication."""
    names = dict(session.execute(select(Zone.id, Zone.name)).tuples().all())
    results: dict[int | None, ZoneResults] = {}

    def row(zone_id: int | None) -> ZoneResults:
        if zone_id not in results:
            results[zone_id] = ZoneResults(names.get(zone_id, "-") if zone_id else "-", zone_id)
        return results[zone_id]

    enrolled_in: list[Any] = []
    answered_in: list[Any] = []
    finished: Any = Enrolment.completed_at.is_not(None)
    if start is not None:
        enrolled_in.append(Enrolment.started_at >= start)
        answered_in.append(LessonAnswer.at >= start)
    if end is not None:
        enrolled_in.append(Enrolment.started_at < end)
        answered_in.append(LessonAnswer.at < end)
        finished = and_(finished, Enrolment.completed_at < end)
    for zone_id, total, done in session.execute(
        select(
            Enrolment.zone_id,
            func.count(),
            func.count().filter(finished),
        )
        .where(Enrolment.course_id == course_id, *enrolled_in)
        .group_by(Enrolment.zone_id)
    ):
        row(zone_id).enrolled, row(zone_id).completed = int(total), int(done)
    for zone_id, position, answered, right in session.execute(
        select(
            LessonAnswer.zone_id,
            Lesson.position,
            func.count(),
            func.count().filter(LessonAnswer.correct.is_(True)),
        )
        .join(Lesson, Lesson.id == LessonAnswer.lesson_id)
        .where(Lesson.course_id == course_id, *answered_in)
        .group_by(LessonAnswer.zone_id, Lesson.position)
    ):
        row(zone_id).questions[int(position)] = (int(answered), int(right))
    return sorted(results.values(), key=lambda r: (r.zone == "-", r.zone))


def seed_starter_courses(session: Session, now: datetime) -> int:
    """Add the shipped starter courses that are not there yet, published; how many were added.
    A course already there (perhaps edited by staff) is left as it is: a new edition comes with
    `mibarrio course import --starter`, whose save keeps enrolments coherent (no lesson lost,
    answered questions keep their right answers; lessons added go on after the last one)."""
    added = 0
    for path in sorted(STARTER_DIR.glob("*.yaml")):
        for data in read_file(path):
            if course_by_slug(session, data.slug) is None:
                course, _ = save_course(session, data)
                publish(course, now)
                added += 1
    return added
