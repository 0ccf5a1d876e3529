"""My profile: change zona, language and the topics the resident wants to receive."""

from __future__ import annotations

from bot.flows import onboarding
from bot.flows.base import Flow, FlowName, StepResult, Turn, stay
from bot.i18n import N_
from bot.render import ListOf, Reply
from bot.text import parse_option
from storage import mapping as mapping_store
from storage.models import TOPICS
from storage.zones import get_zone

PROFILE = N_("Zona: {zone}. 1 Cambiar zona, 2 Cambiar idioma, 3 Temas que recibe, 0 Volver")
TOPICS_PROMPT = N_("Recibe: {topics}. Escriba un número para activar o quitar. 0 Listo")
ZONE_CHANGED = N_("Listo, su zona ahora es {zone}.")
# A mapper maps the zona whose leader registered them: moving ends it.
ZONE_CHANGED_MAPPER = N_(
    "Listo, su zona ahora es {zone}. Ya no es mapeador de {old_zone}; el dirigente de {zone} puede "
    "registrarlo."
)
TOPIC_LINE = N_("{n} {topic}: {state}")
ON = N_("sí")
OFF = N_("no")
TOPIC_LABELS = {
    "announcements": N_("Anuncios"),
    "polls": N_("Encuestas"),
    "news": N_("Noticias"),
    "reports": N_("Sus reportes"),
}


def begin(turn: Turn) -> StepResult:
    zone = turn.resident.zone.name if turn.resident.zone else "-"
    return StepResult([Reply(PROFILE, {"zone": zone})], "choose", {})


def on_choose(turn: Turn) -> StepResult:
    option = parse_option(turn.text, 3)
    if option == 0:
        return StepResult([], None, {}, goto=FlowName.MENU)
    if option == 1:
        return StepResult([Reply(onboarding.ZONE_PROMPT)], "zone", {})
    if option == 2:
        return StepResult([], None, {}, goto=FlowName.LANGUAGE)
    if option == 3:
        return _topics(turn)
    return stay(turn, *begin(turn).replies)


def _topics(turn: Turn) -> StepResult:
    chosen = set(turn.resident.topics or [])
    items = ListOf(
        Reply(
            TOPIC_LINE,
            {
                "n": i,
                "topic": Reply(TOPIC_LABELS[topic]),
                "state": Reply(ON if topic in chosen else OFF),
            },
        )
        for i, topic in enumerate(TOPICS, start=1)
    )
    return StepResult([Reply(TOPICS_PROMPT, {"topics": items})], "topics", {})


def on_topics(turn: Turn) -> StepResult:
    option = parse_option(turn.text, len(TOPICS))
    if option == 0:
        return StepResult([], None, {}, goto=FlowName.MENU)
    if option is None:
        return stay(turn, *_topics(turn).replies)
    topic = TOPICS[option - 1]
    chosen = list(turn.resident.topics or [])
    if topic in chosen:
        chosen.remove(topic)
    else:
        chosen.append(topic)
    turn.resident.topics = [t for t in TOPICS if t in chosen]
    return _topics(turn)


def _zone_step(name: str):  # type: ignore[no-untyped-def]
    """Reuse onboarding's zona matching, but finish here instead of asking for consent."""
    step = onboarding.FLOW.steps[name]

    def run(turn: Turn) -> StepResult:
        mapper = mapping_store.mapper_of(turn.session, turn.resident.id)
        mapped = mapper.zone_id if mapper is not None else None
        result = step(turn)
        if result.next_step == "consent":
            zone_row = get_zone(turn.session, turn.resident.zone_id)
            zone = zone_row.name if zone_row else ""
            reply = Reply(ZONE_CHANGED, {"zone": zone})
            if mapped is not None and mapped != turn.resident.zone_id:
                old = get_zone(turn.session, mapped)
                values = {"zone": zone, "old_zone": old.name if old else ""}
                # No room for the menu in the same SMS: the next text is read as at the start.
                return StepResult([Reply(ZONE_CHANGED_MAPPER, values)], None, {})
            return StepResult([reply], None, {}, goto=FlowName.MENU)
        return result

    return run


FLOW = Flow(
    name=FlowName.PROFILE,
    begin=begin,
    steps={
        "choose": on_choose,
        "topics": on_topics,
        **{name: _zone_step(name) for name in ("zone", "zone_choice", "macro", "macro_zone")},
    },
)
