"""Courses (CURSOS): what residents can take, and how far they got, per zona within scope.

Courses are written as files; the municipality uploads one here (the same all-or-nothing import
as `mibarrio course import`, saved as a draft), downloads one as YAML to edit, publishes one or
takes it back to draft, and every role that sees residents reads the figures of its zonas.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from bot import actions
from bot.admin.common import bp, me, reading, scope, staff_page, writing
from storage import courses as store
from storage.enums import StaffRole


def scoped_results(
    db: Any,
    course_id: int,
    reaches: Callable[[int | None], bool],
    start: datetime | None = None,
    end: datetime | None = None,
    zone_ids: Iterable[int] | None = None,
) -> list[store.ZoneResults]:
    """A course's figures per zona (store.course_results) within the user's scope, and within
    a place (its zonas) when given: what the Cursos and Evidencia pages show."""
    inside = set(zone_ids) if zone_ids is not None else None
    return [
        r
        for r in store.course_results(db, course_id, start, end)
        if reaches(r.zone_id) and (inside is None or r.zone_id in inside)
    ]


def question_totals(
    results: Iterable[store.ZoneResults], lessons: int
) -> list[tuple[int, int, float | None]]:
    """Each question's (answered, right, right share) summed over the zonas, lesson by lesson."""
    rows = list(results)
    totals = []
    for n in range(1, lessons + 1):
        answered = sum(r.questions.get(n, (0, 0))[0] for r in rows)
        right = sum(r.questions.get(n, (0, 0))[1] for r in rows)
        totals.append((answered, right, right / answered if answered else None))
    return totals


@bp.route("/cursos")
@staff_page()
def courses() -> Any:
    current = scope()
    with reading() as db:
        rows = []
        for course in store.all_courses(db):
            results = scoped_results(db, course.id, current.reaches)
            rows.append(
                {
                    "course": course,
                    "lessons": len(course.lessons),
                    "results": results,
                    "aymara": store.aymara_state(course),
                }
            )
        return render_template(
            "admin/courses.html", rows=rows, publishes=current.role == StaffRole.MUNICIPALITY
        )


@bp.route("/cursos/<slug>/estado", methods=["POST"])
@staff_page(writes=True)
def course_status(slug: str) -> Any:
    if scope().role != StaffRole.MUNICIPALITY:
        abort(403)  # courses are the municipality's
    published = request.form.get("status") == "published"
    with writing() as db:
        try:
            course = actions.publish_course(db, slug, published=published, user=me(db), via="web")
        except actions.Refused:
            abort(404)
        title = course.title_es
    flash(f"«{title}»: {'publicado' if published else 'en borrador'}.")
    return redirect(url_for("admin.courses"))


def _municipality_only() -> None:
    if scope().role != StaffRole.MUNICIPALITY:
        abort(403)  # courses are the municipality's


@bp.route("/cursos/importar", methods=["POST"])
@staff_page(writes=True)
def course_import() -> Any:
    _municipality_only()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Elija un archivo YAML o CSV.", "error")
        return redirect(url_for("admin.courses"))
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        flash("El archivo no está en UTF-8: guárdelo como UTF-8.", "error")
        return redirect(url_for("admin.courses"))
    try:
        courses = store.read_named(upload.filename, io.StringIO(text, newline=""))
    except store.READ_ERRORS as exc:
        flash(f"No se pudo leer el archivo como cursos ({exc}). No se guardó nada.", "error")
        return redirect(url_for("admin.courses"))
    with writing() as db:
        try:
            saved = actions.import_courses(db, courses, user=me(db), via="web")
        except actions.Refused as exc:
            db.rollback()
            flash(f"No se importó el archivo: {exc.es}", "error")
            return redirect(url_for("admin.courses"))
        names = ", ".join(f"«{course.title_es}» ({course.status})" for course, _ in saved)
    flash(f"Importado: {names}. Publíquelo cuando esté listo.")
    return redirect(url_for("admin.courses"))


@bp.route("/cursos/<slug>.yaml")
@staff_page()
def course_download(slug: str) -> Any:
    _municipality_only()
    with reading() as db:
        course = store.course_by_slug(db, slug)
        if course is None:
            abort(404)
        text = store.to_yaml([store.data_of(course)])
    return Response(
        text,
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{slug}.yaml"'},
    )
