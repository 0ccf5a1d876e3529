"""Zona information (INFO, "6 Mi barrio"): a numbered list of categories, then one SMS per item.

Each item says when it was last checked, so a resident can judge an old market day or phone
number. In the list of items a number picks another category, MAS the next item, 0 goes back
to the categories; anything else is read as a menu choice, as in the news.
"""

from __future__ import annotations

import functools

from bot.channels import segments
from bot.flows.answers import is_back, is_more
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.menu import NOT_UNDERSTOOD, on_choose
from bot.i18n import N_, in_language
from bot.render import ListOf, Reply, render
from bot.text import parse_option
from storage.broadcasts import LA_PAZ
from storage.info import categories_for, items_for
from storage.models import aware

CATEGORIES = N_("Información de {zone}: {categories}. 0: menú.")
CATEGORIES_SHORT = N_("Información de su zona: {categories}. 0: menú.")
NO_INFO = N_("Todavía no hay información para su zona.")
ITEM = N_("{text} (revisado el {date}) {n}/{total}")
MORE_HINT = N_("MAS: el siguiente. 0: volver.")
LAST_HINT = N_("0: volver.")
NO_MORE = N_("No hay más en esta categoría.")
# The item being read (or a whole category) was deleted by staff meanwhile.
INFO_GONE = N_("Esa información ya no está.")

LABELS = {
    "health": N_("Salud"),
    "school": N_("Escuela"),
    "police": N_("Policía"),
    "market": N_("Ferias"),
    "water": N_("Agua"),
    "trash": N_("Basura"),
    "junta": N_("Junta vecinal"),
    "emergency": N_("Emergencias"),
    "subalcaldia": N_("Subalcaldía"),
    "places": N_("Lugares"),  # short: with all ten categories the list still fits one SMS
}
OPTION = N_("{n} {label}")


def too_long(text: str) -> str | None:
    """The language ("es" or "ay") in which an item's text would not fit one SMS as residents
    get it (with its checked day, its number and the MAS hint); None when it fits both."""
    for lang in ("es", "ay"):
        item = Reply(ITEM, {"text": text, "date": "31/12/2026", "n": 10, "total": 10})
        if segments(render([item, Reply(MORE_HINT)], lang, "sms")) > 1:
            return lang
    return None


@functools.cache
def text_limit() -> int:
    """The most plain letters an item's text may have and still fit one SMS in both languages
    (accents and symbols may count double: too_long is the real test)."""
    low, high = 0, 160
    while low < high:
        middle = (low + high + 1) // 2
        if too_long("a" * middle):
            high = middle - 1
        else:
            low = middle
    return low


def _categories(turn: Turn, *first: Reply) -> StepResult:
    categories = categories_for(turn.session, turn.resident.zone_id)
    if not categories:
        return StepResult([*first, Reply(NO_INFO)], None, {}, goto=FlowName.MENU)
    listed = ListOf(
        Reply(OPTION, {"n": n, "label": Reply(LABELS[c])}) for n, c in enumerate(categories, 1)
    )
    zone = turn.resident.zone.name if turn.resident.zone is not None else ""
    short = Reply(CATEGORIES_SHORT, {"categories": listed})
    # Fullest first: the zona's name, then without it, then without the line before the list.
    variants = [[*first, Reply(CATEGORIES, {"zone": zone, "categories": listed})]] if zone else []
    variants += [[*first, short], [short]]
    _, replies = fit_one_sms(turn.lang, variants, lambda replies: replies)
    return StepResult(replies, "category", {"categories": categories})


def _item(turn: Turn, categories: list[str], category: str, index: int) -> StepResult:
    items = items_for(turn.session, turn.resident.zone_id, category)
    if not items:
        return _categories(turn, Reply(INFO_GONE))
    if index >= len(items):
        return _categories(turn, Reply(NO_MORE))
    item = items[index]
    checked = aware(item.checked_at).astimezone(LA_PAZ).strftime("%d/%m/%Y")
    text = in_language(turn.lang, item.text_es, item.text_ay)
    replies = [
        Reply(ITEM, {"text": text, "date": checked, "n": index + 1, "total": len(items)}),
        Reply(MORE_HINT if index + 1 < len(items) else LAST_HINT),
    ]
    slots = {"categories": categories, "category": category, "index": index, "item": item.id}
    return StepResult(replies, "item", slots)


def begin(turn: Turn) -> StepResult:
    return _categories(turn)


def _picked(turn: Turn) -> tuple[list[str], str | None]:
    categories = list(turn.slots.get("categories") or [])
    option = parse_option(turn.text, len(categories))
    return categories, categories[option - 1] if option else None


def on_category(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    categories, category = _picked(turn)
    if category is None:
        return stay(turn, *_categories(turn, Reply(NOT_UNDERSTOOD)).replies)
    return _item(turn, categories, category, 0)


def on_item(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return _categories(turn)
    categories, category = _picked(turn)
    if category is not None:
        return _item(turn, categories, category, 0)
    if is_more(turn.norm):
        current = str(turn.slots.get("category") or "")
        ids = [i.id for i in items_for(turn.session, turn.resident.zone_id, current)]
        reading = turn.slots.get("item")
        if reading is None:  # a conversation saved before items were followed by id
            return _item(turn, categories, current, int(turn.slots.get("index", 0)) + 1)
        if reading not in ids:
            return _categories(turn, Reply(INFO_GONE))
        return _item(turn, categories, current, ids.index(reading) + 1)
    # Anything else leaves the information: it is read as a menu choice.
    return on_choose(turn)


FLOW = Flow(name=FlowName.INFO, begin=begin, steps={"category": on_category, "item": on_item})
