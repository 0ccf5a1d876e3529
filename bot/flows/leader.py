"""Council leaders: a poll or a notice to their own zona from a basic phone, and their results.

A leader is a phone in the leaders table (`mibarrio leader add`). ENCUESTA, AVISO and RESULTADOS
start these flows for a leader only; for anyone else they mean what they always meant. The zona
comes from the leaders table, never from what the leader types, so a leader cannot reach beyond
it. The leader's words go out as written (as both the Spanish and the Aymara text); the frame
around them is bot.outbound's (NOTICE, POLL), in each resident's language. Previews and costs
are rendered by bot.outbound too, so the leader sees what residents will get.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.channels import quote, segments
from bot.flows import leader_info, leader_offers
from bot.flows.answers import DONT_SEND, SEND, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.menu import on_choose
from bot.flows.polls import counts
from bot.i18n import LANGUAGES, N_
from bot.outbound import Content, framed, question_text, render_broadcast
from bot.render import Reply
from bot.targets import Target
from bot.text import has_words, normalize, parse_option
from storage import polls as poll_store
from storage.broadcasts import LA_PAZ, create_broadcast
from storage.leaders import DAILY_LIMIT, leader_for, leading, sent_by_today
from storage.models import Leader, Poll, PollOption, Zone

ASK_QUESTION = N_("Nueva encuesta para la zona {zone}. Escriba la pregunta.")
ASK_OPTIONS = N_(
    "Escriba de 2 a 9 opciones en un solo mensaje, separadas por coma o /. Ejemplo: Sí, No"
)
BAD_OPTIONS = N_(
    "Necesito de 2 a 9 opciones distintas, separadas por coma o /. Ejemplo: En la plaza, En la "
    "calle"
)
ASK_DAYS = N_("¿Cuántos días estará abierta? Escriba un número del 1 al 14.")
BAD_DAYS = N_("Escriba solo el número de días, del 1 al 14.")
ASK_NOTICE = N_("Nuevo aviso para la zona {zone}. Escríbalo como deben leerlo los vecinos.")
WITH_WORDS = N_("Escriba con palabras, por favor.")
TOO_LONG = N_("Es muy largo: costaría {n} SMS por vecino. Escríbalo más corto.")
# "2 Cancelar" would invite typing CANCELAR, which is an opt-out keyword.
COST = N_("Costará {n} SMS por vecino. 1 Enviar / 2 No enviar")
CONFIRM_AGAIN = N_("Responda 1 para enviar o 2 para no enviar.")
NOT_SENT = N_("No enviamos nada.")
POLL_SENT = N_(
    "Listo: su encuesta va a {residents} vecinos de la zona {zone} y cierra en {days} días. "
    "Vea los votos con RESULTADOS."
)
NOTICE_SENT = N_("Listo: su aviso va a {residents} vecinos de la zona {zone}.")
AT_NIGHT = N_("Es de noche: sale a las {time}.")
NO_POLLS_YET = N_("Usted no creó encuestas todavía. Para crear una, escriba ENCUESTA.")
RESULT_OPEN = N_("{poll} (abierta): {counts}. Votaron {votes} de {eligible}.")
RESULT_CLOSED = N_("{poll} (cerrada): {counts}. Votaron {votes} de {eligible}.")
MORE_POLLS = N_("MAS: la anterior encuesta")
NO_MORE_POLLS = N_("No hay más encuestas suyas.")
NOT_A_LEADER = N_("Este número ya no figura como dirigente de una junta vecinal.")
# AYUDA from a leader: the commands used most, then MAS for the rest (all in one SMS would not
# fit).
LEADER_HELP = N_(
    "Dirigente de {zone}: ENCUESTA crea una encuesta; AVISO, un aviso. MAS: otras órdenes. "
    "MENU: opciones. BAJA: no recibir mensajes."
)
LEADER_HELP_MORE = N_(
    "Dirigente de {zone}: RESULTADOS, los votos; INFO EDITAR, la información de la zona; "
    "OFERTAS, ofertas por revisar; MAPEO, los jóvenes mapeadores."
)
DAILY_LIMIT_REACHED = N_(
    "Hoy ya envió {n} mensajes a su zona, el máximo por día. Podrá enviar otro mañana."
)

# What a leader types (normalised) -> the flow it starts.
COMMANDS = {
    "encuesta": FlowName.LEADER_POLL,
    "nueva encuesta": FlowName.LEADER_POLL,
    "aviso": FlowName.LEADER_NOTICE,
    "nuevo aviso": FlowName.LEADER_NOTICE,
    "resultados": FlowName.LEADER_RESULTS,
    "resultado": FlowName.LEADER_RESULTS,
    **leader_info.COMMANDS,
    **leader_offers.COMMANDS,
}
# Polls and notices one leader may send per La Paz day: each reaches the whole zona, so a
# slip on a basic phone must not cost the municipality a zona's worth of SMS again and again.
MIN_OPTIONS, MAX_OPTIONS = 2, 9
MAX_DAYS = 14
# A leader's message may take a few SMS, never more: the cost is per resident of the zona.
MAX_SEGMENTS = 3
MAX_LABEL = 200  # PollOption.label_es
# RESULTADOS tries these in turn until it fits one SMS: (characters of the question, of each
# option's label, 0 for its number instead; percentages shown).
RESULT_FITS = (
    (60, 20, True),
    (40, 20, True),
    (25, 20, True),
    (40, 12, True),
    (25, 12, True),
    (15, 10, True),
    (15, 6, True),
    (25, 8, False),
    (15, 0, False),
)

DAY_WORDS = {"dia", "dias", "uru", "urunaka"}
_SEPARATORS = re.compile(r"[,/;\n]")


def command(turn: Turn) -> str | None:
    """The leader flow this text starts: only a leader's ENCUESTA, AVISO or RESULTADOS."""
    name = COMMANDS.get(turn.norm)
    if name is None or turn.resident.phone is None:
        return None
    return name if leader_for(turn.session, turn.resident.phone) is not None else None


def _leader(turn: Turn) -> tuple[Leader, Zone] | None:
    return leading(turn.session, turn.resident.phone)


def is_leader(turn: Turn) -> bool:
    return _leader(turn) is not None


def begin_help(turn: Turn) -> StepResult:
    """What AYUDA tells a leader: the main commands, and MAS for the others."""
    found = _leader(turn)
    if found is None:
        return _not_a_leader()
    return StepResult([Reply(LEADER_HELP, {"zone": found[1].name})], "more", {})


def on_help_more(turn: Turn) -> StepResult:
    found = _leader(turn)
    if is_more(turn.norm) and found is not None:
        return StepResult([Reply(LEADER_HELP_MORE, {"zone": found[1].name})], None, {})
    if not turn.resident.onboarded:
        return StepResult([], None, {}, goto=FlowName.ONBOARDING)
    # Anything else leaves the help: it is read as a menu choice.
    return on_choose(turn)


def _not_a_leader() -> StepResult:
    return StepResult([Reply(NOT_A_LEADER)], None, {})


def _allowed(turn: Turn) -> tuple[Leader, Zone] | StepResult:
    """The leader and their zona, or the reply when they are none or have sent enough today."""
    found = _leader(turn)
    if found is None:
        return _not_a_leader()
    if sent_by_today(turn.session, found[0].id, turn.now) >= DAILY_LIMIT:
        return StepResult([Reply(DAILY_LIMIT_REACHED, {"n": DAILY_LIMIT})], None, {})
    return found


def _keep(turn: Turn, **new: Any) -> dict[str, Any]:
    """The flow's slots with new values; a good answer clears the count of misses."""
    return {**{k: v for k, v in turn.slots.items() if k != "_misses"}, **new}


def _notice(zone: Zone, text: str) -> Content:
    return Content(kind="notice", text_es=text, text_ay=text, zone=zone.name)


def _poll(question: str, options: list[str]) -> Content:
    """A poll broadcast's content before the poll exists (a transient Poll, never added)."""
    poll = Poll(question_es=question, question_ay=question)
    poll.options = [
        PollOption(position=i, label_es=label, label_ay=label)
        for i, label in enumerate(options, start=1)
    ]
    return Content(kind="poll", text_es=question, text_ay=question, poll=poll)


def _cost(content: Content) -> int:
    """SMS segments each resident's message takes, exactly as sent: the worse language."""
    return max(segments(render_broadcast(content, lang, "sms")) for lang in LANGUAGES)


def _preview(turn: Turn, content: Content, cost: int) -> list[Reply]:
    """The message as residents of the leader's language will read it, and what it costs."""
    return [framed(content, turn.lang), Reply(COST, {"n": cost})]


def _target(zone: Zone) -> Target:
    """The leader's zona and nothing else, whatever the leader wrote."""
    return Target(f"zona:{zone.name}", False, frozenset({zone.id}))


def _sent(turn: Turn, message: Reply) -> StepResult:
    replies = [message]
    due = turn.quiet_hours.defer(turn.now)
    if due > turn.now:
        replies.append(Reply(AT_NIGHT, {"time": f"{due.astimezone(LA_PAZ):%H:%M}"}))
    return StepResult(replies, None, {})


def _confirmed(turn: Turn) -> bool | None:
    """True to send, False not to, None when the answer is neither."""
    return yes_or_no(turn.norm, yes=SEND, no=DONT_SEND)


# --- ENCUESTA ----------------------------------------------------------------------------


def begin_poll(turn: Turn) -> StepResult:
    found = _allowed(turn)
    if isinstance(found, StepResult):
        return found
    return StepResult([Reply(ASK_QUESTION, {"zone": found[1].name})], "question", {})


def on_question(turn: Turn) -> StepResult:
    if not has_words(turn.text):
        return stay(turn, Reply(WITH_WORDS))
    cost = _cost(_poll(turn.text, ["Si", "No"]))
    if cost > MAX_SEGMENTS:
        return stay(turn, Reply(TOO_LONG, {"n": cost}))
    return StepResult([Reply(ASK_OPTIONS)], "options", _keep(turn, question=turn.text))


def parse_options(text: str) -> list[str] | None:
    """'Sí, No / Tal vez' -> ['Sí', 'No', 'Tal vez']; None unless 2-9 distinct options.

    When a leader numbered every option in order ('1 Sí, 2 No'), the numbers are dropped:
    residents see them added anyway.
    """
    labels = [part.strip() for part in _SEPARATORS.split(text) if part.strip()]
    numbered = [
        re.fullmatch(rf"{position}(?!\d)\s*[.):-]?\s*(.*\S)", label)
        for position, label in enumerate(labels, start=1)
    ]
    if all(numbered):
        labels = [match.group(1) for match in numbered if match]
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        return None
    if len({normalize(label) for label in labels}) != len(labels):
        return None
    if any(not has_words(label) or len(label) > MAX_LABEL for label in labels):
        return None
    return labels


def on_options(turn: Turn) -> StepResult:
    options = parse_options(turn.text)
    if options is None:
        return stay(turn, Reply(BAD_OPTIONS))
    cost = _cost(_poll(str(turn.slots["question"]), options))
    if cost > MAX_SEGMENTS:
        return stay(turn, Reply(TOO_LONG, {"n": cost}))
    return StepResult([Reply(ASK_DAYS)], "days", _keep(turn, options=options))


def parse_days(text: str) -> int | None:
    """'5', 'cinco', '5 días', 'phisqa uru' -> 5; None outside 1-14."""
    words = normalize(text).split()
    if len(words) == 2 and words[1] in DAY_WORDS:
        text = words[0]
    days = parse_option(text, MAX_DAYS)
    return days if days else None


def on_days(turn: Turn) -> StepResult:
    days = parse_days(turn.text)
    if days is None:
        return stay(turn, Reply(BAD_DAYS))
    content = _poll(str(turn.slots["question"]), list(turn.slots["options"]))
    return StepResult(_preview(turn, content, _cost(content)), "confirm", _keep(turn, days=days))


def on_poll_confirm(turn: Turn) -> StepResult:
    send = _confirmed(turn)
    if send is None:
        return stay(turn, Reply(CONFIRM_AGAIN))
    if not send:
        return StepResult([Reply(NOT_SENT)], None, {})
    found = _allowed(turn)
    if isinstance(found, StepResult):
        return found
    leader, zone = found
    slots = turn.slots
    question, options, days = str(slots["question"]), list(slots["options"]), int(slots["days"])
    poll = poll_store.create_poll(
        turn.session,
        question_es=question,
        question_ay=question,
        options=[(label, label) for label in options],
        target=_target(zone),
        closes_at=turn.now + timedelta(days=days),
        created_by=turn.resident.id,
        now=turn.now,
    )
    broadcast = create_broadcast(
        turn.session,
        kind="poll",
        target=_target(zone),
        text_es=question,
        text_ay=question,
        poll_id=poll.id,
        created_by=turn.resident.id,
        leader_id=leader.id,
        quiet_hours=turn.quiet_hours,
        now=turn.now,
    )
    return _sent(
        turn,
        Reply(POLL_SENT, {"residents": broadcast.recipients, "zone": zone.name, "days": days}),
    )


POLL_FLOW = Flow(
    name=FlowName.LEADER_POLL,
    begin=begin_poll,
    steps={
        "question": on_question,
        "options": on_options,
        "days": on_days,
        "confirm": on_poll_confirm,
    },
)


# --- AVISO -------------------------------------------------------------------------------


def begin_notice(turn: Turn) -> StepResult:
    found = _allowed(turn)
    if isinstance(found, StepResult):
        return found
    return StepResult([Reply(ASK_NOTICE, {"zone": found[1].name})], "text", {})


def on_notice_text(turn: Turn) -> StepResult:
    if not has_words(turn.text):
        return stay(turn, Reply(WITH_WORDS))
    found = _leader(turn)
    if found is None:
        return _not_a_leader()
    content = _notice(found[1], turn.text)
    cost = _cost(content)
    if cost > MAX_SEGMENTS:
        return stay(turn, Reply(TOO_LONG, {"n": cost}))
    return StepResult(_preview(turn, content, cost), "confirm", _keep(turn, text=turn.text))


def on_notice_confirm(turn: Turn) -> StepResult:
    send = _confirmed(turn)
    if send is None:
        return stay(turn, Reply(CONFIRM_AGAIN))
    if not send:
        return StepResult([Reply(NOT_SENT)], None, {})
    found = _allowed(turn)
    if isinstance(found, StepResult):
        return found
    leader, zone = found
    text = str(turn.slots["text"])
    broadcast = create_broadcast(
        turn.session,
        kind="notice",
        target=_target(zone),
        text_es=text,
        text_ay=text,
        created_by=turn.resident.id,
        leader_id=leader.id,
        quiet_hours=turn.quiet_hours,
        now=turn.now,
    )
    return _sent(turn, Reply(NOTICE_SENT, {"residents": broadcast.recipients, "zone": zone.name}))


NOTICE_FLOW = Flow(
    name=FlowName.LEADER_NOTICE,
    begin=begin_notice,
    steps={"text": on_notice_text, "confirm": on_notice_confirm},
)


# --- RESULTADOS --------------------------------------------------------------------------


def _result(turn: Turn, offset: int) -> StepResult | None:
    """The leader's poll at this offset (latest first) in one SMS; None when there is none."""
    polls = poll_store.polls_created_by(turn.session, turn.resident.id, offset, 2)
    if not polls:
        return None
    poll = polls[0]
    frame = RESULT_OPEN if poll.is_open(turn.now) else RESULT_CLOSED
    question = question_text(poll, turn.lang)
    res = poll_store.results(turn.session, poll)
    more = [Reply(MORE_POLLS)] if len(polls) > 1 else []

    # Shorten the question and the option labels, then drop percentages, until it fits one SMS.
    def build(fit: tuple[int, int, bool]) -> list[Reply]:
        question_chars, label_chars, shares = fit
        values = {
            "poll": quote(question, question_chars),
            **counts(res, turn.lang, label_chars, shares),
        }
        return [Reply(frame, values), *more]

    replies = fit_one_sms(turn.lang, RESULT_FITS, build)[1]
    return StepResult(replies, "more", {"offset": offset + 1})


def begin_results(turn: Turn) -> StepResult:
    return _result(turn, 0) or StepResult([Reply(NO_POLLS_YET)], None, {})


def on_more(turn: Turn) -> StepResult:
    if is_more(turn.norm):
        return _result(turn, int(turn.slots.get("offset", 1))) or StepResult(
            [Reply(NO_MORE_POLLS)], None, {}
        )
    if not turn.resident.onboarded:
        return StepResult([], None, {}, goto=FlowName.ONBOARDING)
    # Anything else leaves the results: it is read as a menu choice.
    return on_choose(turn)


RESULTS_FLOW = Flow(name=FlowName.LEADER_RESULTS, begin=begin_results, steps={"more": on_more})

HELP_FLOW = Flow(name=FlowName.LEADER_HELP, begin=begin_help, steps={"more": on_help_more})

FLOWS = (
    POLL_FLOW,
    NOTICE_FLOW,
    RESULTS_FLOW,
    HELP_FLOW,
    leader_info.FLOW,
    leader_offers.FLOW,
)
FLOW_NAMES = frozenset(flow.name for flow in FLOWS)
