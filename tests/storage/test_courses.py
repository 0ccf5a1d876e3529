"""Course figures per zona: completion and right answers, counted where residents lived then."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import courses as store
from storage.db import transaction
from storage.enums import ResidentStatus
from storage.models import Resident, Zone, utcnow

NOW = utcnow()


def resident(session: Session, phone: str, zone: str) -> Resident:
    zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
    person = Resident(phone=phone, status=ResidentStatus.ACTIVE, zone_id=zone_id, language="es")
    session.add(person)
    session.flush()
    return person


def take(session: Session, person: Resident, slug: str, chosen: list[int]) -> None:
    """Enrol and answer lessons in order with these choices (the course ends if all answered)."""
    course = store.course_by_slug(session, slug)
    assert course is not None
    enrolment = store.enrol(session, person, course, NOW)
    for n, choice in enumerate(chosen):
        lesson = store.lesson_of(enrolment)
        assert lesson is not None
        store.record_answer(session, enrolment, lesson, choice, NOW + timedelta(minutes=n))
        store.advance(enrolment, NOW)


def test_results_per_zona_by_hand(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        store.seed_starter_courses(session, NOW)
        # "Cómo usar Mi Barrio": right answers 1, 2, 3, 2, 1, 3, 2, 3.
        ana = resident(session, "+59170000001", "Sopocachi")
        take(session, ana, "como-usar-mi-barrio", [1, 2, 3, 2, 1, 3, 2, 3])  # all right, finished
        bea = resident(session, "+59170000002", "Sopocachi")
        take(session, bea, "como-usar-mi-barrio", [2, 2])  # wrong, right; on lesson 3
        eva = resident(session, "+59170000003", "Miraflores")
        take(session, eva, "como-usar-mi-barrio", [1])
        # Eva moves to Sopocachi afterwards: her enrolment and answer stay in Miraflores.
        eva.zone_id = ana.zone_id
        take(session, eva, "junta-vecinal-y-poa", [1])  # another course: not counted below
        # A second answer to a question already answered does not count again.
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        enrolment = store.enrolment_of(session, bea.id, course.id)
        assert enrolment is not None
        store.record_answer(session, enrolment, course.lessons[0], 1, NOW)

    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        results = {r.zone: r for r in store.course_results(session, course.id)}
    assert set(results) == {"Miraflores", "Sopocachi"}
    sopocachi, miraflores = results["Sopocachi"], results["Miraflores"]
    assert (sopocachi.enrolled, sopocachi.completed, sopocachi.completion) == (2, 1, 0.5)
    assert sopocachi.questions == {
        1: (2, 1),
        2: (2, 2),
        3: (1, 1),
        4: (1, 1),
        5: (1, 1),
        6: (1, 1),
        7: (1, 1),
        8: (1, 1),
    }
    assert (miraflores.enrolled, miraflores.completed, miraflores.completion) == (1, 0, 0.0)
    assert miraflores.questions == {1: (1, 1)}


def test_results_over_a_period_count_what_happened_in_it(sessions: sessionmaker[Session]) -> None:
    """The Evidencia page's period: enrolled in it, finished by its end, answers given in it."""
    with transaction(sessions) as session:
        store.seed_starter_courses(session, NOW)
        ana = resident(session, "+59170000001", "Sopocachi")
        take(session, ana, "como-usar-mi-barrio", [1, 2, 3, 2, 1, 3, 2, 3])  # answers at 0..7 min
        bea = resident(session, "+59170000002", "Sopocachi")
        take(session, bea, "como-usar-mi-barrio", [2, 2])
    with sessions() as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        first_minutes = store.course_results(session, course.id, NOW, NOW + timedelta(seconds=90))
        later = store.course_results(
            session, course.id, NOW + timedelta(hours=1), NOW + timedelta(hours=2)
        )
    [sopocachi] = first_minutes
    assert (sopocachi.enrolled, sopocachi.completed) == (2, 1)
    assert sopocachi.questions == {1: (2, 1), 2: (2, 2)}  # the later answers fall outside
    assert later == []
