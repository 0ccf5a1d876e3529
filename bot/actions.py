"""What staff do, decided once: the CLI, the console and the API call these.

Each runs in the caller's transaction and writes the audit entry with the change, so a change
and its record are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import channels, i18n, outbound, targets
from bot.config import Config
from bot.flows import courses as courses_flow
from bot.flows import info as info_flow
from bot.flows import mapping as mapping_flow
from bot.flows import news as news_flow
from bot.flows import polls as poll_flow
from bot.flows import services as services_flow
from bot.i18n import LANGUAGES, catalogs, review
from bot.render import Reply, render
from storage import audit, leaders
from storage import broadcasts as store
from storage import courses as course_store
from storage import info as info_store
from storage import mapping as mapping_store
from storage import polls as poll_store
from storage import reports as report_store
from storage import services as services_store
from storage.enums import ReportStatus, StaffRole
from storage.models import (
    INFO_CATEGORIES,
    MAP_KINDS,
    Broadcast,
    Course,
    InfoItem,
    MappedItem,
    NewsItem,
    NewsZone,
    Poll,
    Report,
    Resident,
    ServiceOffer,
    StaffUser,
    Zone,
    aware,
    utcnow,
)

REPORT_STATUSES = tuple(status.value for status in ReportStatus)
MIN_OPTIONS, MAX_OPTIONS = 2, 9
MAX_LABEL = 200  # PollOption.label_es and label_ay
UNSENT = ("scheduled", "preparing", "sending")  # a broadcast that may still send something


class Refused(ValueError):
    """The action is not allowed or makes no sense; nothing was written.

    str() is the English the CLI prints; `es`, when given, the Spanish the console shows;
    `problems`, each problem in Spanish on its own (a form shows them one by one).
    """

    def __init__(
        self, message: str, *, es: str | None = None, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.es = es or message
        self.problems = list(problems) or [self.es]


class TooLong(Refused):
    """A text that must fit one SMS does not."""

    def __init__(self, lang: str, characters: int, segments: int) -> None:
        self.lang, self.characters, self.segments = lang, characters, segments
        name = "español" if lang == "es" else "aymara"
        super().__init__(
            f"the {lang} text is too long for one SMS ({characters} characters)",
            es=f"El texto en {name} no cabe en un SMS ({characters} caracteres, "
            f"{segments} SMS): acórtelo.",
        )


def change_report_status(
    session: Session,
    config: Config,
    report: Report,
    status: str,
    note: str | None,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> int:
    """Move a report on and tell its reporter and supporters; how many will be told."""
    status = status.replace("-", "_")
    note = note if note and note.strip() else None
    if status not in REPORT_STATUSES:
        raise Refused(f"unknown status {status!r}")
    if status == ReportStatus.REJECTED and not note:
        raise Refused("a rejected report needs a note saying why")
    before = {"status": report.status, "note": report.status_note}
    report_store.set_status(
        session,
        report,
        status,
        note,
        followup_after=timedelta(days=config.followup_days),
        now=now,
    )
    message = outbound.status_update(report, note)
    told = sum(
        1
        for resident in report_store.followers(session, report)
        if outbound.notify(session, resident, message, topic="reports", fold=config.gsm7_fold)
    )
    audit.record(
        session,
        user,
        via,
        "report.status",
        "report",
        report.code,
        before=before,
        after={"status": status, "note": note, "told": told},
    )
    return told


def send_broadcast(
    session: Session,
    config: Config,
    *,
    target: targets.Target,
    text_es: str,
    text_ay: str | None,
    kind: str = "announcement",
    poll_id: int | None = None,
    urgent: bool = False,
    send_at: datetime | None = None,
    user: StaffUser | None = None,
    via: str = "cli",
) -> Broadcast:
    """Write a broadcast (the worker sends it); refusals raise ValueError, nothing written.

    A council leader in the console keeps the limit they have by SMS (leaders.DAILY_LIMIT).
    """
    if user is not None and user.role == StaffRole.LEADER:
        if leaders.staff_sent_today(session, user.id, utcnow()) >= leaders.DAILY_LIMIT:
            raise Refused(
                f"un dirigente puede enviar {leaders.DAILY_LIMIT} avisos por día; "
                "mañana podrá enviar más"
            )
    broadcast = store.create_broadcast(
        session,
        kind=kind,
        target=target,
        text_es=text_es,
        text_ay=text_ay,
        poll_id=poll_id,
        urgent=urgent,
        send_at=send_at,
        staff_user_id=user.id if user else None,
        quiet_hours=store.QuietHours.parse(config.quiet_hours),
    )
    audit.record(
        session,
        user,
        via,
        "broadcast.create",
        "broadcast",
        broadcast.id,
        after=_broadcast_fields(broadcast),
    )
    return broadcast


def cancel_broadcast(
    session: Session, broadcast: Broadcast, *, user: StaffUser | None = None, via: str = "cli"
) -> int:
    """Stop a broadcast; how many pending messages will not go out."""
    before = {"status": broadcast.status}
    canceled = store.cancel_broadcast(session, broadcast.id)
    audit.record(
        session,
        user,
        via,
        "broadcast.cancel",
        "broadcast",
        broadcast.id,
        before=before,
        after={"status": "canceled", "not_sent": canceled},
    )
    return canceled


# Failures a resend cannot fix: the resident said stop, or the number cannot take SMS.
PERMANENT_FAILURES = frozenset({21610, 21211, 21614, 21635, 30004, 30005, 30006})
RESEND_CHUNK = 100


def resend_failed(
    session: Session, broadcast: Broadcast, *, user: StaffUser | None = None, via: str = "cli"
) -> int:
    """Send again the deliveries Twilio reported failed for a passing reason (phone off, carrier
    error), to residents still signed up; how many. Twilio said these did not arrive, so this
    never doubles a message; unknown ones are left to reconciliation, which asks Twilio first."""
    if broadcast.status == "canceled":
        raise Refused("this broadcast was canceled")
    ids = store.failed_for_resend(session, broadcast.id, PERMANENT_FAILURES)
    if not ids:
        return 0
    store.requeue_deliveries(session, broadcast, ids, chunk=RESEND_CHUNK)
    audit.record(
        session,
        user,
        via,
        "broadcast.resend_failed",
        "broadcast",
        broadcast.id,
        after={"resent": len(ids)},
    )
    return len(ids)


# --- polls -------------------------------------------------------------------------------


def parse_option(text: str) -> tuple[str, str]:
    """'Sí|Jisa' -> ('Sí', 'Jisa'); without an Aymara label the Spanish stands for both."""
    es, _, ay = text.partition("|")
    es, ay = es.strip(), ay.strip()
    if not es:
        raise Refused(f"empty option {text!r}", es=f"Opción sin texto en español: «{text}».")
    return es, ay or es


def create_poll(
    session: Session,
    *,
    target: targets.Target,
    question_es: str,
    question_ay: str,
    options: Sequence[tuple[str, str]],
    closes_at: datetime | None = None,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> Poll:
    """A poll for the target, open until closes_at (or until closed); nobody is told yet."""
    now = now or utcnow()
    question_es, question_ay = question_es.strip(), question_ay.strip()
    if not question_es or not question_ay:
        raise Refused(
            "a poll needs its question in Spanish and in Aymara",
            es="Falta la pregunta en español o en aymara.",
        )
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise Refused(
            f"a poll needs between {MIN_OPTIONS} and {MAX_OPTIONS} options",
            es=f"Una encuesta lleva de {MIN_OPTIONS} a {MAX_OPTIONS} opciones.",
        )
    labels = [(es.strip(), (ay or es).strip()) for es, ay in options]
    for es, ay in labels:
        if not es or max(len(es), len(ay)) > MAX_LABEL:
            raise Refused(
                f"each option needs a label of at most {MAX_LABEL} characters",
                es=f"Cada opción lleva un texto de hasta {MAX_LABEL} caracteres.",
            )
    if closes_at is not None:
        closes_at = aware(closes_at)  # in UTC: SQLite would keep a La Paz time's wall clock
        if closes_at <= now:
            raise Refused("the closing time has passed", es="La hora de cierre ya pasó.")
    if not target.citywide and not target.zone_ids:
        raise Refused("a poll needs a target", es="Elija a quién va la encuesta.")
    poll = poll_store.create_poll(
        session,
        question_es=question_es,
        question_ay=question_ay,
        options=labels,
        target=target,
        closes_at=closes_at,
        now=now,
    )
    audit.record(
        session,
        user,
        via,
        "poll.create",
        "poll",
        poll.id,
        after={
            "target": poll.target,
            "question_es": question_es,
            "question_ay": question_ay,
            "options": [list(label) for label in labels],
            "closes_at": closes_at.isoformat() if closes_at else None,
        },
    )
    return poll


def question_segments(poll: Poll) -> dict[str, int]:
    """SMS per resident for the poll's question as a resident who opens it reads it."""
    return {
        lang: channels.segments(
            render(
                [
                    Reply(
                        poll_flow.QUESTION,
                        {
                            "question": outbound.question_text(poll, lang),
                            "options": outbound.numbered_options(poll, lang),
                        },
                    )
                ],
                lang,
                "sms",
            )
        )
        for lang in LANGUAGES
    }


def poll_target(poll: Poll) -> targets.Target:
    """Whom the poll is for, as it was resolved when it was created."""
    return targets.Target(poll.target, poll.citywide, frozenset(z.id for z in poll.zones))


def invite_to_poll(
    session: Session,
    config: Config,
    poll: Poll,
    *,
    urgent: bool = False,
    user: StaffUser | None = None,
    via: str = "cli",
) -> Broadcast:
    """Send the poll to its residents as a broadcast they answer with an option's number.

    Once per poll: a second invitation would text everyone the same question again.
    """
    if not poll.is_open(utcnow()):
        raise Refused(
            f"poll {poll.id} is closed", es="La encuesta está cerrada: ya no se invita a votar."
        )
    earlier = session.scalar(
        select(Broadcast.id).where(Broadcast.poll_id == poll.id, Broadcast.status != "canceled")
    )
    if earlier is not None:
        raise Refused(
            f"poll {poll.id} was already sent (broadcast {earlier})",
            es=f"Esta encuesta ya se envió (difusión {earlier}).",
        )
    broadcast = send_broadcast(
        session,
        config,
        target=poll_target(poll),
        text_es=poll.question_es,
        text_ay=poll.question_ay,
        kind="poll",
        poll_id=poll.id,
        urgent=urgent,
        user=user,
        via=via,
    )
    audit.record(
        session,
        user,
        via,
        "poll.invite",
        "poll",
        poll.id,
        after={"broadcast": broadcast.id, "recipients": broadcast.recipients, "urgent": urgent},
    )
    return broadcast


def close_poll(
    session: Session,
    poll: Poll,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> int:
    """Close a poll now; its invitations still going out are canceled (how many)."""
    now = now or utcnow()
    if not poll.is_open(now):
        raise Refused(f"poll {poll.id} is already closed", es="La encuesta ya estaba cerrada.")
    before = {"closes_at": aware(poll.closes_at).isoformat() if poll.closes_at else None}
    poll.closes_at = now
    unsent = select(Broadcast).where(Broadcast.poll_id == poll.id, Broadcast.status.in_(UNSENT))
    canceled = 0
    for invitation in session.scalars(unsent):
        cancel_broadcast(session, invitation, user=user, via=via)
        canceled += 1
    audit.record(
        session,
        user,
        via,
        "poll.close",
        "poll",
        poll.id,
        before=before,
        after={"closes_at": now.isoformat(), "invitations_canceled": canceled},
    )
    return canceled


# --- news --------------------------------------------------------------------------------


def publish_news(
    session: Session,
    *,
    target: targets.Target,
    text_es: str,
    text_ay: str,
    user: StaffUser | None = None,
    via: str = "cli",
) -> NewsItem:
    """A news item residents of the target read with 3 in the menu; each text fits one SMS."""
    texts = {"es": text_es.strip(), "ay": text_ay.strip()}
    for lang, text in texts.items():
        if not text:
            name = "español" if lang == "es" else "aymara"
            raise Refused(f"the {lang} text is empty", es=f"Falta el texto en {name}.")
        shown = render(
            [Reply(news_flow.ITEM, {"text": text}), Reply(news_flow.MORE_HINT)], lang, "sms"
        )
        cost = channels.segments(shown)
        if cost > 1:
            raise TooLong(lang, len(text), cost)
    if not target.citywide and not target.zone_ids:
        raise Refused("news needs a target", es="Elija a quién va la noticia.")
    item = NewsItem(
        text_es=texts["es"],
        text_ay=texts["ay"],
        target=target.spec,
        citywide=target.citywide,
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    session.add_all(NewsZone(news_id=item.id, zone_id=z) for z in sorted(target.zone_ids))
    session.flush()
    audit.record(
        session,
        user,
        via,
        "news.publish",
        "news",
        item.id,
        after={"target": item.target, "text_es": item.text_es, "text_ay": item.text_ay},
    )
    return item


# --- courses -------------------------------------------------------------------------------


def publish_course(
    session: Session,
    slug: str,
    *,
    published: bool = True,
    user: StaffUser | None = None,
    via: str = "cli",
) -> Course:
    """Show a course to residents in CURSOS (or take it back to draft), audited."""
    course = course_store.course_by_slug(session, slug)
    if course is None:
        raise Refused(f"no course {slug}", es=f"No hay un curso {slug}.")
    before = course.status
    course_store.publish(course, utcnow(), published=published)
    audit.record(
        session,
        user,
        via,
        "course.publish" if published else "course.draft",
        "course",
        course.id,
        before={"status": before},
        after={"status": course.status},
    )
    return course


def import_courses(
    session: Session,
    courses: Sequence[course_store.CourseData],
    *,
    publish: bool = False,
    user: StaffUser | None = None,
    via: str = "cli",
) -> list[tuple[Course, bool]]:
    """Add or update courses read from a file, all or nothing, audited; [(course, added)].

    Refused, naming every problem, if a course breaks the rules or a text would not fit one
    SMS as residents get it; then nothing is written (the caller rolls back).
    """
    problems = [p for c in courses for p in c.problems()]
    problems += [p for c in courses if not c.problems() for p in courses_flow.too_long(c)]
    if not courses:
        raise Refused("the file has no course", es="El archivo no tiene ningún curso.")
    if problems:
        spanish = [p for c in courses for p in c.problems("es")]
        spanish += [p for c in courses if not c.problems() for p in courses_flow.too_long(c, "es")]
        raise Refused(
            "; ".join(problems) + "; nothing was saved",
            es="; ".join(spanish) + ". No se guardó nada.",
            problems=spanish,
        )
    saved = []
    now = utcnow()
    for data in courses:
        try:
            course, added = course_store.save_course(session, data)
        except course_store.CourseConflict as exc:
            raise Refused(f"{exc}; nothing was saved", es=f"{exc.es} No se guardó nada.") from exc
        if publish:
            course_store.publish(course, now)
        audit.record(
            session,
            user,
            via,
            "course.import",
            "course",
            course.id,
            after={"slug": course.slug, "lessons": len(data.lessons), "status": course.status},
        )
        saved.append((course, added))
    return saved


# --- youth mappers -------------------------------------------------------------------------


def _reviewer(user: StaffUser | None, via: str) -> str:
    return f"staff:{user.email}" if user is not None else via


def add_mapper(
    session: Session,
    resident: Resident,
    zone: Zone,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> bool:
    """Register a signed-up resident of the zona as its mapper (they get the welcome SMS);
    False when they already were one."""
    try:
        new = mapping_flow.register(session, resident, zone, _reviewer(user, via), now or utcnow())
    except mapping_store.NotAllowed as exc:
        raise Refused(
            str(exc), es=f"Ese número no es de un vecino inscrito en la zona {zone.name}."
        ) from exc
    audit.record(
        session,
        user,
        via,
        "mapper.add",
        "resident",
        resident.id,
        after={"zone": zone.name, "new": new},
        actor=None if user else via,
    )
    return new


def remove_mapper(
    session: Session,
    resident: Resident,
    zone: Zone,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> None:
    if not mapping_flow.unregister(session, resident, zone, now or utcnow()):
        raise Refused(
            f"not a mapper of zona {zone.name}", es=f"No es mapeador de la zona {zone.name}."
        )
    audit.record(
        session,
        user,
        via,
        "mapper.remove",
        "resident",
        resident.id,
        before={"zone": zone.name},
        actor=None if user else via,
    )


def _item_fields(item: MappedItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "kind": item.kind,
        "description": item.description,
        "note": item.note,
    }


def review_mapped_item(
    session: Session,
    item: MappedItem,
    decision: str,
    *,
    description: str | None = None,
    note: str | None = None,
    kind: str | None = None,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> InfoItem | Report | None:
    """approve (with an edited description, if given), reject (with a note) or edit a pending
    item, its kind corrected first when `kind` differs (an asset approved becomes zona
    information, a need a report: the corrected kind decides); what an approval made."""
    now = now or utcnow()
    before = _item_fields(item)
    made: InfoItem | Report | None = None
    try:
        if kind and kind != item.kind:
            mapping_store.set_kind(session, item, kind)
        if decision == "approve":
            made = mapping_flow.approve(
                session,
                item,
                reviewer=_reviewer(user, via),
                now=now,
                description=description,
                note=note,
            )
        elif decision == "reject":
            mapping_flow.reject(session, item, reviewer=_reviewer(user, via), note=note, now=now)
        elif decision == "edit":
            mapping_store.edit_item(session, item, description or "")
        else:
            raise Refused(f"unknown decision {decision!r}")
    except mapping_store.NotAllowed as exc:
        reviewed = item.status != "pending"
        es = f"El registro {item.id} ya fue revisado." if reviewed else "Falta la descripción."
        if kind and kind not in MAP_KINDS:
            es = "Ese tipo no existe."
        raise Refused(str(exc), es=es) from exc
    after = _item_fields(item)
    if isinstance(made, Report):
        after["report"] = made.code
    elif made is not None:
        after["info_item"] = made.id
    audit.record(
        session,
        user,
        via,
        f"mapping.{decision}",
        "mapped_item",
        item.id,
        before=before,
        after=after,
        actor=None if user else via,
    )
    return made


# --- the Aymara catalog ------------------------------------------------------------------


class TranslationRefused(Refused):
    """An edit of a catalog text the review refuses (a {placeholder} lost or invented...)."""

    def __init__(self, edit: review.Edit) -> None:
        self.edit = edit
        super().__init__(
            "; ".join(map(str, edit.refused)), es=" ".join(_spanish(r) for r in edit.refused)
        )


def edit_translation(
    session: Session,
    msgid: str,
    ay: str,
    status: str | None = None,
    *,
    expected: str | None = None,
    user: StaffUser | None = None,
    via: str = "cli",
) -> review.Edit:
    """Change one message's Aymara text (and review status) as import-review would, then
    compile the catalogs so every process speaks the new text. `expected`: the Aymara text
    the editor started from; when someone changed it since, nothing is written.

    The audit entry is flushed before the files are written: a database that refuses it
    stops the edit; nothing written to the catalogs is left without its entry.
    """
    with catalogs.editing():
        checked = review.Review()
        now = checked.current(msgid)
        if expected is not None and msgid in checked.wanted and now["ay"] != _lines(expected):
            raise Refused(
                "the Aymara text changed since it was opened",
                es="Otra persona cambió este texto mientras usted lo editaba: revise la "
                "versión actual y vuelva a guardar.",
            )
        edit = checked.apply(msgid, now["es"], ay, status or now["status"])
        if edit.refused:
            raise TranslationRefused(edit)
        if not edit.changed:
            return edit
        audit.record(
            session,
            user,
            via,
            "text.edit",
            "message",
            review.message_key(msgid),
            before={"msgid": msgid, "ay": edit.before["ay"], "status": edit.before["status"]},
            after={"ay": edit.after["ay"], "status": edit.after["status"]},
        )
        session.flush()
        checked.save()
        catalogs.compile_all()
    i18n.forget()
    return edit


def _lines(text: str) -> str:
    """A text as a browser posts it (CRLF line ends) read as the catalog keeps it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _spanish(refusal: review.Refusal) -> str:
    name = {"es": "español", "ay": "aymara"}.get(refusal.lang or "", "")
    if refusal.reason == "placeholders" and refusal.placeholders is not None:
        diff = refusal.placeholders
        if diff.broken is not None:
            return (
                f"El texto en {name} tiene llaves sueltas: escriba cada marcador entero, "
                "como {zone}."
            )
        parts = []
        if diff.missing:
            parts.append("le falta " + ", ".join(f"{{{n}}}" for n in diff.missing))
        if diff.unknown:
            parts.append("sobra " + ", ".join(f"{{{n}}}" for n in diff.unknown))
        return (
            f"El texto en {name} {' y '.join(parts)}: los marcadores entre llaves deben quedar "
            "tal como en el español, porque el sistema los reemplaza por datos."
        )
    if refusal.reason == "empty":
        return f"El texto en {name} no puede quedar vacío."
    if refusal.reason == "status":
        return "Ese estado de revisión no existe."
    if refusal.reason == "unknown":
        return "Ese mensaje ya no existe en el código."
    return str(refusal)


def _broadcast_fields(broadcast: Broadcast) -> dict[str, Any]:
    return {
        "kind": broadcast.kind,
        "target": broadcast.target,
        "text_es": broadcast.text_es,
        "text_ay": broadcast.text_ay,
        "urgent": broadcast.urgent,
        "send_at": broadcast.send_at.isoformat() if broadcast.send_at else None,
        "recipients": broadcast.recipients,
    }


# --- zona information and neighbours' offers ---------------------------------------------


def _info_fields(item: InfoItem) -> dict[str, Any]:
    return {
        "category": item.category,
        "scope": info_store.scope_of(item),
        "text_es": item.text_es,
        "text_ay": item.text_ay,
        "checked_at": aware(item.checked_at).isoformat(),
    }


def _info_fits(text_es: str, text_ay: str | None) -> None:
    """Each text fits one SMS as residents read it, or TooLong names the language."""
    for lang, text in (("es", text_es.strip()), ("ay", (text_ay or "").strip())):
        if text and info_flow.too_long(text):
            raise TooLong(lang, len(text), 2)
    if not text_es.strip():
        raise Refused("the Spanish text is empty", es="Falta el texto en español.")


def add_info(
    session: Session,
    *,
    category: str,
    place: info_store.Scope,
    text_es: str,
    text_ay: str | None,
    user: StaffUser | None = None,
    via: str = "cli",
) -> InfoItem:
    """A new item residents of the place read with INFO, checked now."""
    if category not in INFO_CATEGORIES:
        raise Refused(f"unknown category {category!r}", es="Elija una categoría.")
    _info_fits(text_es, text_ay)
    item = info_store.add_item(session, category, place, text_es, text_ay)
    audit.record(session, user, via, "info.add", "info", item.id, after=_info_fields(item))
    return item


def edit_info(
    session: Session,
    item: InfoItem,
    *,
    text_es: str,
    text_ay: str | None,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> None:
    """New texts for an item, which counts as checked now."""
    _info_fits(text_es, text_ay)
    before = _info_fields(item)
    info_store.edit_item(item, text_es, text_ay, now or utcnow())
    audit.record(
        session, user, via, "info.edit", "info", item.id, before=before, after=_info_fields(item)
    )


def check_info(
    session: Session,
    item: InfoItem,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> None:
    """Someone confirmed the item is still correct: checked now."""
    before = {"checked_at": aware(item.checked_at).isoformat()}
    info_store.mark_checked(item, now or utcnow())
    after = {"checked_at": aware(item.checked_at).isoformat()}
    audit.record(session, user, via, "info.check", "info", item.id, before=before, after=after)


def remove_info(
    session: Session,
    item: InfoItem,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
) -> None:
    """The item no longer reaches residents; the audit keeps what it said."""
    before = _info_fields(item)
    item_id = item.id
    info_store.remove_item(session, item)
    audit.record(session, user, via, "info.remove", "info", item_id, before=before)


def import_info(
    session: Session,
    rows: Sequence[dict[str, str]],
    *,
    keeps: Callable[[int | None, int | None], bool] = lambda zone, macro: True,
    user: StaffUser | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> tuple[int, int]:
    """A CSV (the export's columns) read in: rows with an id update that item, others are
    added; (added, updated). `keeps(zone_id, macrodistrict_id)` says which places the caller
    may change. Refused names the first bad line; the caller rolls back the whole file."""
    for line, row in enumerate(rows, start=2):
        for lang in ("es", "ay"):
            text = (row.get(f"text_{lang}") or "").strip()
            if text and info_flow.too_long(text):
                raise Refused(
                    f"line {line}: text_{lang} is too long for one SMS",
                    es=f"Línea {line}: el texto en {'español' if lang == 'es' else 'aymara'} "
                    "no cabe en un SMS.",
                )
        try:
            place = info_store.resolve_scope(session, row.get("scope") or "")
        except ValueError as exc:
            raise Refused(f"line {line}: {exc}", es=f"Línea {line}: lugar desconocido.") from exc
        item_id = (row.get("id") or "").strip()
        existing = session.get(InfoItem, int(item_id)) if item_id.isdigit() else None
        places = [(place.zone_id, place.macrodistrict_id)]
        if existing is not None:
            places.append((existing.zone_id, existing.macrodistrict_id))
        if not all(keeps(zone, macro) for zone, macro in places):
            raise Refused(
                f"line {line}: outside what you may change",
                es=f"Línea {line}: ese lugar está fuera de su alcance.",
            )
    try:
        added, updated = info_store.import_csv(session, rows, now or utcnow())
    except ValueError as exc:
        raise Refused(str(exc), es=f"No se importó: {exc}.") from exc
    audit.record(
        session, user, via, "info.import", "info", after={"added": added, "updated": updated}
    )
    return added, updated


def decide_offer(
    session: Session,
    offer: ServiceOffer,
    approve: bool,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
    fold: bool = True,
    now: datetime | None = None,
) -> str | None:
    """Staff's decision on an offer, made as a leader's by SMS (OFERTAS) is, by
    bot.flows.services.decide: one waiting is approved or rejected, one hidden by reports shown
    again or removed, one shown as usual removed; its offerer is told and one audit entry names
    what happened. That action, or None when there was nothing to approve (decided already)."""
    by = audit.By(user, via)
    return services_flow.decide(session, offer, approve, now or utcnow(), by, fold=fold)


def set_offers_moderated(
    session: Session,
    zone: Zone,
    moderated: bool,
    *,
    user: StaffUser | None = None,
    via: str = "cli",
) -> None:
    """The zona's choice: new offers wait for approval, or show at once. Turning it off
    approves the offers that were waiting (and tells their offerers, as promised); one that
    neighbours' reports hide waits no more for approval but stays hidden until someone reviews
    it (turning a setting off reviews nothing)."""
    before = {"offers_moderated": zone.offers_moderated}
    zone.offers_moderated = moderated
    released = 0
    if not moderated:
        for offer in services_store.pending_offers(session, zone.id):
            if services_store.is_hidden(session, offer):
                offer.pending = False
                continue
            released += decide_offer(session, offer, True, user=user, via=via) is not None
    audit.record(
        session,
        user,
        via,
        "zone.offers_moderated",
        "zone",
        zone.id,
        before=before,
        after={"offers_moderated": moderated, "released": released},
    )
