"""Civic micro-lessons (CURSOS): courses, their lessons, enrolments, deliveries and answers

courses: a course in both languages, draft until published; course_lessons: 3 to 8 lessons of
one SMS, each with a question, its numbered answers, the right one and an explanation;
course_enrolments: a resident on a course (the lesson they are on, paused, daily hour or on
answer, their zona when they enrolled); course_deliveries: one row per lesson shown to an
enrolment, so the daily sender never sends a lesson twice; course_answers: the first answer of
each resident to each question, with their zona then, for the evidence pages.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = "CASCADE") -> sa.Constraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title_es", sa.String(length=80), nullable=False),
        sa.Column("title_ay", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        _at("created_at"),
        _at("published_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("slug", name=op.f("uq_courses_slug")),
    )
    op.create_index(op.f("ix_courses_status"), "courses", ["status"], unique=False)
    op.create_table(
        "course_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_es", sa.Text(), nullable=False),
        sa.Column("text_ay", sa.Text(), nullable=True),
        sa.Column("question_es", sa.Text(), nullable=False),
        sa.Column("question_ay", sa.Text(), nullable=True),
        sa.Column("answers_es", sa.JSON(), nullable=False),
        sa.Column("answers_ay", sa.JSON(), nullable=True),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("explanation_es", sa.Text(), nullable=False),
        sa.Column("explanation_ay", sa.Text(), nullable=True),
        _fk("course_lessons", "course_id", "courses.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_lessons")),
        sa.UniqueConstraint("course_id", "position", name=op.f("uq_course_lessons_course_id")),
    )
    op.create_table(
        "course_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("daily_hour", sa.Integer(), nullable=True),
        _at("started_at"),
        _at("last_lesson_at", nullable=True),
        _at("completed_at", nullable=True),
        _at("updated_at"),
        _fk("course_enrolments", "resident_id", "residents.id"),
        _fk("course_enrolments", "course_id", "courses.id"),
        _fk("course_enrolments", "zone_id", "zones.id", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_enrolments")),
        sa.UniqueConstraint(
            "resident_id", "course_id", name=op.f("uq_course_enrolments_resident_id")
        ),
    )
    op.create_index(
        op.f("ix_course_enrolments_course_id"), "course_enrolments", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_course_enrolments_zone_id"), "course_enrolments", ["zone_id"], unique=False
    )
    op.create_table(
        "course_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("daily", sa.Boolean(), server_default=sa.false(), nullable=False),
        _at("at"),
        _fk("course_deliveries", "enrolment_id", "course_enrolments.id"),
        _fk("course_deliveries", "lesson_id", "course_lessons.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_deliveries")),
        sa.UniqueConstraint(
            "enrolment_id", "lesson_id", name=op.f("uq_course_deliveries_enrolment_id")
        ),
    )
    op.create_table(
        "course_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("chosen", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        _at("at"),
        _fk("course_answers", "resident_id", "residents.id"),
        _fk("course_answers", "lesson_id", "course_lessons.id"),
        _fk("course_answers", "zone_id", "zones.id", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_answers")),
        sa.UniqueConstraint("resident_id", "lesson_id", name=op.f("uq_course_answers_resident_id")),
    )
    op.create_index(op.f("ix_course_answers_lesson_id"), "course_answers", ["lesson_id"])
    op.create_index(op.f("ix_course_answers_zone_id"), "course_answers", ["zone_id"])


def downgrade() -> None:
    op.drop_table("course_answers")
    op.drop_table("course_deliveries")
    op.drop_table("course_enrolments")
    op.drop_table("course_lessons")
    op.drop_index(op.f("ix_courses_status"), table_name="courses")
    op.drop_table("courses")
