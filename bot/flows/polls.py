"""Polls: the open ones for the resident's zona and the city; one vote per person, live results."""

from __future__ import annotations

from typing import Any

from bot.channels import quote
from bot.flows.base import Flow, Reply, StepResult, Turn, sms_segments, stay
from bot.i18n import N_, in_language
from bot.text import normalize, parse_option
from storage import polls as store
from storage.models import Poll, PollOption

NO_POLLS = N_("No hay encuestas abiertas para su zona ahora.")
PICK = N_("Encuestas abiertas: {items}. Responda con el número.")
QUESTION = N_("{question} {options}. Responda con el número.")
CLOSED = N_("Esta encuesta ya cerró. {results}")
RESULTS = N_("Resultados: {counts}. Votaron {votes} de {eligible} vecinos.")
THANKS = N_("Gracias, su voto cuenta. {results}")
CHANGED = N_("Cambiamos su voto. {results}")
NOT_FOR_YOU = N_("Esta encuesta es para otra zona.")

# (open polls listed, characters of each question): the first that fits one SMS is used.
PICK_FITS = ((5, 30), (5, 20), (4, 20), (3, 20), (3, 12))


def question_text(poll: Poll, lang: str) -> str:
    return in_language(lang, poll.question_es, poll.question_ay)


def option_label(option: PollOption, lang: str) -> str:
    return in_language(lang, option.label_es, option.label_ay)


def question(turn: Turn, poll: Poll) -> Reply:
    options = ", ".join(
        f"{i} {option_label(o, turn.lang)}" for i, o in enumerate(poll.options, start=1)
    )
    return Reply(QUESTION, {"question": question_text(poll, turn.lang), "options": options})


def results_reply(turn: Turn, poll: Poll) -> Reply:
    res = store.results(turn.session, poll)
    parts = []
    for option, count in res.counts:
        share = round(100 * count / res.votes) if res.votes else 0
        parts.append(f"{quote(option_label(option, turn.lang), 20)} {count} ({share}%)")
    return Reply(
        RESULTS, {"counts": ", ".join(parts), "votes": res.votes, "eligible": res.eligible}
    )


def begin(turn: Turn) -> StepResult:
    polls = store.open_polls(turn.session, turn.resident.zone_id, turn.now)
    if not polls:
        return StepResult([Reply(NO_POLLS)], None, {}, goto="menu")
    if len(polls) == 1:
        return StepResult([question(turn, polls[0])], "vote", {"poll": polls[0].id})
    for count, chars in PICK_FITS:  # the newest first: open_polls' order
        shown = polls[:count]
        items = ", ".join(
            f"{i} {quote(question_text(p, turn.lang), chars)}" for i, p in enumerate(shown, 1)
        )
        replies = [Reply(PICK, {"items": items})]
        if sms_segments(replies, turn.lang) == 1:
            break
    return StepResult(replies, "pick", {"polls": [p.id for p in shown]})


def on_pick(turn: Turn) -> StepResult:
    ids: list[int] = turn.slots.get("polls", [])
    option = parse_option(turn.text, len(ids))
    poll = turn.session.get(Poll, ids[option - 1]) if option else None
    if poll is None:
        return stay(turn, *begin(turn).replies)
    return StepResult([question(turn, poll)], "vote", {"poll": poll.id})


def pick_option(turn: Turn, poll: Poll) -> PollOption | None:
    """The option a resident meant: its number, or its text in either language."""
    number = parse_option(turn.text, len(poll.options))
    if number:
        return poll.options[number - 1]
    for option in poll.options:
        labels = {normalize(option.label_es), normalize(option.label_ay or "")}
        if turn.norm and turn.norm in labels:
            return option
    return None


def vote(turn: Turn, poll: Poll) -> StepResult | None:
    """Cast the resident's vote from this turn's text; None when the text is no option."""
    if not poll.is_open(turn.now):
        return StepResult([Reply(CLOSED, {"results": results_reply(turn, poll)})], None, {})
    if not store.may_answer(turn.session, poll, turn.resident):
        return StepResult([Reply(NOT_FOR_YOU)], None, {})
    option = pick_option(turn, poll)
    if option is None:
        return None
    new = store.cast_vote(turn.session, poll, turn.resident, option)
    turn.session.flush()
    return StepResult(
        [Reply(THANKS if new else CHANGED, {"results": results_reply(turn, poll)})], None, {}
    )


def on_vote(turn: Turn) -> StepResult:
    poll = turn.session.get(Poll, turn.slots.get("poll"))
    if poll is None:
        return StepResult([Reply(NO_POLLS)], None, {}, goto="menu")
    result = vote(turn, poll)
    return result if result is not None else stay(turn, question(turn, poll))


def answer_invitation(turn: Turn, expect: dict[str, Any]) -> StepResult | None:
    """A bare reply to a poll invitation we sent is an answer to that poll."""
    poll = turn.session.get(Poll, expect.get("id"))
    if poll is None:
        return None
    if not poll.is_open(turn.now):
        # Only a reply that looks like an option is about this poll.
        if pick_option(turn, poll) is None:
            return None
    return vote(turn, poll)


FLOW = Flow(name="polls", begin=begin, steps={"pick": on_pick, "vote": on_vote})
