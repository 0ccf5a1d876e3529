"""`mibarrio course`: the civic micro-lessons residents take with CURSOS, kept by staff."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot import actions
from bot.commands.common import open_database
from storage import courses as store
from storage.courses import CourseData, LessonData
from storage.db import transaction


def _save(courses: list[CourseData], publish: bool) -> None:
    """Through the same all-or-nothing, audited import the console's upload uses."""
    _, sessions = open_database()
    try:
        with transaction(sessions) as session:
            for course, added in actions.import_courses(session, courses, publish=publish):
                click.echo(
                    f"{course.slug}: {'added' if added else 'updated'}, "
                    f"{len(course.lessons)} lessons, {course.status}"
                )
    except actions.Refused as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("course")
def course() -> None:
    """Civic micro-lessons (CURSOS): courses of 3 to 8 one-SMS lessons with a question each."""


@course.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--starter", is_flag=True, help="Also the two starter courses shipped.")
@click.option("--publish", is_flag=True, help="Publish them (residents see them at once).")
def course_import(files: tuple[Path, ...], starter: bool, publish: bool) -> None:
    """Add or update courses from YAML or CSV files (same slug: updated). All or nothing."""
    paths = list(files) + (sorted(store.STARTER_DIR.glob("*.yaml")) if starter else [])
    if not paths:
        raise click.UsageError("name a YAML or CSV file, or --starter")
    courses: list[CourseData] = []
    for path in paths:
        try:
            courses += store.read_file(path)
        except store.READ_ERRORS as exc:
            raise click.ClickException(f"{path}: {exc}") from exc
    _save(courses, publish)


@course.command("add")
@click.option("--slug", required=True, help="A short name, e.g. agua-segura.")
@click.option("--title-es", required=True)
@click.option("--title-ay", default=None)
@click.option("--lessons", "count", type=click.IntRange(store.MIN_LESSONS, store.MAX_LESSONS))
def course_add(slug: str, title_es: str, title_ay: str | None, count: int | None) -> None:
    """Write a course at the terminal, lesson by lesson (saved as a draft)."""
    count = count or click.prompt(
        "How many lessons",
        type=click.IntRange(store.MIN_LESSONS, store.MAX_LESSONS),
    )
    data = CourseData(slug.strip(), title_es.strip(), (title_ay or "").strip() or None)

    def ask(label: str, required: bool = True) -> str:
        value: str = click.prompt(label, default="" if not required else None, show_default=False)
        return " ".join(value.split())

    for n in range(1, count + 1):
        click.echo(f"Lesson {n}")
        text_es, text_ay = ask("  lesson (es)"), ask("  lesson (ay, empty: none)", False)
        question_es = ask("  question (es)")
        question_ay = ask("  question (ay, empty: none)", False)
        answers_es = ask("  answers (es), separated by |")
        answers_ay = ask("  answers (ay), separated by | (empty: none)", False)
        correct = click.prompt("  number of the right answer", type=int)
        explanation_es = ask("  explanation (es)")
        explanation_ay = ask("  explanation (ay, empty: none)", False)
        data.lessons.append(
            LessonData(
                text_es=text_es,
                text_ay=text_ay or None,
                question_es=question_es,
                question_ay=question_ay or None,
                answers_es=[a.strip() for a in answers_es.split("|") if a.strip()],
                answers_ay=[a.strip() for a in answers_ay.split("|") if a.strip()] or None,
                correct=correct,
                explanation_es=explanation_es,
                explanation_ay=explanation_ay or None,
            )
        )
    _save([data], publish=False)


@course.command("list")
@click.option("--json", "as_json", is_flag=True)
def course_list(as_json: bool) -> None:
    """Every course: its status, lessons, residents enrolled and who finished it."""
    _, sessions = open_database()
    with sessions() as session:
        rows = []
        for c in store.all_courses(session):
            results = store.course_results(session, c.id)
            rows.append(
                {
                    "slug": c.slug,
                    "title": c.title_es,
                    "status": c.status,
                    "lessons": len(c.lessons),
                    "enrolled": sum(r.enrolled for r in results),
                    "completed": sum(r.completed for r in results),
                    "aymara": store.aymara_state(c),
                }
            )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['slug']:<28} {row['status']:<10} {row['lessons']} lessons  "
            f"{row['enrolled']} enrolled  {row['completed']} completed  {row['title']}"
            f"  (aymara: {store.AYMARA_STATES_ES[str(row['aymara'])]})"
        )
    if not rows:
        click.echo("no courses (mibarrio course import --starter adds the two starter courses)")


@course.command("export")
@click.argument("slugs", nargs=-1)
@click.option("--to", "file", type=click.Path(dir_okay=False, path_type=Path), default=None)
def course_export(slugs: tuple[str, ...], file: Path | None) -> None:
    """Write courses (all, or those named) as YAML to edit and import back."""
    _, sessions = open_database()
    with sessions() as session:
        found = [c for c in store.all_courses(session) if not slugs or c.slug in slugs]
        missing = set(slugs) - {c.slug for c in found}
        if missing:
            raise click.ClickException(f"no course {', '.join(sorted(missing))}")
        text = store.to_yaml(store.data_of(c) for c in found)
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        click.echo(f"{len(found)} courses -> {file}", err=True)


@course.command("publish")
@click.argument("slug")
@click.option("--draft", is_flag=True, help="Take it back to draft: residents no longer see it.")
def course_publish(slug: str, draft: bool) -> None:
    """Show the course to residents in CURSOS (or, with --draft, hide it again)."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        try:
            found = actions.publish_course(session, slug, published=not draft, via="cli")
        except actions.Refused as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"{slug}: {found.status}")


@course.command("stats")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
def course_stats(slug: str, as_json: bool) -> None:
    """Completion and each question's right answers, per zona (where residents lived then)."""
    _, sessions = open_database()
    with sessions() as session:
        found = store.course_by_slug(session, slug)
        if found is None:
            raise click.ClickException(f"no course {slug}")
        lessons = len(found.lessons)
        results = store.course_results(session, found.id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "zone": r.zone,
                        "enrolled": r.enrolled,
                        "completed": r.completed,
                        "questions": {
                            str(n): {"answered": a, "right": right}
                            for n, (a, right) in sorted(r.questions.items())
                        },
                    }
                    for r in results
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    header = "".join(f"  Q{n:<6}" for n in range(1, lessons + 1))
    click.echo(f"{'zona':<24} {'enrolled':>8} {'completed':>9}{header}")
    for r in results:
        cells = ""
        for n in range(1, lessons + 1):
            answered, right = r.questions.get(n, (0, 0))
            cells += f"  {f'{right}/{answered}':<7}"
        click.echo(f"{r.zone:<24} {r.enrolled:>8} {r.completed:>9}{cells}")
    if not results:
        click.echo("nobody has taken this course yet")


COMMANDS = (course,)
