"""Report a need (category, description, place, confirm -> a code) and follow one's reports."""

from __future__ import annotations

from bot.channels import quote
from bot.flows.answers import DONT_SEND, SEND, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.menu import on_choose
from bot.i18n import N_
from bot.outbound import CATEGORY_LABELS, category_label, status_label
from bot.render import ListOf, Reply
from bot.text import describes, has_words, parse_option
from storage import reports as store
from storage.conversations import Expectation
from storage.enums import ReportStatus
from storage.models import Report

CATEGORY_PROMPT = N_(
    "¿Qué problema quiere reportar? 1 Agua, 2 Alumbrado, 3 Basura, 4 Calles y veredas, "
    "5 Seguridad, 6 Salud, 7 Otro"
)
SIMILAR = N_(
    "Ya hay un reporte de {category} en su zona ({code}). 1 Yo también lo tengo / "
    "2 Es otro problema"
)
SUPPORTED = N_("Gracias: sumamos su apoyo al reporte {code}. Le avisaremos de cada cambio.")
ALREADY_SUPPORTED = N_("Usted ya sigue el reporte {code}. Le avisaremos de cada cambio.")
DESCRIBE = N_("Cuéntenos el problema en pocas palabras.")
DESCRIBE_AGAIN = N_("Escriba con palabras cuál es el problema, por favor.")
WHERE_SMS = N_("¿Dónde es? Escriba la calle, el número o una referencia. 0 para omitir.")
WHERE_WHATSAPP = N_("¿Dónde es? Escriba la calle o una referencia, o envíe su ubicación. 0 omite.")
# "2 Cancelar" would invite typing CANCELAR, which is an opt-out keyword.
SUMMARY = N_("{category} en {zone}: {description}. Lugar: {place}. 1 Enviar / 2 No enviar")
NO_PLACE = N_("sin dato")
PIN = N_("ubicación enviada")
CONFIRM_AGAIN = N_("Responda 1 para enviar el reporte o 2 para cancelarlo.")
SENT = N_("Reporte {code} recibido. Le avisaremos de cada cambio. Vea sus reportes con 4.")
CANCELLED = N_("Reporte cancelado.")

NONE_YET = N_("Usted no tiene reportes todavía. Para reportar un problema, escriba 1.")
MY_REPORTS = N_("Sus reportes: {items}")
MY_REPORTS_MORE = N_("MAS: los anteriores")
NO_MORE_REPORTS = N_("No hay más reportes suyos.")

CATEGORIES = list(CATEGORY_LABELS)
CATEGORY_WORDS = {
    "agua": {"agua", "uma", "cañeria", "caneria", "alcantarillado"},
    "alumbrado": {"alumbrado", "luz", "luces", "qhana", "foco", "poste"},
    "basura": {"basura", "basurero", "residuos"},
    "calles": {"calle", "calles", "vereda", "veredas", "calles y veredas", "bache", "thakhi"},
    "seguridad": {"seguridad", "jark'ana", "jark'atana", "robo", "inseguridad"},
    "salud": {"salud", "qullana", "posta"},
    "otro": {"otro", "otra", "yaqha"},
}
# The labels of "1 Yo también lo tengo / 2 Es otro problema", as residents type them back.
ME_TOO = frozenset({"yo tambien", "nayans ukhamaraki"})
ANOTHER_PROBLEM = frozenset({"otro", "es otro problema", "yaqha"})
MAX_DESCRIPTION = 500
SUMMARY_DESCRIPTION = 40
SUMMARY_PLACE = 25


def _category(turn: Turn) -> str | None:
    option = parse_option(turn.text, len(CATEGORIES))
    if option:
        return CATEGORIES[option - 1]
    for category, words in CATEGORY_WORDS.items():
        if turn.norm in words:
            return category
    return None


def begin(turn: Turn) -> StepResult:
    return StepResult([Reply(CATEGORY_PROMPT)], "category", {})


def on_category(turn: Turn) -> StepResult:
    category = _category(turn)
    if category is None:
        return stay(turn, Reply(CATEGORY_PROMPT))
    similar = store.similar_open_report(turn.session, turn.resident.zone_id, category, turn.now)
    if similar is not None:
        return StepResult(
            [Reply(SIMILAR, {"category": Reply(CATEGORY_LABELS[category]), "code": similar.code})],
            "similar",
            {"category": category, "similar": similar.id},
        )
    return _ask_description(turn, {"category": category})


def _ask_description(turn: Turn, slots: dict[str, object]) -> StepResult:
    return StepResult([Reply(DESCRIBE)], "description", slots)


def on_similar(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm, yes=ME_TOO, no=ANOTHER_PROBLEM)
    if answer is True:
        report = store.get_report(turn.session, turn.slots.get("similar"))
        if report is None:
            return _ask_description(turn, {"category": turn.slots["category"]})
        added = store.add_supporter(turn.session, report, turn.resident, turn.now)
        text = SUPPORTED if added else ALREADY_SUPPORTED
        return StepResult([Reply(text, {"code": report.code})], None, {})
    if answer is False:
        return _ask_description(turn, {"category": turn.slots["category"]})
    return stay(turn, Reply(SIMILAR, _similar_vars(turn)))


def _similar_vars(turn: Turn) -> dict[str, object]:
    report = store.get_report(turn.session, turn.slots.get("similar"))
    return {
        "category": Reply(CATEGORY_LABELS[turn.slots["category"]]),
        "code": report.code if report else "",
    }


def _where(turn: Turn) -> Reply:
    return Reply(WHERE_WHATSAPP if turn.channel == "whatsapp" else WHERE_SMS)


def on_description(turn: Turn) -> StepResult:
    slots = dict(turn.slots)
    if turn.media:
        slots["media_url"] = turn.media[0]
    if turn.latitude is not None and turn.longitude is not None:
        slots.update(latitude=turn.latitude, longitude=turn.longitude, location=turn.address)
    if not describes(turn.text):
        if turn.media:  # a photo without a caption: keep it, still ask for words
            return StepResult([Reply(DESCRIBE_AGAIN)], "description", slots)
        return StepResult([Reply(DESCRIBE_AGAIN)], "description", slots, miss=True)
    slots["description"] = turn.text[:MAX_DESCRIPTION]
    return StepResult([_where(turn)], "place", slots)


def on_place(turn: Turn) -> StepResult:
    slots = dict(turn.slots)
    if turn.media:
        slots.setdefault("media_url", turn.media[0])
    if turn.latitude is not None and turn.longitude is not None:
        slots.update(latitude=turn.latitude, longitude=turn.longitude)
        slots["location"] = turn.address or turn.text or None
    elif parse_option(turn.text, 0) == 0:
        slots.setdefault("location", None)
    elif has_words(turn.text):
        slots["location"] = turn.text[:MAX_DESCRIPTION]
    elif not turn.media:
        return stay(turn, _where(turn))
    return _summary(turn, slots)


def _short(text: str | None, limit: int) -> str:
    """A resident's words for the summary (see bot.channels.quote)."""
    return quote(text or "", limit)


def _summary(turn: Turn, slots: dict[str, object]) -> StepResult:
    location = slots.get("location")
    if location:
        place: object = _short(str(location), SUMMARY_PLACE)
    elif slots.get("latitude") is not None:
        place = Reply(PIN)
    else:
        place = Reply(NO_PLACE)
    zone = turn.resident.zone.name if turn.resident.zone else ""
    summary = Reply(
        SUMMARY,
        {
            "category": Reply(CATEGORY_LABELS[str(slots["category"])]),
            "zone": zone,
            "description": _short(str(slots.get("description", "")), SUMMARY_DESCRIPTION),
            "place": place,
        },
    )
    return StepResult([summary], "confirm", slots)


def on_confirm(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm, yes=SEND, no=DONT_SEND)
    if answer is True:
        slots = turn.slots
        report = store.create_report(
            turn.session,
            turn.resident,
            category=slots["category"],
            description=slots.get("description"),
            location=slots.get("location"),
            latitude=slots.get("latitude"),
            longitude=slots.get("longitude"),
            media_url=slots.get("media_url"),
            channel=turn.channel,
            created_at=turn.now,
            updated_at=turn.now,
        )
        return StepResult([Reply(SENT, {"code": report.code})], None, {})
    if answer is False:
        return StepResult([Reply(CANCELLED)], None, {}, goto=FlowName.MENU)
    return stay(turn, Reply(CONFIRM_AGAIN))


FLOW = Flow(
    name=FlowName.REPORT,
    begin=begin,
    steps={
        "category": on_category,
        "similar": on_similar,
        "description": on_description,
        "place": on_place,
        "confirm": on_confirm,
    },
)


def report_line(report: Report) -> Reply:
    return Reply(
        N_("{code} {category}: {status}"),
        {
            "code": report.code,
            "category": category_label(report.category),
            "status": status_label(report.status),
        },
    )


MY_REPORTS_PAGE = 4


def _my_reports_page(turn: Turn, offset: int) -> StepResult | None:
    """Up to four of the resident's reports from `offset` on, newest first, in one SMS; MAS
    shows the ones before. None when there are no more."""
    reports = store.reports_of(turn.session, turn.resident, MY_REPORTS_PAGE + 1, offset)
    if not reports:
        return None

    def build(shown: int) -> list[Reply]:
        items = ListOf(map(report_line, reports[:shown]))
        more = [Reply(MY_REPORTS_MORE)] if len(reports) > shown else []
        return [Reply(MY_REPORTS, {"items": items}), *more]

    fits = range(min(len(reports), MY_REPORTS_PAGE), 0, -1)
    shown, replies = fit_one_sms(turn.lang, fits, build)
    # Stay on "more" even after the last page, so a MAS then gets a clear answer.
    return StepResult(replies, "more", {"offset": offset + shown})


def my_reports(turn: Turn) -> StepResult:
    # No reports: NONE_YET says what to type, so the flow ends there.
    return _my_reports_page(turn, 0) or StepResult([Reply(NONE_YET)], None, {})


def on_more_reports(turn: Turn) -> StepResult:
    if is_more(turn.norm):
        return _my_reports_page(turn, int(turn.slots.get("offset", 0))) or StepResult(
            [Reply(NO_MORE_REPORTS)], None, {}, goto=FlowName.MENU
        )
    return on_choose(turn)  # anything else is read as a menu choice


MY_REPORTS_FLOW = Flow(name=FlowName.MY_REPORTS, begin=my_reports, steps={"more": on_more_reports})


FOLLOWUP_THANKS = N_("Gracias por confirmar que el reporte {code} se resolvió.")
FOLLOWUP_REOPENED = N_("Reabrimos el reporte {code}. Le avisaremos de cada cambio.")


def answer_followup(turn: Turn, expect: Expectation) -> StepResult | None:
    """Handle '1'/'2' after a follow-up question; None if the text is not such an answer."""
    yes = yes_or_no(turn.norm)
    if yes is None:
        return None
    report = store.get_report(turn.session, expect.id)
    if report is None or report.status != ReportStatus.RESOLVED:
        return None  # staff moved it on since we asked: the question no longer stands
    if yes:
        store.set_status(
            turn.session, report, ReportStatus.RESOLVED, None, source="resident", now=turn.now
        )
        report.followup_due_at = None
        return StepResult([Reply(FOLLOWUP_THANKS, {"code": report.code})], None, {})
    store.set_status(
        turn.session, report, ReportStatus.RECEIVED, None, source="resident", now=turn.now
    )
    return StepResult([Reply(FOLLOWUP_REOPENED, {"code": report.code})], None, {})
