"""INFO EDITAR: a council leader keeps their zona's information current from a basic phone.

The leader picks a category, then sees its items one SMS at a time with the day each was last
checked: 1 says it is still correct (checked today), 2 replaces its text. The new text is one
SMS as residents will read it, shown once more before it is saved. Only the zona's own items
(not the macrodistrito's or the city's), and the zona comes from the leaders table, never from
what the leader types. The leader's words are what every resident then reads (as with their
polls and notices): the Aymara text is cleared, so staff can add one in the console. Each
change is written to the audit log, with the leader (not their phone) as the actor.
"""

from __future__ import annotations

from typing import Any

from bot.channels import quote
from bot.flows.answers import is_back, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.info import LABELS, OPTION, too_long
from bot.i18n import N_
from bot.render import ListOf, Reply
from bot.text import has_words, parse_option
from storage import audit
from storage import info as info_store
from storage.broadcasts import LA_PAZ
from storage.leaders import leading
from storage.models import INFO_CATEGORIES, InfoItem, Leader, aware

EDIT_CATEGORIES = N_("Revisar {zone}: {categories}. 0: salir.")
NO_OWN_INFO = N_(
    "La zona {zone} todavía no tiene información propia. Su subalcaldía puede agregarla."
)
EDIT_ITEM = N_(
    "{category} {n}/{total}: {excerpt} (revisado el {date}). 1 Sigue correcto, 2 Cambiar, "
    "MAS: otro, 0: volver"
)
ASK_NEW_TEXT = N_("Escriba el nuevo texto en un solo mensaje, como deben leerlo los vecinos.")
NEW_TOO_LONG = N_("Es muy largo para un SMS con la fecha de revisión. Escríbalo más corto.")
CONFIRM_EDIT = N_("Quedará así: {text} ¿Guardar? 1 Sí / 2 No")
CONFIRM_EDIT_AGAIN = N_("Responda 1 para guardar o 2 para no guardar.")
SAVED = N_("Guardado: los vecinos ya leen el nuevo texto, revisado hoy.")
MARKED_CHECKED = N_("Listo: quedó como revisado hoy. MAS: el siguiente. 0: volver.")
NOT_SAVED = N_("No cambiamos nada.")
ITEM_GONE = N_("Esa información ya no está. Escriba INFO EDITAR para ver la lista.")
EDIT_NOT_UNDERSTOOD = N_("Responda 1 si sigue correcto, 2 para cambiarlo, MAS o 0.")
NOT_A_LEADER = N_("Este número ya no figura como dirigente de una junta vecinal.")

COMMANDS = {"info editar": FlowName.LEADER_INFO, "editar info": FlowName.LEADER_INFO}
# Characters of the item's text shown in the list, fullest first, until it fits one SMS.
ITEM_FITS = (300, 110, 90, 70, 50, 30)
PREVIEW_FITS = (300, 120, 100, 80)


def _leader(turn: Turn) -> tuple[Leader, int, str] | None:
    """The leader, their zona's id and name; None when the phone leads no zona (any more)."""
    found = leading(turn.session, turn.resident.phone)
    if found is None:
        return None
    leader, zone = found
    return leader, zone.id, zone.name


def _gone() -> StepResult:
    return StepResult([Reply(NOT_A_LEADER)], None, {})


def _categories(turn: Turn, *first: Reply) -> StepResult:
    found = _leader(turn)
    if found is None:
        return _gone()
    _, zone_id, zone = found
    present = {item.category for item in info_store.zone_items(turn.session, zone_id)}
    categories = [c for c in INFO_CATEGORIES if c in present]
    if not categories:
        return StepResult([*first, Reply(NO_OWN_INFO, {"zone": zone})], None, {})
    listed = ListOf(
        Reply(OPTION, {"n": n, "label": Reply(LABELS[c])}) for n, c in enumerate(categories, 1)
    )
    menu = Reply(EDIT_CATEGORIES, {"zone": zone, "categories": listed})
    _, replies = fit_one_sms(turn.lang, [[*first, menu], [menu]], lambda replies: replies)
    return StepResult(replies, "category", {"categories": categories})


def _item(turn: Turn, category: str, index: int, *first: Reply) -> StepResult:
    found = _leader(turn)
    if found is None:
        return _gone()
    items = info_store.zone_items(turn.session, found[1], category)
    if not items:
        return _categories(turn, Reply(ITEM_GONE))
    index %= len(items)  # MAS after the last one starts the category again
    item = items[index]
    checked = aware(item.checked_at).astimezone(LA_PAZ).strftime("%d/%m/%Y")

    def build(fit: tuple[int, bool]) -> list[Reply]:
        chars, with_first = fit
        values = {
            "category": Reply(LABELS[category]),
            "n": index + 1,
            "total": len(items),
            "excerpt": quote(item.text_es, chars),
            "date": checked,
        }
        return [*(first if with_first else ()), Reply(EDIT_ITEM, values)]

    fits = [(chars, with_first) for with_first in (True, False) for chars in ITEM_FITS]
    _, replies = fit_one_sms(turn.lang, fits, build)
    slots = _keep(turn, category=category, index=index, item=item.id)
    return StepResult(replies, "item", slots)


def _keep(turn: Turn, **new: Any) -> dict[str, Any]:
    """The flow's slots with new values; a good answer clears the count of misses."""
    return {**{k: v for k, v in turn.slots.items() if k != "_misses"}, **new}


def _own_item(turn: Turn) -> tuple[Leader, InfoItem] | None:
    """The item picked, if it is still there and still in the leader's zona."""
    found = _leader(turn)
    item_id = turn.slots.get("item")
    item = turn.session.get(InfoItem, int(item_id)) if item_id is not None else None
    if found is None or item is None or item.zone_id != found[1]:
        return None
    return found[0], item


def _record(
    turn: Turn, leader: Leader, action: str, item: InfoItem, before: dict[str, Any]
) -> None:
    audit.record(
        turn.session,
        None,
        "sms",
        action,
        "info",
        item.id,
        before=before,
        after={"text_es": item.text_es, "text_ay": item.text_ay, "checked_at": _iso(item)},
        actor=f"leader {leader.id}",
    )


def _iso(item: InfoItem) -> str:
    return aware(item.checked_at).isoformat()


def begin(turn: Turn) -> StepResult:
    return _categories(turn)


def on_category(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {})
    categories = list(turn.slots.get("categories") or [])
    option = parse_option(turn.text, len(categories))
    if not option:
        return stay(turn, *_categories(turn).replies)
    return _item(turn, categories[option - 1], 0)


def on_item(turn: Turn) -> StepResult:
    category = str(turn.slots.get("category") or "")
    index = int(turn.slots.get("index", 0))
    if is_back(turn.norm):
        return _categories(turn)
    if is_more(turn.norm):
        return _item(turn, category, index + 1)
    option = parse_option(turn.text, 2)
    if option not in (1, 2):
        return stay(turn, Reply(EDIT_NOT_UNDERSTOOD))
    owned = _own_item(turn)
    if owned is None:
        return _categories(turn, Reply(ITEM_GONE)) if _leader(turn) else _gone()
    leader, item = owned
    if option == 2:
        return StepResult([Reply(ASK_NEW_TEXT)], "text", _keep(turn))
    before = {"checked_at": _iso(item)}
    info_store.mark_checked(item, turn.now)
    _record(turn, leader, "info.check", item, before)
    return StepResult([Reply(MARKED_CHECKED)], "item", _keep(turn))


def on_text(turn: Turn) -> StepResult:
    text = " ".join(turn.text.split())
    if not has_words(text):
        return stay(turn, Reply(ASK_NEW_TEXT))
    if too_long(text):
        return stay(turn, Reply(NEW_TOO_LONG))
    _, replies = fit_one_sms(
        turn.lang,
        PREVIEW_FITS,
        lambda chars: [Reply(CONFIRM_EDIT, {"text": quote(text, chars)})],
    )
    return StepResult(replies, "confirm", _keep(turn, text=text))


def on_confirm(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm)
    if answer is None:
        return stay(turn, Reply(CONFIRM_EDIT_AGAIN))
    if not answer:
        return StepResult([Reply(NOT_SAVED)], None, {})
    owned = _own_item(turn)
    if owned is None:
        return StepResult([Reply(ITEM_GONE)], None, {}) if _leader(turn) else _gone()
    leader, item = owned
    before = {"text_es": item.text_es, "text_ay": item.text_ay, "checked_at": _iso(item)}
    info_store.edit_item(item, str(turn.slots.get("text") or ""), None, turn.now)
    _record(turn, leader, "info.edit", item, before)
    return StepResult([Reply(SAVED)], None, {})


FLOW = Flow(
    name=FlowName.LEADER_INFO,
    begin=begin,
    steps={"category": on_category, "item": on_item, "text": on_text, "confirm": on_confirm},
)
