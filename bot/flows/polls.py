"""Polls: the open ones for the resident's zona and the city; one vote per person, live results."""

from __future__ import annotations

from typing import Any

from bot.channels import quote
from bot.flows.answers import is_more
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.i18n import N_
from bot.outbound import numbered_options, option_label, question_text
from bot.render import Reply
from bot.text import normalize, parse_option
from storage import polls as store
from storage.conversations import Expectation
from storage.models import Poll, PollOption

NO_POLLS = N_("No hay encuestas abiertas para su zona ahora.")
PICK = N_("Encuestas abiertas: {items}. Responda con el número.")
PICK_MORE = N_("MAS: más encuestas")
NO_MORE_POLLS = N_("No hay más encuestas abiertas.")
QUESTION = N_("{question} {options}. Responda con el número.")
CLOSED = N_("Esta encuesta ya cerró. {results}")
RESULTS = N_("Resultados: {counts}. Votaron {votes} de {eligible} vecinos.")
THANKS = N_("Gracias, su voto cuenta. {results}")
CHANGED = N_("Cambiamos su voto. {results}")
NOT_FOR_YOU = N_("Esta encuesta es para otra zona.")

# (open polls listed, characters of each question): the first that fits one SMS is used.
PICK_FITS = ((5, 30), (5, 20), (4, 20), (3, 20), (3, 12))


def question(turn: Turn, poll: Poll) -> Reply:
    options = numbered_options(poll, turn.lang)
    return Reply(QUESTION, {"question": question_text(poll, turn.lang), "options": options})


def counts(res: store.Results, lang: str, label_chars: int, shares: bool = True) -> dict[str, Any]:
    """Live results as residents see them: each option's label cut to `label_chars` (0: its
    number stands for it), its votes and, with `shares`, its percentage."""
    parts = []
    for option, count in res.counts:
        label = (
            quote(option_label(option, lang), label_chars) if label_chars else f"{option.position}:"
        )
        share = f" ({round(100 * count / res.votes) if res.votes else 0}%)" if shares else ""
        parts.append(f"{label} {count}{share}")
    return {"counts": ", ".join(parts), "votes": res.votes, "eligible": res.eligible}


# (characters of each option's label, percentages shown), fullest first: the first that lets
# the reply fit one SMS is used, however many options the poll has.
COUNT_FITS = ((20, True), (12, True), (8, True), (8, False), (0, False))


def with_results(turn: Turn, poll: Poll, message: str) -> list[Reply]:
    """`message` (a text with a {results} place) and the poll's results, in one SMS."""
    res = store.results(turn.session, poll)

    def build(fit: tuple[int, bool]) -> list[Reply]:
        return [Reply(message, {"results": Reply(RESULTS, counts(res, turn.lang, *fit))})]

    return fit_one_sms(turn.lang, COUNT_FITS, build)[1]


def begin(turn: Turn) -> StepResult:
    polls = store.open_polls(turn.session, turn.resident.zone_id, turn.now)
    if not polls:
        return StepResult([Reply(NO_POLLS)], None, {}, goto=FlowName.MENU)
    if len(polls) == 1:
        return StepResult([question(turn, polls[0])], "vote", {"poll": polls[0].id})
    return _pick_page(turn, polls, 0)


def _pick_page(turn: Turn, polls: list[Poll], start: int) -> StepResult:
    """The open polls from `start` on (newest first, open_polls' order), numbered from 1, as
    many as fit one SMS, with MAS when there are more."""
    rest = polls[start:]

    def build(fit: tuple[int, int]) -> list[Reply]:
        count, chars = fit
        items = ", ".join(
            f"{i} {quote(question_text(p, turn.lang), chars)}"
            for i, p in enumerate(rest[:count], 1)
        )
        more = [Reply(PICK_MORE)] if len(rest) > count else []
        return [Reply(PICK, {"items": items}), *more]

    (count, _), replies = fit_one_sms(turn.lang, PICK_FITS, build)
    return StepResult(replies, "pick", {"polls": [p.id for p in rest[:count]], "start": start})


def on_pick(turn: Turn) -> StepResult:
    ids: list[int] = turn.slots.get("polls", [])
    start = int(turn.slots.get("start", 0))
    option = parse_option(turn.text, len(ids))
    poll = store.get_poll(turn.session, ids[option - 1]) if option else None
    if poll is not None:
        return StepResult([question(turn, poll)], "vote", {"poll": poll.id})
    polls = store.open_polls(turn.session, turn.resident.zone_id, turn.now)
    if is_more(turn.norm):
        if start + len(ids) >= len(polls):
            return StepResult([Reply(NO_MORE_POLLS)], "pick")  # a number still picks
        return _pick_page(turn, polls, start + len(ids))
    if not polls:
        return StepResult([Reply(NO_POLLS)], None, {}, goto=FlowName.MENU)
    page = _pick_page(turn, polls, min(start, len(polls) - 1))
    return StepResult(page.replies, "pick", page.slots, miss=True)  # the same page again


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
        return StepResult(with_results(turn, poll, CLOSED), None, {})
    if not store.may_answer(turn.session, poll, turn.resident):
        return StepResult([Reply(NOT_FOR_YOU)], None, {})
    option = pick_option(turn, poll)
    if option is None:
        return None
    new = store.cast_vote(turn.session, poll, turn.resident, option, turn.now)
    return StepResult(with_results(turn, poll, THANKS if new else CHANGED), None, {})


def on_vote(turn: Turn) -> StepResult:
    poll = store.get_poll(turn.session, turn.slots.get("poll"))
    if poll is None:
        return StepResult([Reply(NO_POLLS)], None, {}, goto=FlowName.MENU)
    result = vote(turn, poll)
    return result if result is not None else stay(turn, question(turn, poll))


def answer_invitation(turn: Turn, expect: Expectation) -> StepResult | None:
    """A bare reply to a poll invitation we sent is an answer to that poll."""
    poll = store.get_poll(turn.session, expect.id)
    if poll is None:
        return None
    if not poll.is_open(turn.now):
        # Only a reply that looks like an option is about this poll.
        if pick_option(turn, poll) is None:
            return None
    return vote(turn, poll)


FLOW = Flow(name=FlowName.POLLS, begin=begin, steps={"pick": on_pick, "vote": on_vote})
