"""Signing up: language, zona, privacy consent. Nothing else happens until it is done."""

from __future__ import annotations

from bot.flows.answers import yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn
from bot.flows.zones import match_zone, numbered
from bot.i18n import N_
from bot.render import Reply
from bot.text import parse_option
from storage import residents
from storage import zones as zone_store
from storage.enums import ResidentStatus

WELCOME = N_("Bienvenido a Mi Barrio, la voz de su zona ante la Alcaldía de La Paz.")
CHOOSE_LANGUAGE = N_("1 Español / 2 Aymar aru")
ZONE_PROMPT = N_("¿En qué zona vive? Escriba su nombre, por ejemplo: San Sebastián.")
ZONE_CHOICES = N_("¿Cuál es su zona? {options}. 0 Ninguna")
ZONE_UNKNOWN = N_("No encontramos esa zona. Elija su macrodistrito: {options}")
MACRO_ZONES = N_("Zonas de {macro}: {options}. 0 Volver")
CONSENT = N_(
    "Zona {zone}. Guardamos su número, zona e idioma solo para Mi Barrio y no los "
    "compartimos. 1 Acepto / 2 No acepto"
)
CONSENT_AGAIN = N_("Responda 1 si acepta o 2 si no acepta.")
DECLINED = N_("Entendido: no guardamos sus datos. Si cambia de idea, escríbanos de nuevo.")
WELCOME_DONE = N_("¡Listo! Ya es parte de Mi Barrio.")

LANGUAGE_WORDS = {
    "es": {"espanol", "castellano", "spanish", "kastilla", "kastilla aru", "es"},
    "ay": {"aymara", "aymar", "aymar aru", "aimara", "ay"},
}


def pick_language(turn: Turn) -> str | None:
    """The language a resident chose by number or by name."""
    option = parse_option(turn.text, 2)
    if option == 1:
        return "es"
    if option == 2:
        return "ay"
    for lang, words in LANGUAGE_WORDS.items():
        if turn.norm in words:
            return lang
    return None


def language_prompt() -> list[Reply]:
    return [Reply(WELCOME, bilingual=True), Reply(CHOOSE_LANGUAGE)]


def begin(turn: Turn) -> StepResult:
    """Signing up, or going on with it from the first step not done yet: a leader who is
    signing up and types AYUDA or a command in between is not sent back to the language."""
    resident = turn.resident
    if resident.language is None:
        return ask_language(turn)
    if resident.zone_id is None:
        return StepResult([Reply(ZONE_PROMPT)], "zone", {})
    return _ask_consent(turn, resident.zone_id)


def ask_language(turn: Turn) -> StepResult:
    """The language question, whatever was chosen before (IDIOMA while signing up)."""
    return StepResult(language_prompt(), "language", {})


def on_language(turn: Turn) -> StepResult:
    lang = pick_language(turn)
    if lang is None:
        return StepResult(language_prompt(), "language")
    turn.resident.language = lang
    return StepResult([Reply(ZONE_PROMPT)], "zone", {})


def _ask_consent(turn: Turn, zone_id: int) -> StepResult:
    zone = zone_store.get_zone(turn.session, zone_id)
    if zone is None:  # the list changed under the resident: ask again
        return StepResult([Reply(ZONE_PROMPT)], "zone", {})
    residents.set_zone(turn.session, turn.resident, zone.id, turn.now)
    return StepResult([Reply(CONSENT, {"zone": zone.name})], "consent", {"zone_id": zone.id})


def _offer_macros(turn: Turn) -> StepResult:
    macros = zone_store.macrodistricts(turn.session)
    options = numbered([m.name for m in macros])
    return StepResult(
        [Reply(ZONE_UNKNOWN, {"options": options})], "macro", {"macros": [m.id for m in macros]}
    )


def on_zone(turn: Turn) -> StepResult:
    if not turn.norm:
        return StepResult([Reply(ZONE_PROMPT)], "zone")
    match = match_zone(turn.text, zone_store.all_zones(turn.session))
    if match.exact is not None:
        return _ask_consent(turn, match.exact.id)
    if match.candidates:
        options = numbered([z.name for z in match.candidates])
        return StepResult(
            [Reply(ZONE_CHOICES, {"options": options})],
            "zone_choice",
            {"choices": [z.id for z in match.candidates]},
        )
    return _offer_macros(turn)


def on_zone_choice(turn: Turn) -> StepResult:
    choices: list[int] = turn.slots.get("choices", [])
    option = parse_option(turn.text, len(choices))
    if option == 0:
        return _offer_macros(turn)
    if option is not None:
        return _ask_consent(turn, choices[option - 1])
    # Not a number: they may have typed the name again.
    return on_zone(turn)


def on_macro(turn: Turn) -> StepResult:
    macro_ids: list[int] = turn.slots.get("macros", [])
    option = parse_option(turn.text, len(macro_ids))
    if option is None or option == 0:
        if turn.norm and parse_option(turn.text) is None:
            return on_zone(turn)  # a name typed instead of a number
        return _offer_macros(turn)
    return _show_macro(turn, macro_ids, macro_ids[option - 1])


def _show_macro(turn: Turn, macro_ids: list[int], macro_id: int) -> StepResult:
    macro = zone_store.get_macrodistrict(turn.session, macro_id)
    if macro is None:
        return _offer_macros(turn)
    zones = zone_store.zones_in(turn.session, macro_id)
    return StepResult(
        [Reply(MACRO_ZONES, {"macro": macro.name, "options": numbered([z.name for z in zones])})],
        "macro_zone",
        {"macros": macro_ids, "zones": [z.id for z in zones], "macro_id": macro_id},
    )


def on_macro_zone(turn: Turn) -> StepResult:
    zone_ids: list[int] = turn.slots.get("zones", [])
    option = parse_option(turn.text, len(zone_ids))
    if option == 0:
        return _offer_macros(turn)
    if option is not None:
        return _ask_consent(turn, zone_ids[option - 1])
    if turn.norm and parse_option(turn.text) is None:
        return on_zone(turn)
    # Out of range: show the same list again.
    return _show_macro(turn, turn.slots.get("macros", []), turn.slots.get("macro_id", 0))


def on_consent(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm)
    if answer is True:
        resident = turn.resident
        resident.consent_at = turn.now
        resident.status = ResidentStatus.ACTIVE
        return StepResult([Reply(WELCOME_DONE)], None, {}, goto=FlowName.MENU)
    if answer is False:
        residents.erase_resident(turn.session, turn.resident, keep_row=False)
        return StepResult([Reply(DECLINED)], None, {})
    return StepResult([Reply(CONSENT_AGAIN)], "consent")


FLOW = Flow(
    name=FlowName.ONBOARDING,
    begin=begin,
    steps={
        "language": on_language,
        "zone": on_zone,
        "zone_choice": on_zone_choice,
        "macro": on_macro,
        "macro_zone": on_macro_zone,
        "consent": on_consent,
    },
    times_out=False,
)
