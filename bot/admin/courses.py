"""Courses (CURSOS): what residents can take, and how far they got, per zona within scope.

Courses are written as files (`mibarrio course import`); here the municipality publishes one
or takes it back to draft, and every role that sees residents reads the figures of its zonas.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from bot import actions
from bot.admin.common import bp, me, reading, scope, staff_page, writing
from storage import courses as store
from storage.enums import StaffRole


@bp.route("/cursos")
@staff_page()
def courses() -> Any:
    current = scope()
    with reading() as db:
        rows = []
        for course in store.all_courses(db):
            results = [r for r in store.course_results(db, course.id) if current.reaches(r.zone_id)]
            rows.append({"course": course, "lessons": len(course.lessons), "results": results})
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
