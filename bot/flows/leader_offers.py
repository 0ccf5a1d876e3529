"""OFERTAS: a council leader reviews their zona's offers: those waiting for approval (a zona
that moderates them) and those hidden by three neighbours' reports.

When a zona chose moderation (the console), a neighbour's new offer waits until a leader of
the zona or staff decides; an offer three neighbours reported waits hidden the same way (its
leaders are told by SMS when it is hidden). OFERTAS lists up to three of them in one SMS, the
waiting ones first, the reported ones marked; APROBAR 1 approves or shows again, RECHAZAR 1
removes, and the offerer is told in one SMS, as when staff decide in the console: both go
through bot.flows.services.decide, and storage.services.review_offer writes the audit entry.
Only the leader's own zona, from the leaders table.
"""

from __future__ import annotations

import re
from typing import Any

from bot.flows import services as services_flow
from bot.flows.answers import is_back
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.i18n import N_
from bot.render import ListOf, Reply
from storage import audit
from storage import services as store
from storage.leaders import leading
from storage.models import Leader, ServiceOffer, Zone

NOTHING_TO_REVIEW = N_("No hay ofertas por aprobar ni reportadas en {zone}.")
NOT_MODERATED = N_(
    "En {zone} las ofertas se muestran sin aprobación previa. Su subalcaldía puede cambiarlo."
)
PENDING = N_("Por revisar: {offers}. APROBAR o RECHAZAR y el número.")
PENDING_LINE = N_("{n} {category}: {offer_text} ({phone})")
# An offer hidden by reports: APROBAR shows it again, RECHAZAR removes it.
REPORTED_LINE = N_("{n} REPORTADA {category}: {offer_text} ({phone})")
APPROVED = N_("Aprobada la oferta {n}: ya se muestra y avisamos a quien la ofrece.")
RESTORED = N_("La oferta {n} vuelve a mostrarse y avisamos a quien la ofrece.")
REMOVED = N_("Quitamos la oferta {n} y avisamos a quien la ofrece.")
REJECTED = N_("Rechazada la oferta {n}: no se muestra y avisamos a quien la ofrece.")
DECIDE_AGAIN = N_("Escriba APROBAR o RECHAZAR y el número de la oferta, por ejemplo APROBAR 1.")
ALREADY_DECIDED = N_("Esa oferta ya fue decidida o la retiraron. OFERTAS: ver las que esperan.")
NOT_A_LEADER = N_("Este número ya no figura como dirigente de una junta vecinal.")
# The leader's answer for each decision, by its audit action (storage.services.review_offer).
SAID = {
    "offer.approve": APPROVED,
    "offer.reject": REJECTED,
    "offer.restore": RESTORED,
    "offer.remove": REMOVED,
    "": ALREADY_DECIDED,
}

COMMANDS = {"ofertas": FlowName.LEADER_OFFERS, "aprobar ofertas": FlowName.LEADER_OFFERS}
SHOWN = 3
_DECISION = re.compile(r"^(aprobar|aprobada|aprobado|rechazar|rechazada|rechazado)\s*(\d)?$")


def _leader(turn: Turn) -> tuple[Leader, Zone] | None:
    return leading(turn.session, turn.resident.phone)


def _listing(turn: Turn, zone: Zone, offers: list[ServiceOffer]) -> list[Reply]:
    reported = {o.id for o in offers if store.is_hidden(turn.session, o)}

    def build(count: int) -> list[Reply]:
        lines = ListOf(
            Reply(
                REPORTED_LINE if offer.id in reported else PENDING_LINE,
                {
                    "n": n,
                    "category": Reply(services_flow.LABELS[offer.category]),
                    "offer_text": offer.text,
                    "phone": services_flow.phone_shown(offer.resident.phone),
                },
            )
            for n, offer in enumerate(offers[:count], 1)
        )
        return [Reply(PENDING, {"offers": lines})]

    return fit_one_sms(turn.lang, range(len(offers), 0, -1), build)[1]


def begin(turn: Turn) -> StepResult:
    found = _leader(turn)
    if found is None:
        return StepResult([Reply(NOT_A_LEADER)], None, {})
    zone = found[1]
    waiting = store.pending_offers(turn.session, zone.id)
    seen = {o.id for o in waiting}
    hidden = [o for o in store.hidden_offers(turn.session, zone.id) if o.id not in seen]
    offers = (waiting + hidden)[:SHOWN]
    if not offers:
        empty = NOTHING_TO_REVIEW if zone.offers_moderated else NOT_MODERATED
        return StepResult([Reply(empty, {"zone": zone.name})], None, {})
    replies = _listing(turn, zone, offers)
    return StepResult(replies, "decide", {"offers": [o.id for o in offers]})


def _keep(turn: Turn) -> dict[str, Any]:
    return {k: v for k, v in turn.slots.items() if k != "_misses"}


def on_decide(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {})
    shown = [int(i) for i in turn.slots.get("offers") or []]
    match = _DECISION.match(turn.norm)
    if match is None or (match.group(2) is None and len(shown) != 1):
        return stay(turn, Reply(DECIDE_AGAIN))
    n = int(match.group(2) or 1)
    if not 1 <= n <= len(shown):
        return stay(turn, Reply(DECIDE_AGAIN))
    found = _leader(turn)
    if found is None:
        return StepResult([Reply(NOT_A_LEADER)], None, {})
    leader, zone = found
    offer = turn.session.get(ServiceOffer, shown[n - 1])
    hidden = offer is not None and store.is_hidden(turn.session, offer)
    if offer is None or offer.zone_id != zone.id or not (offer.pending or hidden):
        return StepResult([Reply(ALREADY_DECIDED)], "decide", _keep(turn))
    approve = match.group(1).startswith("aprob")
    by = audit.By(via="sms", actor=f"leader {leader.id}")
    action = services_flow.decide(turn.session, offer, approve, turn.now, by)
    return StepResult([Reply(SAID[action or ""], {"n": n})], "decide", _keep(turn))


FLOW = Flow(name=FlowName.LEADER_OFFERS, begin=begin, steps={"decide": on_decide})
