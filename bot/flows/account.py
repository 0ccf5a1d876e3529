"""What a resident can always do: see the menu, get help, change language, erase their data."""

from __future__ import annotations

from bot.flows.answers import yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn
from bot.flows.onboarding import CHOOSE_LANGUAGE, pick_language
from bot.i18n import N_
from bot.render import Reply
from storage import residents

HELP = N_(
    "Mi Barrio, con la Alcaldía de La Paz. MENU: opciones. IDIOMA: idioma. BAJA: no recibir "
    "mensajes. ALTA: volver. BORRAR: sus datos."
)
# Before a language is chosen, help goes out in both languages and must still fit one SMS:
# what matters then is how to stop, and the language choice that follows it.
HELP_FIRST = N_("Mi Barrio, con la Alcaldía de La Paz. BAJA: no recibir mensajes.")
TIMED_OUT = N_("Pasó un buen rato: volvemos al inicio.")
LANGUAGE_PROMPT = N_("Elija su idioma: 1 Español / 2 Aymar aru")
LANGUAGE_SET = N_("Listo, le escribiremos en español.")
ERASE_CONFIRM = N_(
    "¿Borrar su número y sus datos de Mi Barrio? Las cifras anónimas se quedan. 1 Sí, borrar / 2 No"
)
ERASE_KEPT = N_("No borramos nada.")
ERASED = N_("Sus datos fueron borrados. Gracias por participar en Mi Barrio.")
OPTED_OUT = N_("Listo: no le enviaremos más mensajes. Para volver, escriba ALTA.")
STILL_OPTED_OUT = N_("Usted se dio de baja de Mi Barrio. Para volver, escriba ALTA.")
OPTED_IN = N_("¡Qué bueno tenerle de vuelta en Mi Barrio!")
# Once per flood window to a phone over FLOOD_LIMIT; what it sends meanwhile is kept unanswered.
# Before a language is chosen it goes out in both languages, so each half must stay short.
FLOODED = N_("Recibimos muchos mensajes seguidos. Espere un momento y escríbanos de nuevo.")
# WhatsApp can hide the sender's number behind a username (From=whatsapp:US.1234): Mi Barrio
# keys residents by their number, so it asks for a way to see it.
NO_NUMBER = N_(
    "Mi Barrio necesita ver su número de celular. Escríbanos por SMS o desde WhatsApp con su "
    "número visible."
)


def help_before_language() -> list[Reply]:
    return [Reply(HELP_FIRST, bilingual=True), Reply(CHOOSE_LANGUAGE)]


def begin_language(turn: Turn) -> StepResult:
    return StepResult([Reply(LANGUAGE_PROMPT)], "choose", {})


def on_language(turn: Turn) -> StepResult:
    lang = pick_language(turn)
    if lang is None:
        return StepResult([Reply(LANGUAGE_PROMPT)], "choose")
    turn.resident.language = lang
    return StepResult([Reply(LANGUAGE_SET)], None, {}, goto=FlowName.MENU)


LANGUAGE_FLOW = Flow(name=FlowName.LANGUAGE, begin=begin_language, steps={"choose": on_language})


def begin_erase(turn: Turn) -> StepResult:
    return StepResult([Reply(ERASE_CONFIRM)], "confirm", {})


def on_erase_confirm(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm, yes={"si borrar"})
    if answer is True:
        residents.erase_resident(turn.session, turn.resident, keep_row=True)
        return StepResult([Reply(ERASED)], None, {})
    if answer is False:
        return StepResult([Reply(ERASE_KEPT)], None, {}, goto=FlowName.MENU)
    return StepResult([Reply(ERASE_CONFIRM)], "confirm")


ERASE_FLOW = Flow(name=FlowName.ERASE, begin=begin_erase, steps={"confirm": on_erase_confirm})
