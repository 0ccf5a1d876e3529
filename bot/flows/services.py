"""Neighbours' services: OFREZCO publishes (or manages) a resident's offer, BUSCO finds offers.

An offer is a category, a short text and the resident's phone, shared only after an explicit
yes. Searches show up to three offers in one SMS: the resident's zona first, then the other
zonas of the same macrodistrito. An offer is shown for 90 days; OFREZCO renews, pauses, resumes,
deletes or replaces it. R1..R3 after a search reports an offer; three neighbours hide it.
"""

from __future__ import annotations

from datetime import datetime

from bot.flows.answers import is_back, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.menu import NOT_UNDERSTOOD, on_choose
from bot.i18n import N_
from bot.outbound import SERVICE_LABELS as LABELS
from bot.outbound import channel_for, service_label
from bot.render import ListOf, Reply, render
from bot.text import describes, parse_option
from storage import audit, services
from storage.broadcasts import LA_PAZ
from storage.db import Session
from storage.enums import ResidentStatus
from storage.models import SERVICE_CATEGORIES, Resident, ServiceOffer, aware
from storage.outbox import queue_message

# Short enough for three offers, their phones and zonas in one SMS.
MAX_TEXT = 30
# Offers in one search SMS; MAS shows the next ones.
SHOWN = 3

ASK_OFFER_CATEGORY = N_("¿Qué servicio ofrece? {categories}. 0: volver.")
ASK_SEARCH_CATEGORY = N_("¿Qué servicio busca? {categories}. 0: volver.")
ASK_TEXT = N_("Describa su servicio en hasta {max} letras, por ejemplo: Arreglo grifos y cañerías.")
TEXT_TOO_LONG = N_("Es muy largo: use hasta {max} letras.")
ASK_CONSENT = N_(
    "Los vecinos que busquen {category} verán su texto y su número {phone}. "
    "¿Acepta compartirlo? 1 Sí / 2 No"
)
PUBLISHED = N_(
    "Listo: su oferta de {category} se muestra hasta el {date}. "
    "Escriba OFREZCO para renovarla, pausarla o eliminarla."
)
PUBLISHED_PENDING = N_(
    "Recibimos su oferta de {category}. Su junta vecinal la revisa antes de mostrarla: "
    "le avisaremos."
)
NOT_PUBLISHED = N_("No publicamos nada ni compartimos su número.")
NO_ZONE = N_("Primero elija su zona en 5 Perfil.")
MANAGE = N_(
    "Su oferta de {category}: {offer_text}. Se muestra hasta el {date}. "
    "1 Renovar, 2 Pausar, 3 Eliminar, 4 Cambiar, 0 Volver"
)
MANAGE_PAUSED = N_(
    "Su oferta de {category} está pausada: {offer_text}. "
    "1 Renovar, 2 Reanudar, 3 Eliminar, 4 Cambiar, 0 Volver"
)
MANAGE_EXPIRED = N_(
    "Su oferta de {category} venció el {date}: {offer_text}. "
    "1 Renovar, 3 Eliminar, 4 Cambiar, 0 Volver"
)
MANAGE_HIDDEN = N_(
    "Su oferta de {category} no se muestra: la reportaron {n} vecinos. "
    "3 Eliminar, 4 Cambiar, 0 Volver"
)
MANAGE_PENDING = N_(
    "Su oferta de {category} espera la aprobación de su junta: {offer_text}. "
    "3 Eliminar, 4 Cambiar, 0 Volver"
)
# Sent when a leader or staff decides on a pending offer (bot.actions.decide_offer).
OFFER_APPROVED = N_("Su oferta de {category} fue aprobada: los vecinos la ven hasta el {date}.")
OFFER_REJECTED = N_(
    "Su junta vecinal no aprobó su oferta de {category} y la quitamos. "
    "Si quiere, publique una nueva con OFREZCO."
)
# Sent when a leader or staff reviews an offer hidden by neighbours' reports.
OFFER_RESTORED = N_(
    "Revisamos su oferta de {category} que reportaron vecinos: vuelve a mostrarse hasta el {date}."
)
OFFER_REMOVED = N_(
    "Revisamos su oferta de {category} que reportaron vecinos y la quitamos. "
    "Si quiere, publique una nueva con OFREZCO."
)
# The offerer's SMS for each decision (by its audit action, storage.services.review_offer).
TOLD = {
    "offer.approve": OFFER_APPROVED,
    "offer.reject": OFFER_REJECTED,
    "offer.restore": OFFER_RESTORED,
    "offer.remove": OFFER_REMOVED,
}
# The offerer of a hidden offer, when they change it or try to renew or resume it.
CHANGED_HIDDEN = N_(
    "Guardamos el cambio, pero su oferta de {category} sigue oculta por los reportes hasta que "
    "su junta vecinal la revise: le avisaremos."
)
STILL_HIDDEN = N_(
    "Su oferta sigue oculta por los reportes hasta que su junta vecinal la revise: "
    "le avisaremos. 3 Eliminar, 4 Cambiar, 0 Volver"
)
RENEWED = N_("Renovada: su oferta se muestra hasta el {date}.")
PAUSED = N_("Pausada: no se muestra a nadie. Escriba OFREZCO para reanudarla.")
DELETED = N_("Eliminamos su oferta.")
FOUND = N_("{category}: {offers}. Para reportar una: R y su número (R1).")
FOUND_MORE = N_("{category}: {offers}. Reportar: R y su número (R1). MAS: ver más.")
NO_MORE = N_("No hay más ofertas de {category}. 0: volver.")
OFFER_LINE = N_("{n} {offer_text} {phone} ({zone})")
OFFER_LINE_SHORT = N_("{n} {offer_text} {phone}")
NONE_FOUND = N_("Todavía no hay ofertas de {category} en su zona ni cerca.")
REPORTED = N_("Gracias: revisaremos esa oferta.")
ALREADY_REPORTED = N_("Ya nos había reportado esa oferta.")

OPTION = N_("{n} {label}")


def _date(turn: Turn | None, moment: object) -> str:
    return aware(moment).astimezone(LA_PAZ).strftime("%d/%m/%Y")  # type: ignore[arg-type]


def phone_shown(phone: str | None) -> str:
    """A Bolivian number as neighbours dial it (71234567); others as stored."""
    return phone[4:] if phone and phone.startswith("+591") else phone or ""


def _categories(prompt: str) -> Reply:
    listed = ListOf(
        Reply(OPTION, {"n": n, "label": Reply(LABELS[c])})
        for n, c in enumerate(SERVICE_CATEGORIES, 1)
    )
    return Reply(prompt, {"categories": listed})


def _again(turn: Turn, *prompt: Reply) -> StepResult:
    """Re-prompt after a text we did not understand, saying so when it fits the same SMS."""
    _, replies = fit_one_sms(
        turn.lang, [[Reply(NOT_UNDERSTOOD), *prompt], list(prompt)], lambda replies: replies
    )
    return stay(turn, *replies)


def _picked(turn: Turn) -> str | None:
    option = parse_option(turn.text, len(SERVICE_CATEGORIES))
    return SERVICE_CATEGORIES[option - 1] if option else None


# --- OFREZCO ---------------------------------------------------------------------------------


def _manage(turn: Turn, offer: ServiceOffer) -> StepResult:
    label = Reply(LABELS[offer.category])
    reports = services.report_count(turn.session, offer.id)
    base = {"category": label, "offer_text": offer.text, "date": _date(turn, offer.expires_at)}
    if reports >= services.REPORTS_TO_HIDE:
        reply = Reply(MANAGE_HIDDEN, {"category": label, "n": reports})
    elif offer.pending:
        reply = Reply(MANAGE_PENDING, base)
    elif aware(offer.expires_at) <= turn.now:
        # Paused or not, an offer that ended is renewed (which also resumes it).
        reply = Reply(MANAGE_EXPIRED, base)
    elif offer.paused:
        reply = Reply(MANAGE_PAUSED, base)
    else:
        reply = Reply(MANAGE, base)
    # Renewing, pausing or resuming mean nothing to an offer nobody is shown yet.
    hidden = offer.pending or reports >= services.REPORTS_TO_HIDE
    return StepResult(
        [reply], "manage", {"hidden": hidden, "reported": reports >= services.REPORTS_TO_HIDE}
    )


def begin_offer(turn: Turn) -> StepResult:
    if turn.resident.zone_id is None:
        return StepResult([Reply(NO_ZONE)], None, {}, goto=FlowName.MENU)
    offer = services.offer_of(turn.session, turn.resident.id)
    if offer is not None:
        return _manage(turn, offer)
    return StepResult([_categories(ASK_OFFER_CATEGORY)], "category", {})


def on_manage(turn: Turn) -> StepResult:
    offer = services.offer_of(turn.session, turn.resident.id)
    if offer is None or is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    hidden = bool(turn.slots.get("hidden"))
    option = parse_option(turn.text, 4)
    if option == 1 and not hidden:
        services.renew_offer(offer, turn.now)
        offer.paused = False
        return StepResult([Reply(RENEWED, {"date": _date(turn, offer.expires_at)})])
    if option == 2 and not hidden and aware(offer.expires_at) > turn.now:
        offer.paused = not offer.paused
        if offer.paused:
            return StepResult([Reply(PAUSED)])
        return StepResult([Reply(RENEWED, {"date": _date(turn, offer.expires_at)})])
    if option == 3:
        services.delete_offers(turn.session, [turn.resident.id])
        return StepResult([Reply(DELETED)])
    if option == 4:
        return StepResult([_categories(ASK_OFFER_CATEGORY)], "category", {})
    if option in (1, 2) and turn.slots.get("reported"):
        return stay(turn, Reply(STILL_HIDDEN))
    return _again(turn, *_manage(turn, offer).replies)


def on_offer_category(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    category = _picked(turn)
    if category is None:
        return _again(turn, _categories(ASK_OFFER_CATEGORY))
    return StepResult([Reply(ASK_TEXT, {"max": MAX_TEXT})], "text", {"category": category})


def on_offer_text(turn: Turn) -> StepResult:
    text = " ".join(turn.text.split())
    if not describes(text):
        return stay(turn, Reply(ASK_TEXT, {"max": MAX_TEXT}))
    if len(text) > MAX_TEXT:
        return stay(turn, Reply(TEXT_TOO_LONG, {"max": MAX_TEXT}))
    category = str(turn.slots.get("category") or "other")
    ask = Reply(
        ASK_CONSENT,
        {"category": Reply(LABELS[category]), "phone": phone_shown(turn.resident.phone)},
    )
    return StepResult([ask], "consent", {"category": category, "text": text})


def on_offer_consent(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm)
    category = str(turn.slots.get("category") or "other")
    if answer is None:
        ask = Reply(
            ASK_CONSENT,
            {"category": Reply(LABELS[category]), "phone": phone_shown(turn.resident.phone)},
        )
        return stay(turn, ask)
    if not answer:
        return StepResult([Reply(NOT_PUBLISHED)], None, {}, goto=FlowName.MENU)
    offer = services.publish_offer(
        turn.session, turn.resident, category, str(turn.slots.get("text") or ""), turn.now
    )
    if services.is_hidden(turn.session, offer):
        return StepResult([Reply(CHANGED_HIDDEN, {"category": Reply(LABELS[category])})])
    if offer.pending:
        return StepResult([Reply(PUBLISHED_PENDING, {"category": Reply(LABELS[category])})])
    reply = Reply(
        PUBLISHED, {"category": Reply(LABELS[category]), "date": _date(turn, offer.expires_at)}
    )
    return StepResult([reply])


def _tell(session: Session, resident: Resident, message: Reply, now: datetime, fold: bool) -> None:
    """One SMS to a resident still signed up, queued in the caller's transaction."""
    if resident.status == ResidentStatus.ACTIVE and resident.phone:
        channel = channel_for(resident, now)
        body = render([message], resident.language, channel, fold=fold)
        queue_message(session, resident, body, channel=channel)


def decide(
    session: Session,
    offer: ServiceOffer,
    approve: bool,
    now: datetime,
    by: audit.By,
    *,
    fold: bool = True,
) -> str | None:
    """A leader's (OFERTAS) or staff's (bot.actions.decide_offer) decision on an offer, made
    and audited by storage.services.review_offer, and its offerer told in one SMS queued in
    the caller's transaction. The audit action, or None when there was nothing to approve."""
    label = service_label(offer.category)
    offerer, hidden = offer.resident, services.is_hidden(session, offer)
    action = services.review_offer(session, offer, approve, now, by)
    if action in ("offer.approve", "offer.restore"):
        date = _date(None, offer.expires_at)
        message = Reply(TOLD[action], {"category": label, "date": date})
    elif action == "offer.reject" or (action == "offer.remove" and hidden):
        message = Reply(TOLD[action], {"category": label})
    else:
        return action  # nothing decided, or staff removed an offer shown as usual
    _tell(session, offerer, message, now, fold)
    return action


# --- BUSCO -----------------------------------------------------------------------------------


def begin_search(turn: Turn) -> StepResult:
    if turn.resident.zone_id is None:
        return StepResult([Reply(NO_ZONE)], None, {}, goto=FlowName.MENU)
    return StepResult([_categories(ASK_SEARCH_CATEGORY)], "category", {})


def on_search_category(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    category = _picked(turn)
    if category is None:
        return _again(turn, _categories(ASK_SEARCH_CATEGORY))
    offers = services.find_offers(turn.session, turn.resident, category, turn.now)
    if turn.resident.zone_id is not None:
        services.record_search(
            turn.session, turn.resident.zone_id, category, min(len(offers), SHOWN), turn.now
        )
    if not offers:
        return StepResult([Reply(NONE_FOUND, {"category": Reply(LABELS[category])})], None, {})
    return _page(turn, category, offers)


def _page(turn: Turn, category: str, offers: list[ServiceOffer]) -> StepResult:
    """The first (up to three) of `offers` in one SMS, with MAS when more follow them."""
    label = Reply(LABELS[category])

    def listing(fit: tuple[int, bool]) -> list[Reply]:
        count, with_zone = fit
        lines = ListOf(
            Reply(
                OFFER_LINE if with_zone else OFFER_LINE_SHORT,
                {
                    "n": n,
                    "offer_text": offer.text,
                    "phone": phone_shown(offer.resident.phone),
                    "zone": offer.zone.name,
                },
            )
            for n, offer in enumerate(offers[:count], 1)
        )
        more = count < len(offers)
        return [Reply(FOUND_MORE if more else FOUND, {"category": label, "offers": lines})]

    shown = min(len(offers), SHOWN)
    fits = [(n, z) for n in range(shown, 0, -1) for z in (True, False)]
    (count, _), replies = fit_one_sms(turn.lang, fits, listing)
    slots = {
        "category": category,
        "offers": [o.id for o in offers[:count]],
        "rest": [o.id for o in offers[count:]],
    }
    return StepResult(replies, "results", slots)


def on_results(turn: Turn) -> StepResult:
    shown = [int(i) for i in turn.slots.get("offers") or []]
    words = turn.norm.replace(" ", "")
    if len(words) == 2 and words[0] == "r" and words[1].isdigit():
        index = int(words[1])
        if 1 <= index <= len(shown):
            offer_id = shown[index - 1]
            # The third report hides it; the sweeper tells the zona's leaders (by day).
            new = services.report_offer(turn.session, offer_id, turn.resident.id, turn.now)
            return StepResult([Reply(REPORTED if new else ALREADY_REPORTED)], "results", None)
    if is_more(turn.norm) and "category" in turn.slots:
        category = str(turn.slots["category"])
        rest = [int(i) for i in turn.slots.get("rest") or []]
        offers = services.offers_by_id(turn.session, rest, turn.now)
        if not offers:
            return StepResult(
                [Reply(NO_MORE, {"category": Reply(LABELS[category])})], "results", None
            )
        return _page(turn, category, offers)
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.BARRIO)
    # Anything else leaves the results: it is read as a menu choice.
    return on_choose(turn)


OFFER_FLOW = Flow(
    name=FlowName.OFFER,
    begin=begin_offer,
    steps={
        "manage": on_manage,
        "category": on_offer_category,
        "text": on_offer_text,
        "consent": on_offer_consent,
    },
)
SEARCH_FLOW = Flow(
    name=FlowName.SEARCH,
    begin=begin_search,
    steps={"category": on_search_category, "results": on_results},
)
