"""6 Mi barrio: the second level of the menu, so the main menu still fits one SMS."""

from __future__ import annotations

from bot.flows.answers import is_back
from bot.flows.base import Flow, FlowName, StepResult, Turn, stay
from bot.flows.menu import NOT_UNDERSTOOD
from bot.i18n import N_
from bot.render import Reply
from bot.text import parse_option

BARRIO_MENU = N_(
    "Mi barrio: 1 Información de su zona, 2 Ofrezco un servicio, 3 Busco un servicio, "
    "4 Cursos, 0 Volver"
)
OPTIONS = {1: FlowName.INFO, 2: FlowName.OFFER, 3: FlowName.SEARCH, 4: FlowName.COURSES}


def begin(turn: Turn) -> StepResult:
    return StepResult([Reply(BARRIO_MENU)], "choose", {})


def on_choose(turn: Turn) -> StepResult:
    if is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    option = parse_option(turn.text, max(OPTIONS))
    if option in OPTIONS:
        return StepResult([], None, {}, goto=OPTIONS[option])
    return stay(turn, Reply(NOT_UNDERSTOOD), Reply(BARRIO_MENU))


FLOW = Flow(name=FlowName.BARRIO, begin=begin, steps={"choose": on_choose})
