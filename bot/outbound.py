"""The texts we start, not replies: broadcasts in their frame, report updates, follow-ups.

Shared by the worker (sending), the staff commands (cost estimates, status changes) and the
leaders' flows (previews), so a preview is exactly what residents get. Each text is rendered
for the resident (bot.render) and written to the outbox in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import channels
from bot.i18n import LANGUAGES, N_, in_language
from bot.render import Reply, render
from storage.broadcasts import audience_languages
from storage.enums import ReportStatus, ResidentStatus
from storage.models import (
    Broadcast,
    Lesson,
    OutboundMessage,
    Poll,
    PollOption,
    Report,
    Resident,
    aware,
    utcnow,
)
from storage.outbox import queue_message

# --- report updates and follow-ups -------------------------------------------------------------

CATEGORY_LABELS = {
    "agua": N_("Agua"),
    "alumbrado": N_("Alumbrado"),
    "basura": N_("Basura"),
    "calles": N_("Calles y veredas"),
    "seguridad": N_("Seguridad"),
    "salud": N_("Salud"),
    "otro": N_("Otro"),
}
STATUS_LABELS: dict[str, str] = {
    ReportStatus.RECEIVED: N_("recibido"),
    ReportStatus.IN_PROGRESS: N_("en curso"),
    ReportStatus.RESOLVED: N_("resuelto"),
    ReportStatus.REJECTED: N_("rechazado"),
}
STATUS_CHANGED = N_("Novedad en su reporte {code} ({category}): {status}.")
STATUS_NOTE = N_("Nota: {note}")
# Septets of a staff note quoted in the update: the rest of the SMS is the frame.
NOTE_IN_SMS = 70
# What a resident may answer to "was it fixed?" outside any flow.
FOLLOWUP_QUESTION = N_(
    "Su reporte {code} ({category}) figura como resuelto. ¿Se resolvió? 1 Sí / 2 No"
)


def category_label(category: str) -> Reply:
    return Reply(CATEGORY_LABELS.get(category, CATEGORY_LABELS["otro"]))


def status_label(status: str) -> Reply:
    return Reply(STATUS_LABELS.get(status, STATUS_LABELS[ReportStatus.RECEIVED]))


def status_update(report: Report, note: str | None) -> list[Reply]:
    """What the reporter and supporters are told when staff move a report on."""
    message = [
        Reply(
            STATUS_CHANGED,
            {
                "code": report.code,
                "category": category_label(report.category),
                "status": status_label(report.status),
            },
        )
    ]
    if note:
        message.append(Reply(STATUS_NOTE, {"note": channels.quote(note, NOTE_IN_SMS)}))
    return message


def followup_question(report: Report) -> Reply:
    return Reply(
        FOLLOWUP_QUESTION, {"code": report.code, "category": category_label(report.category)}
    )


# --- polls -------------------------------------------------------------------------------------


def question_text(poll: Poll, lang: str) -> str:
    return in_language(lang, poll.question_es, poll.question_ay)


def option_label(option: PollOption, lang: str) -> str:
    return in_language(lang, option.label_es, option.label_ay)


def numbered_options(poll: Poll, lang: str) -> str:
    """ "1 Sí, 2 No": a poll's options as residents answer them."""
    return ", ".join(f"{i} {option_label(o, lang)}" for i, o in enumerate(poll.options, start=1))


# --- course lessons (CURSOS) ---------------------------------------------------------------------

# A lesson and its question are course data; these frames are the same in the flow (the
# answer to a text) and in the daily lesson the worker sends, so both cost what is checked.
LESSON = N_("Lección {n} de {total}: {text}")
LESSON_HINT = N_("1: pregunta")
QUESTION = N_("Pregunta: {question} {answers}")


def lesson_message(lesson: Lesson, lang: str | None, total: int) -> list[Reply]:
    """A lesson as residents get it: its place in the course, the text, how to get the question."""
    text = in_language(lang, lesson.text_es, lesson.text_ay)
    return [
        Reply(LESSON, {"n": lesson.position, "total": total, "text": text}),
        Reply(LESSON_HINT),
    ]


def lesson_answers(lesson: Lesson, lang: str | None) -> list[str]:
    if lang == "ay" and lesson.answers_ay and len(lesson.answers_ay) == len(lesson.answers_es):
        return list(lesson.answers_ay)
    return list(lesson.answers_es)


def question_message(lesson: Lesson, lang: str | None) -> list[Reply]:
    """The lesson's question with its numbered answers: "1 ...; 2 ...; 3 ..."."""
    answers = "; ".join(f"{n} {a}" for n, a in enumerate(lesson_answers(lesson, lang), 1))
    question = in_language(lang, lesson.question_es, lesson.question_ay)
    return [Reply(QUESTION, {"question": question, "answers": answers})]


# --- queueing a message for one resident ---------------------------------------------------

# WhatsApp only accepts a free-form message we start within 24 hours of the resident's last
# WhatsApp message (outside it Twilio fails with 63016 and wants an approved template).
WHATSAPP_WINDOW = timedelta(hours=24)


def channel_for(resident: Resident, now: datetime | None = None) -> str:
    """WhatsApp while its 24-hour window is open, SMS (same phone) otherwise."""
    if (resident.last_channel or "sms") != "whatsapp":
        return "sms"
    last = resident.whatsapp_last_inbound_at
    if last is None:
        return "sms"
    return "whatsapp" if (now or utcnow()) - aware(last) < WHATSAPP_WINDOW else "sms"


def notify(
    session: Session,
    resident: Resident,
    replies: list[Reply],
    *,
    topic: str,
    fold: bool = True,
    now: datetime | None = None,
) -> OutboundMessage | None:
    """Queue a message for a resident who is active and wants this topic; None otherwise.

    Runs in the caller's transaction: the change and its message are committed together.
    """
    if (
        resident.status != ResidentStatus.ACTIVE
        or not resident.phone
        or topic not in (resident.topics or [])
    ):
        return None
    channel = channel_for(resident, now)
    body = render(replies, resident.language, channel, fold=fold)
    return queue_message(session, resident, body, channel=channel)


# --- reminders to council leaders -----------------------------------------------------------

# The worker's sweeper sends it (worker/reminders.py) to a leader whose zona has items not
# checked for INFO_STALE_DAYS, at most once a week.
STALE_INFO = N_(
    "Mi Barrio: {n} datos de la zona {zone} no se revisan hace más de {days} días. "
    "Escriba INFO EDITAR para confirmarlos o corregirlos."
)

# The sweeper sends it (worker/reminders.py) OFFER_WARN_DAYS before a shown offer ends, once
# per period (renewing starts a new one).
OFFER_ENDING = N_(
    "Mi Barrio: su oferta {offer_text} deja de mostrarse el {date}. "
    "Para renovarla 90 días más, escriba OFREZCO y luego 1."
)

# The sweeper sends it (worker/reminders.py) to a zona's leader when youth mappers' items start
# waiting for review, at most once a day.
MAPPING_WAITING = N_(
    "Mi Barrio: {n} registros de los mapeadores de {zone} esperan su revisión. Escriba MAPEO "
    "REVISAR para verlos."
)


# Neighbours' services (OFREZCO, BUSCO): the categories as residents read them.
SERVICE_LABELS = {
    "plumbing": N_("Plomería"),
    "electrical": N_("Electricidad"),
    "construction": N_("Construcción"),
    "sewing": N_("Costura"),
    "tutoring": N_("Clases"),
    "childcare": N_("Cuidado de niños"),
    "transport": N_("Transporte"),
    "food": N_("Comida"),
    "other": N_("Otro"),
}


def service_label(category: str) -> Reply:
    return Reply(SERVICE_LABELS.get(category, SERVICE_LABELS["other"]))


# The sweeper sends it (worker/reminders.py) to a zona's leaders when the third neighbour's
# report hides an offer of their zona: once per hiding, by day.
HIDDEN_FOR_LEADER = N_(
    "Mi Barrio: vecinos reportaron una oferta de {category} de {zone} y ya no se muestra. "
    "Escriba OFERTAS para revisarla."
)


# --- broadcasts --------------------------------------------------------------------------------

ANNOUNCEMENT = N_("Alcaldía de La Paz informa: {text}")
NOTICE = N_("Aviso de su dirigente de {zone}: {text}")
NOTICE_NO_ZONE = N_("Aviso de su dirigente vecinal: {text}")
NEWS = N_("Noticias de su barrio: {text}")
POLL = N_("Encuesta: {question} {options}. Responda con el número.")
# Added only when it fits in the segments the message already costs.
OPT_OUT_HINT = N_("BAJA: no recibir más.")


@dataclass(frozen=True)
class Content:
    """The parts of a broadcast its text depends on (loaded once per job, not per resident)."""

    kind: str
    text_es: str
    text_ay: str | None
    zone: str | None = None  # a leader's zona, for notices
    poll: Poll | None = None

    @classmethod
    def of(cls, broadcast: Broadcast) -> Content:
        zones = broadcast.zones
        return cls(
            kind=broadcast.kind,
            text_es=broadcast.text_es,
            text_ay=broadcast.text_ay,
            zone=zones[0].name if len(zones) == 1 else None,
            poll=broadcast.poll,
        )

    def words(self, language: str) -> str:
        return in_language(language, self.text_es, self.text_ay)


def framed(content: Content, language: str) -> Reply:
    """The broadcast as one reply, its frame in the resident's language."""
    text = content.words(language)
    if content.kind == "poll" and content.poll is not None:
        return Reply(POLL, {"question": text, "options": numbered_options(content.poll, language)})
    if content.kind == "notice":
        if content.zone:
            return Reply(NOTICE, {"zone": content.zone, "text": text})
        return Reply(NOTICE_NO_ZONE, {"text": text})
    if content.kind == "news":
        return Reply(NEWS, {"text": text})
    return Reply(ANNOUNCEMENT, {"text": text})


def render_broadcast(
    content: Content, language: str | None, channel: str, *, fold: bool = True
) -> str:
    """The message one resident receives (same language and channel: same text)."""
    lang = language if language in LANGUAGES else "es"
    body = render([framed(content, lang)], lang, channel, fold=fold)
    with_hint = render([framed(content, lang), Reply(OPT_OUT_HINT)], lang, channel, fold=fold)
    if channel != "sms" or channels.segments(with_hint) <= channels.segments(body):
        return with_hint
    return body


@dataclass(frozen=True)
class Cost:
    recipients: int
    sms: int  # SMS segments if every recipient got an SMS (WhatsApp ones cost less)
    segments_by_language: dict[str, int]
    recipients_by_language: dict[str, int]


def estimate(session: Session, broadcast: Broadcast, *, fold: bool = True) -> Cost:
    """What a broadcast will cost, counted before anything is sent."""
    by_language = audience_languages(session, broadcast)
    content = Content.of(broadcast)
    per_message = {
        lang: channels.segments(render_broadcast(content, lang, "sms", fold=fold))
        for lang in LANGUAGES
    }
    total = sum(n * per_message.get(lang, per_message["es"]) for lang, n in by_language.items())
    return Cost(sum(by_language.values()), total, per_message, by_language)
