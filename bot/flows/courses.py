"""Civic micro-lessons (CURSOS, "6 Mi barrio"): short courses of one-SMS lessons.

A resident picks a published course, gets its first lesson, asks for its question with 1,
answers with a number and gets the explanation; 1 brings the next lesson. Lessons come as the
resident answers, or one a day at an hour they choose (the worker sends those, never in quiet
hours). CURSOS again shows where they are ("lección 3 de 5") to go on, pause, change the
hour or pick another course. PAUSAR pauses at any step of a lesson.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from bot.channels import segments
from bot.flows.answers import is_back, is_more
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.menu import NOT_UNDERSTOOD, WORDS
from bot.i18n import N_, in_language
from bot.outbound import (
    LESSON,
    LESSON_HINT,
    QUESTION,
    lesson_answers,
    lesson_message,
    question_message,
)
from bot.render import ListOf, Reply, render
from bot.text import parse_option
from storage import courses as store
from storage.broadcasts import LA_PAZ, QuietHours
from storage.conversations import Expectation
from storage.courses import CourseData
from storage.models import Course, Enrolment, Lesson, aware

COURSES = N_("Cursos: {courses}. 0: volver.")
COURSES_MORE = N_("Cursos: {courses}. MAS: más cursos. 0: volver.")
COURSE_OPTION = N_("{n} {label}")
NO_COURSES = N_("Todavía no hay cursos. Escriba MENU para volver al menú.")
RIGHT = N_("¡Correcto! {explanation}")
WRONG = N_("La respuesta correcta es la {correct}. {explanation}")
NEXT_HINT = N_("1: seguir")
DAILY_HINT = N_("La siguiente lección: mañana a las {hour}.")
DAILY_HINT_TODAY = N_("La siguiente lección: hoy a las {hour}.")
DAILY_HINT_SOON = N_("La siguiente lección le llegará en unos minutos.")
COMPLETED = N_("Terminó el curso {title}. Acertó {right} de {total}. CURSOS: otros cursos.")
ALREADY_DONE = N_("Ya terminó el curso {title} (acertó {right} de {total}). Elija otro o 0.")
STATUS = N_(
    "{title}: {done} de {total} lecciones hechas, sigue la {n}. 1 Seguir, 2 Pausar, 3 Horario, "
    "4 Otros cursos, 0 Volver"
)
STATUS_PAUSED = N_(
    "{title} (en pausa): {done} de {total} lecciones hechas, sigue la {n}. 1 Seguir, 3 Horario, "
    "4 Otros cursos, 0 Volver"
)
WITHDRAWN = N_(
    "El curso {title} ya no se ofrece. Sus respuestas quedan guardadas. "
    "Escriba CURSOS para ver los otros cursos."
)
PAUSED = N_("Curso en pausa. Escriba CURSOS cuando quiera seguir.")
ASK_HOUR = N_(
    "Escriba una hora de {first} a {last} (ej.: 19 o 7 de la noche) para recibir una lección "
    "por día a esa hora, o 0 para recibirla cuando responda."
)
HOUR_SET = N_("Listo: recibirá una lección por día a las {hour}.")
ON_ANSWER = N_("Listo: recibirá la siguiente lección cuando responda.")
BAD_HOUR = N_("Escriba una hora de {first} a {last} (ej.: 19 o 7 de la noche), o 0.")
BAD_ANSWER = N_("Responda con un número del 1 al {max}. PAUSAR: pausar el curso.")
BAD_LESSON = N_("Escriba 1 para ver la pregunta, o PAUSAR.")
BAD_NEXT = N_("Escriba 1 para seguir, o PAUSAR.")

# Said inside a lesson: pause the course. (Never the Aymara opt-out words.)
PAUSE_WORDS = frozenset({"pausar", "pausa", "pause", "pausar curso", "pausar el curso"})
# CURSOS at any step shows where the resident stands.
COURSE_WORDS = frozenset(WORDS["courses"]) - PAUSE_WORDS


def _title(course: Course, lang: str) -> str:
    return in_language(lang, course.title_es, course.title_ay)


def _hour(hour: int) -> str:
    return f"{hour}:00"


def open_hours(quiet: QuietHours) -> list[int]:
    """The La Paz hours at which a daily lesson may go out (none inside quiet hours)."""
    today = datetime.now(LA_PAZ).date()
    return [
        h for h in range(24) if not quiet.contains(datetime.combine(today, time(h), tzinfo=LA_PAZ))
    ]


# --- what the resident sees -------------------------------------------------------------------


def _list(turn: Turn, *first: Reply, start: int = 0) -> StepResult:
    """The published courses (the oldest first) from `start`, as many as one SMS holds, MAS
    for the next ones. Numbers go on from page to page, so each number names one course."""
    courses = store.published_courses(turn.session)
    if not courses:
        return StepResult([*first, Reply(NO_COURSES)], None, {})
    if start >= len(courses):
        start = 0  # MAS after the last page: the first one again
    rest = courses[start:]

    def listing(fit: tuple[int, bool]) -> list[Reply]:
        count, with_first = fit
        listed = ListOf(
            Reply(COURSE_OPTION, {"n": n, "label": _title(c, turn.lang)})
            for n, c in enumerate(rest[:count], start + 1)
        )
        template = COURSES_MORE if count < len(rest) else COURSES
        return [*(first if with_first else ()), Reply(template, {"courses": listed})]

    # The line before the list only if it fits.
    fits = [(n, with_first) for n in range(len(rest), 0, -1) for with_first in (True, False)]
    (count, _), replies = fit_one_sms(turn.lang, fits, listing)
    slots = {"courses": [c.id for c in courses[: start + count]], "start": start}
    return StepResult(replies, "pick", slots)


def _status(turn: Turn, enrolment: Enrolment) -> StepResult:
    # A lesson is done once its question is answered; the one after it comes next.
    done = enrolment.position if enrolment.stage == "answered" else enrolment.position - 1
    values = {
        "title": _title(enrolment.course, turn.lang),
        "done": done,
        "n": done + 1,
        "total": len(enrolment.course.lessons),
    }
    reply = Reply(STATUS_PAUSED if enrolment.paused else STATUS, values)
    return StepResult([reply], "status", {"enrolment": enrolment.id})


def _slots(enrolment: Enrolment) -> dict[str, int]:
    return {"enrolment": enrolment.id}


def _show_lesson(turn: Turn, enrolment: Enrolment, lesson: Lesson) -> StepResult:
    store.mark_delivered(turn.session, enrolment, lesson, turn.now)
    enrolment.stage = "lesson"
    replies = lesson_message(lesson, turn.lang, len(enrolment.course.lessons))
    return StepResult(replies, "lesson", _slots(enrolment))


def _ask(turn: Turn, enrolment: Enrolment, lesson: Lesson) -> StepResult:
    enrolment.stage = "question"
    enrolment.updated_at = turn.now
    return StepResult(question_message(lesson, turn.lang), "question", _slots(enrolment))


def _completed(turn: Turn, enrolment: Enrolment) -> StepResult:
    course = enrolment.course
    values = {
        "title": _title(course, turn.lang),
        "right": store.right_answers(turn.session, turn.resident.id, course.id),
        "total": len(course.lessons),
    }
    return StepResult([Reply(COMPLETED, values)], None, {})


def _go_on(turn: Turn, enrolment: Enrolment) -> StepResult:
    """Whatever comes next in the course: the lesson again, its question, or the next lesson."""
    enrolment.paused = False
    lesson = store.lesson_of(enrolment)
    if lesson is None or enrolment.completed_at is not None:
        return _completed(turn, enrolment)
    if enrolment.stage == "question":
        return _ask(turn, enrolment, lesson)
    if enrolment.stage == "answered":
        lesson = store.advance(enrolment, turn.now)
        if lesson is None:
            return _completed(turn, enrolment)
    return _show_lesson(turn, enrolment, lesson)


def _pause(turn: Turn, enrolment: Enrolment) -> StepResult:
    enrolment.paused = True
    enrolment.updated_at = turn.now
    return StepResult([Reply(PAUSED)], None, {})


def _enrolment(turn: Turn) -> Enrolment | None:
    """The enrolment this conversation is about (this resident's, still there)."""
    wanted = turn.slots.get("enrolment")
    enrolment = store.current_enrolment(turn.session, turn.resident.id)
    if enrolment is None or (wanted is not None and enrolment.id != int(wanted)):
        return None
    return enrolment


def _withdrawn(turn: Turn) -> StepResult | None:
    """The course the resident was taking was taken back to draft: say so, once (then CURSOS
    lists the others). Its answers stay for the figures."""
    enrolment = store.withdrawn_enrolment(turn.session, turn.resident.id)
    if enrolment is None:
        return None
    enrolment.stage = store.WITHDRAWN
    enrolment.paused = True
    return StepResult([Reply(WITHDRAWN, {"title": _title(enrolment.course, turn.lang)})], None, {})


def _lost(turn: Turn) -> StepResult:
    """CURSOS again, or the course under way went away (finished elsewhere, taken back to
    draft): where the resident stands now."""
    withdrawn = _withdrawn(turn)
    if withdrawn is not None:
        return withdrawn
    enrolment = store.current_enrolment(turn.session, turn.resident.id)
    return _status(turn, enrolment) if enrolment is not None else _list(turn)


# --- steps ----------------------------------------------------------------------------------------


def begin(turn: Turn) -> StepResult:
    withdrawn = _withdrawn(turn)
    if withdrawn is not None:
        return withdrawn
    enrolment = store.current_enrolment(turn.session, turn.resident.id)
    if enrolment is not None:
        pausing = turn.norm in PAUSE_WORDS and enrolment.completed_at is None
        if pausing and not enrolment.paused:
            return _pause(turn, enrolment)
        return _status(turn, enrolment)
    return _list(turn)


def on_pick(turn: Turn) -> StepResult:
    if turn.norm in COURSE_WORDS:
        return begin(turn)
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    ids = [int(i) for i in turn.slots.get("courses") or []]
    if is_more(turn.norm):
        return _list(turn, start=len(ids))
    option = parse_option(turn.text, len(ids))
    course = turn.session.get(Course, ids[option - 1]) if option else None
    if course is None or course.status != "published":
        again = _list(turn, Reply(NOT_UNDERSTOOD), start=int(turn.slots.get("start") or 0))
        return stay(turn, *again.replies)
    enrolment = store.enrol(turn.session, turn.resident, course, turn.now)
    if enrolment.completed_at is not None:
        values = {
            "title": _title(course, turn.lang),
            "right": store.right_answers(turn.session, turn.resident.id, course.id),
            "total": len(course.lessons),
        }
        return stay(turn, Reply(ALREADY_DONE, values))
    return _go_on(turn, enrolment)


def on_status(turn: Turn) -> StepResult:
    enrolment = _enrolment(turn)
    if enrolment is None or turn.norm in COURSE_WORDS:
        return _lost(turn)
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    option = parse_option(turn.text, 4)
    if option == 1:
        return _go_on(turn, enrolment)
    if (option == 2 and not enrolment.paused) or turn.norm in PAUSE_WORDS:
        return _pause(turn, enrolment)
    if option == 3:
        hours = open_hours(turn.quiet_hours)
        values = {"first": _hour(hours[0]), "last": _hour(hours[-1])}
        return StepResult([Reply(ASK_HOUR, values)], "hour", _slots(enrolment))
    if option == 4:
        return _list(turn)
    return stay(turn, Reply(NOT_UNDERSTOOD), *_status(turn, enrolment).replies)


_HOUR = re.compile(
    r"(?:a\s+)?(?:las?\s+)?(?P<hour>\d{1,2}|[a-zñ']+)(?::(?P<minute>[0-5]\d))?"
    r"\s*(?:horas?|hrs?|hs|h)?\.?\s*(?P<part>.*)"
)
# What La Paz residents write after the hour ("7 de la noche" is 19:00, "7" alone 07:00), with
# no spaces or dots: "p. m." is "pm".
MORNING = frozenset({"am", "delamanana", "manana", "alwa", "alwat"})
NIGHT = frozenset({"delanoche", "noche", "aruma", "arumax", "arumaxa"})
AFTERNOON = NIGHT | {"pm", "delatarde", "tarde", "jayp'u", "jayp'ux", "jayp'una"}


def _parse_hour(turn: Turn) -> int | None:
    """19, 19h, 19:00, "a las 19", "19 horas", a number word (paya, dos...), and the hours of
    the day as they are said: "7 de la noche", "7pm", "7 de la tarde", "9 de la mañana",
    "7 jayp'u" (19). Minutes are dropped: lessons go out on the hour."""
    option = parse_option(turn.text, 23)
    if option is not None:
        return option
    found = _HOUR.fullmatch(turn.norm)
    if found is None:
        return None
    token = found.group("hour")
    hour = int(token) if token.isdigit() else parse_option(token, 23)
    part = re.sub(r"[\s.]", "", found.group("part"))
    if hour is None or hour > 23:
        return None
    if not part:
        return hour
    if part in MORNING:
        return (0 if hour == 12 else hour) if hour <= 12 else None
    if part in AFTERNOON:
        if hour == 12:
            return 0 if part in NIGHT else 12
        return hour + 12 if hour < 12 else hour
    return None


def on_hour(turn: Turn) -> StepResult:
    enrolment = _enrolment(turn)
    if enrolment is None or turn.norm in COURSE_WORDS:
        return _lost(turn)
    hours = open_hours(turn.quiet_hours)
    hour = _parse_hour(turn)
    if hour == 0:
        enrolment.daily_hour = None
        return StepResult([Reply(ON_ANSWER)], None, {})
    if hour is None or hour not in hours:
        values = {"first": _hour(hours[0]), "last": _hour(hours[-1])}
        return stay(turn, Reply(BAD_HOUR, values))
    enrolment.daily_hour = hour
    enrolment.paused = False
    enrolment.updated_at = turn.now
    return StepResult([Reply(HOUR_SET, {"hour": _hour(hour)})], None, {})


def on_lesson(turn: Turn) -> StepResult:
    enrolment = _enrolment(turn)
    if enrolment is None or turn.norm in COURSE_WORDS:
        return _lost(turn)
    if turn.norm in PAUSE_WORDS:
        return _pause(turn, enrolment)
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    lesson = store.lesson_of(enrolment)
    if lesson is None:
        return _go_on(turn, enrolment)
    if parse_option(turn.text, 1) == 1:
        return _ask(turn, enrolment, lesson)
    return stay(turn, Reply(BAD_LESSON))


def _daily_hint(turn: Turn, enrolment: Enrolment, hour: int) -> Reply:
    """When the worker will send the next lesson: later today, tomorrow, or at its next run."""
    due = store.next_daily_lesson(enrolment.last_lesson_at, hour, turn.now)
    local = aware(turn.now).astimezone(LA_PAZ)
    if due.date() > local.date():
        return Reply(DAILY_HINT, {"hour": _hour(hour)})
    if due > local:
        return Reply(DAILY_HINT_TODAY, {"hour": _hour(hour)})
    if turn.quiet_hours.contains(turn.now):  # past the hour, in the evening's quiet hours
        return Reply(DAILY_HINT, {"hour": _hour(hour)})
    return Reply(DAILY_HINT_SOON)


def on_question(turn: Turn) -> StepResult:
    enrolment = _enrolment(turn)
    if enrolment is None or turn.norm in COURSE_WORDS:
        return _lost(turn)
    if turn.norm in PAUSE_WORDS:
        return _pause(turn, enrolment)
    lesson = store.lesson_of(enrolment)
    if lesson is None or enrolment.stage != "question":
        return _go_on(turn, enrolment)
    count = len(lesson_answers(lesson, turn.lang))
    chosen = parse_option(turn.text, count)
    if chosen == 0:
        return StepResult([], None, {}, goto=FlowName.MENU)
    if chosen is None:
        return stay(turn, Reply(BAD_ANSWER, {"max": count}))
    right = store.record_answer(turn.session, enrolment, lesson, chosen, turn.now)
    explanation = in_language(turn.lang, lesson.explanation_es, lesson.explanation_ay)
    said = (
        Reply(RIGHT, {"explanation": explanation})
        if right
        else Reply(WRONG, {"correct": lesson.correct, "explanation": explanation})
    )
    last = lesson.position >= len(enrolment.course.lessons)
    if enrolment.daily_hour is not None and not last:
        hint = _daily_hint(turn, enrolment, enrolment.daily_hour)
        # The hour is a reminder: a long explanation goes out without it.
        _, replies = fit_one_sms(turn.lang, [[said, hint], [said]], lambda replies: replies)
        return StepResult(replies, None, {})
    return StepResult([said, Reply(NEXT_HINT)], "next", _slots(enrolment))


def on_next(turn: Turn) -> StepResult:
    enrolment = _enrolment(turn)
    if enrolment is None or turn.norm in COURSE_WORDS:
        return _lost(turn)
    if turn.norm in PAUSE_WORDS:
        return _pause(turn, enrolment)
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    if parse_option(turn.text, 1) == 1:
        return _go_on(turn, enrolment)
    return stay(turn, Reply(BAD_NEXT))


STEPS = {
    "pick": on_pick,
    "status": on_status,
    "hour": on_hour,
    "lesson": on_lesson,
    "question": on_question,
    "next": on_next,
}


# --- a daily lesson's "1" -----------------------------------------------------------------------


def begin_question(turn: Turn) -> StepResult:
    """The answer to a daily lesson (sent by the worker): its question, or where things stand."""
    enrolment = store.current_enrolment(turn.session, turn.resident.id)
    if enrolment is None:
        return _lost(turn)
    lesson = store.lesson_of(enrolment)
    if lesson is not None and enrolment.stage == "lesson" and not enrolment.paused:
        return _ask(turn, enrolment, lesson)
    return _status(turn, enrolment)


def answer_daily_lesson(turn: Turn, expect: Expectation) -> StepResult | None:
    """A bare "1" after a daily lesson asks for its question; PAUSAR pauses the course.
    Anything else is read as usual."""
    enrolment = store.current_enrolment(turn.session, turn.resident.id)
    if enrolment is None or enrolment.id != expect.id:
        # The course of that lesson was taken back to draft since: say so, once.
        withdrawn = store.withdrawn_enrolment(turn.session, turn.resident.id)
        answering = turn.norm in PAUSE_WORDS or parse_option(turn.text, 1) == 1
        if withdrawn is not None and withdrawn.id == expect.id and answering:
            return _withdrawn(turn)
        return None
    if turn.norm in PAUSE_WORDS:
        return _pause(turn, enrolment)
    if parse_option(turn.text, 1) == 1:
        return StepResult([], None, {}, goto=FlowName.COURSE_QUESTION)
    return None


FLOW = Flow(name=FlowName.COURSES, begin=begin, steps=STEPS)
QUESTION_FLOW = Flow(name=FlowName.COURSE_QUESTION, begin=begin_question, steps=STEPS)


# --- course data that fits ----------------------------------------------------------------------


PART_ES = {"text": "texto", "question": "pregunta", "explanation": "explicación"}


def too_long(course: CourseData, lang_of_message: str = "en") -> list[str]:
    """Each text of the course that would not fit one SMS as residents get it, in either
    language (the Spanish stands in where there is no Aymara), with the longest frame."""
    found = []
    total = len(course.lessons)
    for n, lesson in enumerate(course.lessons, 1):
        for lang in ("es", "ay"):
            texts = {
                "text": in_language(lang, lesson.text_es, lesson.text_ay),
                "question": in_language(lang, lesson.question_es, lesson.question_ay),
                "explanation": in_language(lang, lesson.explanation_es, lesson.explanation_ay),
            }
            answers = lesson.answers_ay if lang == "ay" and lesson.answers_ay else lesson.answers_es
            listed = "; ".join(f"{i} {a}" for i, a in enumerate(answers, 1))
            shown = {
                "text": [
                    Reply(LESSON, {"n": n, "total": total, "text": texts["text"]}),
                    Reply(LESSON_HINT),
                ],
                "question": [Reply(QUESTION, {"question": texts["question"], "answers": listed})],
                "explanation": [
                    Reply(WRONG, {"correct": len(answers), "explanation": texts["explanation"]}),
                    Reply(NEXT_HINT),
                ],
            }
            for part, replies in shown.items():
                rendered = render(replies, lang, "sms")
                if segments(rendered) > 1:
                    found.append(
                        f"{course.slug} lección {n}, {PART_ES[part]} ({lang}): "
                        f"{len(rendered)} caracteres al enviarse, más de un SMS"
                        if lang_of_message == "es"
                        else f"{course.slug} lesson {n} {part} ({lang}): {len(rendered)} "
                        "characters as sent, more than one SMS"
                    )
    return found
