"""The main menu: numbers are part of the interface, words and Aymara numbers work too."""

from __future__ import annotations

from bot.flows.account import HELP
from bot.flows.base import Flow, FlowName, StepResult, Turn
from bot.i18n import N_
from bot.render import Reply
from bot.text import parse_option

MENU = N_(
    "Menú: 1 Reportar, 2 Encuestas, 3 Noticias, 4 Mis reportes, 5 Perfil, 6 Mi barrio, "
    "0 Ayuda. BAJA: no recibir más."
)
NOT_UNDERSTOOD = N_("No entendí su mensaje.")
BACK_TO_MENU = N_("Volvamos al menú.")

# Option number -> flow name; 0 is help.
OPTIONS = {1: "report", 2: "polls", 3: "news", 4: "myreports", 5: "profile", 6: "barrio"}
WORDS = {
    "report": {
        "reportar",
        "reporte",
        "reportar un problema",
        "problema",
        "reclamo",
        "queja",
        "yatiyana",  # Aymara "report, inform" (docs/aymara-glossary.md, M)
    },
    "polls": {"encuesta", "encuestas", "votar", "votacion", "chimpuntana"},
    "news": {"noticias", "noticia", "novedades", "yatiyawi", "yatiyawinaka"},
    "myreports": {"mis reportes", "mis reclamos", "estado", "seguimiento"},
    "profile": {"perfil", "mi perfil", "zona", "cambiar zona", "temas"},
    "barrio": {"mi barrio", "zonaja"},
    # Neighbours' services (bot/flows/services.py), also under 6 Mi barrio.
    "offer": {"ofrezco", "ofrecer", "ofrezco un servicio", "ofrecer un servicio"},
    "search": {"busco", "buscar", "busco un servicio", "buscar un servicio"},
    # Civic micro-lessons (bot/flows/courses.py), also under 6 Mi barrio. Aymara "to learn"
    # (yatiqaña; docs/aymara-glossary.md, M: awaits review).
    # PAUSAR too: a resident on daily lessons is in no flow between lessons.
    "courses": {"cursos", "curso", "lecciones", "yatiqana", "yatiqanaka"}
    | {"pausar", "pausar curso", "pausar el curso"},
}


def choice(turn: Turn) -> str | None:
    """The flow a resident picked from the menu, by number or by word; 'help' for 0."""
    option = parse_option(turn.text, max(OPTIONS))
    if option == 0:
        return "help"
    if option is not None:
        return OPTIONS[option]
    for flow, words in WORDS.items():
        if turn.norm in words:
            return flow
    return None


def show(turn: Turn) -> StepResult:
    return StepResult([Reply(MENU)], "choose", {})


def on_choose(turn: Turn) -> StepResult:
    picked = choice(turn)
    # Other flows hand a text they do not take to this step: the menu's step is what waits next.
    if picked == "help":
        return StepResult([Reply(HELP)], "choose", {}, flow=FlowName.MENU)
    if picked is not None:
        return StepResult([], None, {}, goto=picked)
    return StepResult([Reply(NOT_UNDERSTOOD), Reply(MENU)], "choose", {}, flow=FlowName.MENU)


FLOW = Flow(name=FlowName.MENU, begin=show, steps={"choose": on_choose}, times_out=False)
