"""INFO EDITAR: a council leader keeps their zona's information current from a basic phone.

The leader picks one of the zona's own categories (ZONE_CATEGORIES: not the macrodistrito's
subalcaldía nor the city's emergency numbers), then sees its items one SMS at a time with the
day each was last checked: 1 says it is still correct (checked today), 2 replaces its text, 3
adds another item; a category the zona has nothing in asks for its first item. A new text is
one SMS as residents will read it, shown once more before it is saved. The zona comes from the
leaders table, never from what the leader types. The leader's words are what every resident
then reads (as with their polls and notices): an edit clears the Aymara text (the leader is
told before saving), so staff can add one in the console. Each change is written to the audit
log, with the leader (not their phone) as the actor.
"""

from __future__ import annotations

from typing import Any

from bot.channels import quote
from bot.flows.answers import is_back, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.info import LABELS, OPTION, text_limit, too_long
from bot.i18n import N_
from bot.render import ListOf, Reply
from bot.text import has_words, parse_option
from storage import audit
from storage import info as info_store
from storage.broadcasts import LA_PAZ
from storage.info import ZONE_CATEGORIES, Scope
from storage.leaders import leading
from storage.models import InfoItem, Leader, aware

EDIT_CATEGORIES = N_("Revisar {zone}: {categories}. 0: salir.")
EDIT_ITEM = N_(
    "{category} {n}/{total}: {excerpt} (revisado el {date}). 1 Sigue correcto, 2 Cambiar, "
    "3 Agregar, MAS: otro, 0: volver"
)
ASK_NEW_TEXT = N_("Escriba el nuevo texto en un solo mensaje, como deben leerlo los vecinos.")
# A category the zona has nothing in: its first item.
ASK_FIRST_ITEM = N_(
    "{category}: su zona todavía no tiene este dato. Escríbalo en un solo mensaje, como deben "
    "leerlo los vecinos. 0: volver."
)
ASK_ANOTHER_ITEM = N_(
    "Escriba el nuevo dato de {category} en un solo mensaje, como deben leerlo los vecinos. "
    "0: volver."
)
NEW_TOO_LONG = N_(
    "Es muy largo para un SMS: caben unas {limit} letras con la fecha de revisión y su texto "
    "tiene {length}. Escríbalo más corto."
)
CONFIRM_EDIT = N_("Quedará así: {text} ¿Guardar? 1 Sí / 2 No")
# The item had an Aymara text: the leader's words replace both. The preview is quoted to fit
# (PREVIEW_FITS: at worst 80 letters).
CONFIRM_EDIT_CLEARS_AY = N_(
    "Quedará así: {preview} El texto en aymara se borra. ¿Guardar? 1 Sí / 2 No"
)
CONFIRM_ADD = N_("Se agregará a {category}: {text} ¿Guardar? 1 Sí / 2 No")
CONFIRM_EDIT_AGAIN = N_("Responda 1 para guardar o 2 para no guardar.")
SAVED = N_("Guardado: los vecinos ya leen el nuevo texto, revisado hoy.")
ADDED = N_("Agregado: los vecinos de {zone} ya lo leen con INFO, revisado hoy.")
MARKED_CHECKED = N_("Listo: quedó como revisado hoy. MAS: el siguiente. 0: volver.")
NOT_SAVED = N_("No cambiamos nada.")
ITEM_GONE = N_("Esa información ya no está. Escriba INFO EDITAR para ver la lista.")
EDIT_NOT_UNDERSTOOD = N_(
    "Responda 1 si sigue correcto, 2 para cambiarlo, 3 para agregar otro, MAS o 0."
)
# 0 at the categories, for a leader who is not a resident (a resident gets the menu).
EDIT_CLOSED = N_("Listo. Escriba INFO EDITAR cuando quiera revisar de nuevo.")
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
    zone = found[2]
    categories = list(ZONE_CATEGORIES)
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
    turn: Turn, leader: Leader, action: str, item: InfoItem, before: dict[str, Any] | None
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
        if turn.resident.onboarded:
            return StepResult([], None, {}, goto=FlowName.MENU)
        return StepResult([Reply(EDIT_CLOSED)], None, {})
    categories = list(turn.slots.get("categories") or [])
    option = parse_option(turn.text, len(categories))
    if not option:
        return stay(turn, *_categories(turn).replies)
    category = categories[option - 1]
    found = _leader(turn)
    if found is None:
        return _gone()
    if not info_store.zone_items(turn.session, found[1], category):
        return _ask_new(turn, category, ASK_FIRST_ITEM)
    return _item(turn, category, 0)


def _ask_new(turn: Turn, category: str, message: str) -> StepResult:
    """Ask for a new item's text in this category."""
    slots = _keep(turn, category=category, mode="add", item=None)
    return StepResult([Reply(message, {"category": Reply(LABELS[category])})], "text", slots)


def on_item(turn: Turn) -> StepResult:
    category = str(turn.slots.get("category") or "")
    index = int(turn.slots.get("index", 0))
    if is_back(turn.norm):
        return _categories(turn)
    if is_more(turn.norm):
        return _item(turn, category, index + 1)
    option = parse_option(turn.text, 3)
    if option not in (1, 2, 3):
        return stay(turn, Reply(EDIT_NOT_UNDERSTOOD))
    if option == 3:
        return _ask_new(turn, category, ASK_ANOTHER_ITEM) if _leader(turn) else _gone()
    owned = _own_item(turn)
    if owned is None:
        return _categories(turn, Reply(ITEM_GONE)) if _leader(turn) else _gone()
    leader, item = owned
    if option == 2:
        return StepResult([Reply(ASK_NEW_TEXT)], "text", _keep(turn, mode="edit"))
    before = {"checked_at": _iso(item)}
    info_store.mark_checked(item, turn.now)
    _record(turn, leader, "info.check", item, before)
    return StepResult([Reply(MARKED_CHECKED)], "item", _keep(turn))


def _adding(turn: Turn) -> bool:
    return turn.slots.get("mode") == "add"


def on_text(turn: Turn) -> StepResult:
    text = " ".join(turn.text.split())
    if is_back(turn.norm):
        return _categories(turn)
    if not has_words(text):
        category = str(turn.slots.get("category") or "")
        if _adding(turn) and category in LABELS:
            return stay(turn, Reply(ASK_ANOTHER_ITEM, {"category": Reply(LABELS[category])}))
        return stay(turn, Reply(ASK_NEW_TEXT))
    if too_long(text):
        # Not a miss: the leader wrote what was asked, only too much of it; they stay here.
        values = {"limit": text_limit(), "length": len(text)}
        return StepResult([Reply(NEW_TOO_LONG, values)], "text", _keep(turn))
    if _adding(turn):
        label = Reply(LABELS[str(turn.slots.get("category"))])

        def build(chars: int) -> list[Reply]:
            return [Reply(CONFIRM_ADD, {"category": label, "text": quote(text, chars)})]

    else:
        owned = _own_item(turn)
        clears = owned is not None and bool(owned[1].text_ay)

        def build(chars: int) -> list[Reply]:
            if clears:
                return [Reply(CONFIRM_EDIT_CLEARS_AY, {"preview": quote(text, chars)})]
            return [Reply(CONFIRM_EDIT, {"text": quote(text, chars)})]

    _, replies = fit_one_sms(turn.lang, PREVIEW_FITS, build)
    return StepResult(replies, "confirm", _keep(turn, text=text))


def on_confirm(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm)
    if answer is None:
        return stay(turn, Reply(CONFIRM_EDIT_AGAIN))
    if not answer:
        return StepResult([Reply(NOT_SAVED)], None, {})
    text = str(turn.slots.get("text") or "")
    if _adding(turn):
        return _add(turn, text)
    owned = _own_item(turn)
    if owned is None:
        return StepResult([Reply(ITEM_GONE)], None, {}) if _leader(turn) else _gone()
    leader, item = owned
    before = {"text_es": item.text_es, "text_ay": item.text_ay, "checked_at": _iso(item)}
    info_store.edit_item(item, text, None, turn.now)
    _record(turn, leader, "info.edit", item, before)
    return StepResult([Reply(SAVED)], None, {})


def _add(turn: Turn, text: str) -> StepResult:
    """A new item of the leader's own zona (never one the leader names), checked now."""
    found = _leader(turn)
    category = str(turn.slots.get("category") or "")
    if found is None:
        return _gone()
    if category not in ZONE_CATEGORIES:
        return StepResult([Reply(NOT_SAVED)], None, {})
    leader, zone_id, zone = found
    item = info_store.add_item(
        turn.session, category, Scope(zone_id=zone_id), text, None, checked_at=turn.now
    )
    _record(turn, leader, "info.add", item, None)
    return StepResult([Reply(ADDED, {"zone": zone})], None, {})


FLOW = Flow(
    name=FlowName.LEADER_INFO,
    begin=begin,
    steps={"category": on_category, "item": on_item, "text": on_text, "confirm": on_confirm},
)
