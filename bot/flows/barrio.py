"""6 Mi barrio: the second level of the menu, so the main menu still fits one SMS.

Its options by number, and by the words that open them from the main menu (CURSOS, OFREZCO,
BUSCO, INFO, YATIQAÑA...); another menu word (NOTICIAS) opens that part of the menu.
"""

from __future__ import annotations

from bot.flows.answers import is_back
from bot.flows.base import Flow, FlowName, StepResult, Turn, stay
from bot.flows.menu import NOT_UNDERSTOOD, WORDS
from bot.i18n import N_
from bot.i18n.keywords import KEYWORDS
from bot.render import Reply
from bot.text import parse_option

BARRIO_MENU = N_(
    "Mi barrio: 1 Información de su zona, 2 Ofrezco un servicio, 3 Busco un servicio, "
    "4 Cursos, 0 Volver"
)
OPTIONS = {1: FlowName.INFO, 2: FlowName.OFFER, 3: FlowName.SEARCH, 4: FlowName.COURSES}
# The options' own labels, as normalised, in Spanish and Aymara (the submenu's text in both).
LABEL_WORDS: dict[str, frozenset[str]] = {
    FlowName.INFO: KEYWORDS["info"] | {"informacion de su zona", "zonamat informacion"},
    FlowName.OFFER: frozenset({"servicio churana"}),
    FlowName.SEARCH: frozenset({"servicio thaqana"}),
    FlowName.COURSES: frozenset({"cursonaka"}),
}
# The submenu's words first, then the main menu's (OFREZCO, BUSCO, CURSOS, NOTICIAS...).
OPTION_WORDS: dict[str, frozenset[str]] = {
    **LABEL_WORDS,
    **{
        flow: LABEL_WORDS.get(flow, frozenset()) | words
        for flow, words in WORDS.items()
        if flow != FlowName.BARRIO
    },
}


def begin(turn: Turn) -> StepResult:
    return StepResult([Reply(BARRIO_MENU)], "choose", {})


def _by_word(norm: str) -> str | None:
    for flow, words in OPTION_WORDS.items():
        if norm in words:
            return flow
    return None


def on_choose(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    option = parse_option(turn.text, max(OPTIONS))
    if option in OPTIONS:
        return StepResult([], None, {}, goto=OPTIONS[option])
    picked = _by_word(turn.norm)
    if picked is not None:
        return StepResult([], None, {}, goto=picked)
    return stay(turn, Reply(NOT_UNDERSTOOD), Reply(BARRIO_MENU))


FLOW = Flow(name=FlowName.BARRIO, begin=begin, steps={"choose": on_choose})
