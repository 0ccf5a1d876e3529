"""Neighbours' offers (OFREZCO): per zona, what neighbours see of each, and the queue of
offers hidden by reports, where staff and the zona's leader show them again or remove them."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from bot import actions
from bot.admin.common import bp, me, page_of, reading, scope, staff_page, state, writing
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from bot.scope import Scope, mask_phone, reachable_zones
from storage import services as store
from storage.models import ServiceOffer, Zone, utcnow

CATEGORY_NAMES = {
    "plumbing": "Plomería",
    "electrical": "Electricidad",
    "construction": "Construcción",
    "sewing": "Costura",
    "tutoring": "Clases",
    "childcare": "Cuidado de niños",
    "transport": "Transporte",
    "food": "Comida",
    "other": "Otro",
}
STATUS_NAMES = {
    "pending": "Espera aprobación",
    "active": "Se muestra",
    "paused": "Pausada",
    "expired": "Vencida",
    "hidden": "Oculta por reportes",
}


@bp.route("/ofertas")
@staff_page()
def offers() -> Any:
    current = scope()
    zone_id = request.args.get("zona", type=int)
    status = request.args.get("estado") or None
    if zone_id and not current.reaches(zone_id):
        abort(403)
    zone_ids = [zone_id] if zone_id else current.zone_ids
    now = utcnow()
    with reading() as db:
        # The counts per status ignore the status picked: each option of the filter says how
        # many it would show.
        counts = store.offer_status_counts(db, zone_ids, now)
        pages = page_of(counts.get(status, 0) if status else sum(counts.values()))
        listed = store.offers_listed(
            db, zone_ids, now, status, offset=pages.offset, limit=pages.per_page
        )

        def queue(wanted: str) -> list[dict[str, Any]]:
            """The offers waiting for a decision, within the filters picked (all of them)."""
            if not current.writes or status not in (None, wanted):
                return []
            return _rows(store.offers_listed(db, zone_ids, now, wanted), current)

        zones = reachable_zones(db, current)
        # The city has hundreds of zonas: those that moderate, and the one picked above.
        moderation = [
            z for z in zones if not current.citywide or z.offers_moderated or z.id == zone_id
        ]
        return render_template(
            "admin/offers.html",
            moderation=moderation,
            rows=_rows(listed, current),
            pages=pages,
            queue=queue("hidden"),
            pending=queue("pending"),
            counts=counts,
            zones=zones,
            chosen_zone=zone_id,
            chosen_status=status,
            statuses=STATUS_NAMES,
            categories=CATEGORY_NAMES,
            writes=current.writes,
        )


def _rows(listed: list[tuple[ServiceOffer, int, str]], current: Scope) -> list[dict[str, Any]]:
    return [
        {
            "offer": offer,
            "zone": offer.zone.name,
            "status": shown,
            "reports": reports,
            "phone": mask_phone(offer.resident.phone, current),
        }
        for offer, reports, shown in listed
    ]


def _offer(db: Any, offer_id: int) -> ServiceOffer:
    offer = db.get(ServiceOffer, offer_id)
    if offer is None:
        abort(404)
    if not scope().reaches(offer.zone_id):
        abort(403)
    return offer


@bp.route("/ofertas/<int:offer_id>/restaurar", methods=["POST"])
@staff_page(writes=True)
def offer_restore(offer_id: int) -> Any:
    with writing() as db:
        offer = _offer(db, offer_id)
        if not store.is_hidden(db, offer):
            flash(_("La oferta {id} no estaba oculta.").format(id=offer_id), "error")
            return redirect(url_for("admin.offers"))
        _decide(db, offer, True)
    flash(_("Oferta {id} revisada: se muestra otra vez.").format(id=offer_id))
    return redirect(url_for("admin.offers"))


@bp.route("/ofertas/<int:offer_id>/eliminar", methods=["POST"])
@staff_page(writes=True)
def offer_remove(offer_id: int) -> Any:
    with writing() as db:
        _decide(db, _offer(db, offer_id), False)
    flash(_("Oferta {id} eliminada.").format(id=offer_id))
    return redirect(url_for("admin.offers"))


@bp.route("/ofertas/<int:offer_id>/<any(aprobar, rechazar):decision>", methods=["POST"])
@staff_page(writes=True)
def offer_decide(offer_id: int, decision: str) -> Any:
    with writing() as db:
        offer = _offer(db, offer_id)
        action = _decide(db, offer, decision == "aprobar") if offer.pending else None
    if action is None:
        flash(_("La oferta {id} ya no esperaba aprobación.").format(id=offer_id), "error")
    else:
        flash(DECIDED[action].format(id=offer_id))
    return redirect(url_for("admin.offers"))


def _decide(db: Any, offer: ServiceOffer, approve: bool) -> str | None:
    """The decision on the offer (bot.actions.decide_offer), by the staff user signed in."""
    fold = state().config.gsm7_fold
    return actions.decide_offer(db, offer, approve, user=me(db), via="web", fold=fold)


# What the console says of each decision on a waiting offer (one also hidden is reviewed).
DECIDED = {
    "offer.approve": _l("Oferta {id} aprobada: ya se muestra; avisamos a quien la ofrece."),
    "offer.reject": _l("Oferta {id} rechazada; avisamos a quien la ofrece."),
    "offer.restore": _l("Oferta {id} revisada: se muestra otra vez; avisamos a quien la ofrece."),
    "offer.remove": _l("Oferta {id} eliminada; avisamos a quien la ofrece."),
}


@bp.route("/ofertas/moderacion", methods=["POST"])
@staff_page(writes=True)
def offers_moderation() -> Any:
    zone_id = request.form.get("zona", type=int)
    if zone_id is None or not scope().reaches(zone_id):
        abort(403)
    moderated = request.form.get("moderada") == "1"
    with writing() as db:
        zone = db.get(Zone, zone_id)
        if zone is None:
            abort(404)
        actions.set_offers_moderated(db, zone, moderated, user=me(db), via="web")
        name = zone.name
    if moderated:
        flash(
            _(
                "{zone}: cada oferta nueva espera la aprobación de un dirigente o del personal."
            ).format(zone=name)
        )
    else:
        flash(_("{zone}: las ofertas nuevas se muestran sin aprobación previa.").format(zone=name))
    return redirect(url_for("admin.offers"))
