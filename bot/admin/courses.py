"""Courses (CURSOS): what residents can take, and how far they got, per zona within scope.

Courses are written as files or in the course form; the municipality uploads a file here (the
same all-or-nothing import as `mibarrio course import`, saved as a draft), writes or edits a
course in the form (which builds the course's YAML shape and goes through that same import),
downloads one as YAML, publishes one or takes it back to draft, and every role that sees
residents reads the figures of its zonas.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from bot import actions
from bot.admin.common import bp, me, reading, scope, staff_page, writing
from bot.i18n.console import gettext as _
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
    flash(
        (_("«{title}»: publicado.") if published else _("«{title}»: en borrador.")).format(
            title=title
        )
    )
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
        flash(_("Elija un archivo YAML o CSV."), "error")
        return redirect(url_for("admin.courses"))
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(_("El archivo no está en UTF-8: guárdelo como UTF-8."), "error")
        return redirect(url_for("admin.courses"))
    try:
        courses = store.read_named(upload.filename, io.StringIO(text, newline=""))
    except store.READ_ERRORS as exc:
        flash(
            _("No se pudo leer el archivo como cursos ({reason}). No se guardó nada.").format(
                reason=exc
            ),
            "error",
        )
        return redirect(url_for("admin.courses"))
    with writing() as db:
        try:
            saved = actions.import_courses(db, courses, user=me(db), via="web")
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se importó el archivo: {reason}").format(reason=exc.es), "error")
            return redirect(url_for("admin.courses"))
        names = ", ".join(
            "«{title}» ({status})".format(
                title=course.title_es,
                status=_("publicado") if course.status == "published" else _("en borrador"),
            )
            for course, _added in saved
        )
    flash(_("Importado: {names}. Publíquelo cuando esté listo.").format(names=names))
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


# --- the course form: a course written or edited in the browser ---------------------------------

# Answer boxes per lesson in the form (a course imported with more keeps them all).
ANSWER_SLOTS = 4
LANGS = ("es", "ay")
# Which lesson a problem of the import is about ("agua lección 2: ..." / "lección 2, texto").
LESSON_OF = re.compile(r"lección (\d+)[,:]")


def _blank_lesson(slots: int = ANSWER_SLOTS) -> dict[str, Any]:
    return {
        "text": {"es": "", "ay": ""},
        "question": {"es": "", "ay": ""},
        "answers": {"es": [""] * slots, "ay": [""] * slots},
        "correct": 1,
        "explanation": {"es": "", "ay": ""},
    }


def _for_form(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A course in its YAML shape (store.as_dict) with every box the form shows: both
    languages, and at least ANSWER_SLOTS answers per lesson (the empty ones blank)."""

    def both(node: Any) -> dict[str, Any]:
        node = node if isinstance(node, Mapping) else {"es": node}
        return {lang: node.get(lang) or "" for lang in LANGS}

    lessons = []
    for item in raw.get("lessons") or []:
        answers = both(item.get("answers"))
        slots = max(ANSWER_SLOTS, *(len(answers[lang] or []) for lang in LANGS))
        lessons.append(
            {
                "text": both(item.get("text")),
                "question": both(item.get("question")),
                "answers": {
                    lang: [*(answers[lang] or []), *[""] * slots][:slots] for lang in LANGS
                },
                "correct": item.get("correct") or 1,
                "explanation": both(item.get("explanation")),
            }
        )
    return {
        "slug": raw.get("slug") or "",
        "title": both(raw.get("title")),
        "ay_reviewed": bool(raw.get("ay_reviewed")),
        "lessons": lessons,
    }


def _posted(form: Mapping[str, str], slug: str | None) -> dict[str, Any]:
    """The course as the form sent it, in the import's YAML shape, each text as typed."""
    try:
        count = int(form.get("lecciones") or store.MIN_LESSONS)
    except ValueError:
        count = store.MIN_LESSONS
    lessons = []
    for i in range(max(0, min(count, store.MAX_LESSONS))):
        p = f"l{i}-"
        slots = ANSWER_SLOTS
        while slots < store.MAX_ANSWERS and f"{p}answer-es-{slots}" in form:
            slots += 1
        lessons.append(
            {
                part: {lang: form.get(f"{p}{part}-{lang}", "") for lang in LANGS}
                for part in store.TEXTS
            }
            | {
                "answers": {
                    lang: [form.get(f"{p}answer-{lang}-{k}", "") for k in range(slots)]
                    for lang in LANGS
                },
                "correct": form.get(f"{p}correct", ""),
            }
        )
    return {
        "slug": slug if slug is not None else form.get("slug", "").strip(),
        "title": {lang: form.get(f"title-{lang}", "") for lang in LANGS},
        "ay_reviewed": form.get("ay_reviewed") == "1",
        "lessons": lessons,
    }


def _gaps(raw: Mapping[str, Any]) -> list[str]:
    """Answers with an empty box before a filled one: their numbers would shift (the right
    answer with them), so the form asks for them one after the other."""
    found = []
    for n, lesson in enumerate(raw["lessons"], 1):
        for lang in LANGS:
            filled = [bool(a.strip()) for a in lesson["answers"][lang]]
            if any(not f and any(filled[k + 1 :]) for k, f in enumerate(filled)):
                found.append(
                    _(
                        "{slug} lección {n}: escriba las respuestas en {lang} seguidas, "
                        "desde la 1, sin dejar una vacía en medio"
                    ).format(
                        slug=raw["slug"], n=n, lang=_("español") if lang == "es" else _("aymara")
                    )
                )
    return found


def _course_page(
    raw: Mapping[str, Any],
    slug: str | None,
    problems: list[str] | None = None,
    notice: str | None = None,
) -> Any:
    status = None
    if slug is not None:
        with reading() as db:
            course = store.course_by_slug(db, slug)
            if course is None:
                abort(404)
            status = course.status
    problems = problems or []
    by_lesson: dict[int, list[str]] = {}
    for problem in problems:
        found = LESSON_OF.search(problem)
        if found:
            by_lesson.setdefault(int(found.group(1)), []).append(problem)
    return render_template(
        "admin/course_form.html",
        course=_for_form(raw),
        new=slug is None,
        status=status,
        problems=problems,
        by_lesson=by_lesson,
        notice=notice,
        min_lessons=store.MIN_LESSONS,
        max_lessons=store.MAX_LESSONS,
    )


def _save(raw: Mapping[str, Any], slug: str | None) -> Any:
    """Through the import (the same rules, the one-SMS check, the audit), or the page again
    with every problem named and everything as typed."""
    problems = _gaps(raw)
    if problems:
        return _course_page(raw, slug, problems)
    try:
        data = store.course_of(raw)
    except store.READ_ERRORS:
        return _course_page(raw, slug, [_("Elija el número de la respuesta correcta.")])
    title, published = data.title_es, False
    with writing() as db:
        there = store.course_by_slug(db, data.slug) if data.slug else None
        if slug is not None and there is None:
            abort(404)
        if slug is None and there is not None:
            problems = [
                _(
                    "Ya hay un curso «{slug}»: elija otro nombre corto, o edite ese curso "
                    "desde la página Cursos."
                ).format(slug=data.slug)
            ]
        else:
            try:
                ((course, _added),) = actions.import_courses(db, [data], user=me(db), via="web")
            except actions.Refused as exc:
                db.rollback()
                problems = exc.problems
            else:
                title = course.title_es
                published = course.status == "published"
    if problems:
        return _course_page(raw, slug, problems)
    flash(
        (
            _("«{title}» guardado; sigue publicado.")
            if published
            else _("«{title}» guardado, en borrador: publíquelo cuando esté listo.")
        ).format(title=title)
    )
    return redirect(url_for("admin.courses"))


def _course_form(slug: str | None) -> Any:
    _municipality_only()
    if request.method == "GET":
        if slug is None:
            raw: dict[str, Any] = {"lessons": [_blank_lesson() for _n in range(store.MIN_LESSONS)]}
        else:
            with reading() as db:
                course = store.course_by_slug(db, slug)
                if course is None:
                    abort(404)
                raw = store.as_dict(store.data_of(course))
        return _course_page(raw, slug)
    raw = _posted(request.form, slug)
    lessons = raw["lessons"]
    action = request.form.get("accion")
    if action == "agregar":
        if len(lessons) >= store.MAX_LESSONS:
            return _course_page(
                raw,
                slug,
                [_("Un curso tiene como mucho {n} lecciones.").format(n=store.MAX_LESSONS)],
            )
        lessons.append(_blank_lesson())
        notice = _("Lección {n} agregada al final. Todavía no se guardó nada.").format(
            n=len(lessons)
        )
        return _course_page(raw, slug, notice=notice)
    if action == "quitar":
        try:
            n = int(request.form.get("quitar") or 0)
        except ValueError:
            n = 0
        if len(lessons) <= store.MIN_LESSONS:
            return _course_page(
                raw, slug, [_("Un curso tiene al menos {n} lecciones.").format(n=store.MIN_LESSONS)]
            )
        if not 1 <= n <= len(lessons):
            return _course_page(raw, slug, [_("Elija la lección que quiere quitar.")])
        del lessons[n - 1]
        notice = _(
            "Lección {n} quitada; las siguientes suben un número. Todavía no se guardó nada."
        ).format(n=n)
        return _course_page(raw, slug, notice=notice)
    return _save(raw, slug)


@bp.route("/cursos/nuevo", methods=["GET", "POST"])
@staff_page(writes=True)
def course_new() -> Any:
    return _course_form(None)


@bp.route("/cursos/<slug>/editar", methods=["GET", "POST"])
@staff_page(writes=True)
def course_edit(slug: str) -> Any:
    return _course_form(slug)
