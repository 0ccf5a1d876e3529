"""The conversation engine: global keywords first, then the resident's flow, state saved per turn.

handle_inbound runs inside the caller's transaction (the webhook or `mibarrio chat`), with the
resident's row locked, so two texts from one phone are applied one after the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.flows import (
    FLOWS,
    FlowName,
    StepResult,
    Turn,
    account,
    courses,
    leader,
    mapping,
    menu,
    onboarding,
    polls,
    reports,
)
from bot.i18n import keywords
from bot.render import Reply, render, text_of
from bot.text import normalize
from storage import conversations, residents
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.conversations import Expectation, ExpectKind
from storage.enums import ResidentStatus
from storage.models import aware, utcnow

log = logging.getLogger(__name__)

# Safety net: a flow that keeps jumping to another flow is a bug, not a conversation.
MAX_GOTOS = 4
# Re-prompts before a resident is taken back to the menu.
MAX_MISSES = 3


@dataclass(frozen=True)
class InboundMessage:
    """One message as the engine sees it, whatever transport it came by."""

    phone: str  # E.164
    channel: str  # "sms" | "whatsapp"
    body: str = ""
    media: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None


@dataclass(frozen=True)
class Flood:
    """How many texts one phone may send within a window and still be answered."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class Handled:
    replies: list[Reply]
    language: str | None  # None: the resident has not chosen yet
    resident_id: int | None  # None: the resident's row was removed (declined consent)
    forget: bool = False  # personal data was removed in this turn: keep nothing of it


def handle_inbound(
    session: Session,
    msg: InboundMessage,
    *,
    now: datetime | None = None,
    flow_timeout: timedelta = timedelta(minutes=30),
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS,
    flood: Flood | None = None,
) -> Handled:
    """Apply one inbound message to the sender's conversation and return the replies."""
    now = now or utcnow()
    resident = conversations.lock_resident(session, msg.phone)
    previous_inbound = resident.last_inbound_at
    resident.last_inbound_at = now
    resident.last_channel = msg.channel
    if msg.channel == "whatsapp":
        resident.whatsapp_last_inbound_at = now
    conv = conversations.conversation_for(session, resident)
    text = (msg.body or "").strip()
    turn = Turn(
        session=session,
        resident=resident,
        conversation=conv,
        channel=msg.channel,
        text=text,
        norm=normalize(text),
        now=now,
        media=list(msg.media),
        latitude=msg.latitude,
        longitude=msg.longitude,
        address=msg.address,
        quiet_hours=quiet_hours,
    )
    held = _over_flood_limit(turn, flood, previous_inbound)
    replies = held if held is not None else _dispatch(turn, flow_timeout)
    # Read after the turn: the resident may just have chosen (or changed) their language.
    kept = resident in session
    forget = not kept or resident.status == ResidentStatus.ERASED
    return Handled(
        replies,
        resident.language,
        resident.id if kept else None,
        forget,
    )


def _over_flood_limit(
    turn: Turn, flood: Flood | None, previous_inbound: datetime | None
) -> list[Reply] | None:
    """None when the text is to be answered as usual; for a text past the flood limit, what it
    gets instead: one notice per window, then nothing. The text itself is kept by the caller.

    Counted in the database (the phone's message rows within the window), under the turn's lock,
    so it holds with Redis down and with texts racing each other. A phone whose previous text is
    older than the window costs no count. An opt-out still opts out and is confirmed; from
    someone already opted out it changes nothing and, past the limit, is not answered, so a bot
    answering every reply with STOP falls silent like any other loop.
    """
    if flood is None or flood.limit <= 0 or flood.window <= timedelta(0):
        return None
    since = turn.now - flood.window
    if previous_inbound is None or aware(previous_inbound) <= since:
        return None
    resident, conv = turn.resident, turn.conversation
    recent = conversations.count_inbound_since(turn.session, resident.id, since, flood.limit)
    if recent < flood.limit:
        return None
    if keywords.keyword(turn.norm) == "optout" and resident.status != ResidentStatus.OPTED_OUT:
        return None
    noticed = conv.flood_noticed_at
    if noticed is not None and aware(noticed) > since:
        return []
    conv.flood_noticed_at = turn.now
    log.info("resident %s is over the flood limit: texts kept unanswered", resident.id)
    return [Reply(account.FLOODED, bilingual=resident.language is None)]


def _dispatch(turn: Turn, flow_timeout: timedelta) -> list[Reply]:
    resident, conv = turn.resident, turn.conversation
    kw = keywords.keyword(turn.norm)

    if resident.status == ResidentStatus.OPTED_OUT:
        if kw == "optin":
            resident.status = (
                ResidentStatus.ACTIVE if resident.onboarded else ResidentStatus.ONBOARDING
            )
            resident.opted_out_at = None
            if resident.onboarded:
                return [Reply(account.OPTED_IN), *_start(turn, FlowName.MENU)]
            return _start(turn, FlowName.ONBOARDING)
        if kw == "erase":
            return _start(turn, FlowName.ERASE)
        if conv.flow == "erase":
            return _continue(turn, flow_timeout)
        return [Reply(account.STILL_OPTED_OUT, bilingual=resident.language is None)]
    if kw == "optin":
        # ALTA (and Twilio's YES) mean something only to someone who opted out; to anyone else
        # it is an answer like any other: "yes" confirms a leader's message.
        kw = None

    if kw == "optout":
        resident.status = ResidentStatus.OPTED_OUT
        resident.opted_out_at = turn.now
        conv.expect = None
        _end_flow(turn)
        return [Reply(account.OPTED_OUT, bilingual=resident.language is None)]

    if kw is None:
        led = _leader(turn, flow_timeout)
        if led is not None:
            return led
        if mapping.starts_mapping(turn):  # MAPEO wins over any flow under way, like a keyword
            return _start(turn, FlowName.MAPPING)
    elif kw == "help":
        if leader.is_leader(turn):  # a leader's AYUDA lists their commands (MAS: the rest)
            _end_flow(turn)
            return _start(turn, FlowName.LEADER_HELP)

    if not resident.onboarded:
        if kw == "erase":
            residents.erase_resident(turn.session, resident, keep_row=False)
            return [Reply(account.ERASED, bilingual=resident.language is None)]
        if conv.flow != FlowName.ONBOARDING:
            return _start(turn, FlowName.ONBOARDING)
        if kw in ("help", "info"):  # INFO is help until there is a zona to inform about
            if resident.language is None:  # still at the language choice
                return account.help_before_language()
            return [Reply(account.HELP)]
        if kw == "language":
            return _apply(turn, FlowName.ONBOARDING, onboarding.ask_language(turn))
        return _continue(turn, flow_timeout)

    if kw == "help":
        _end_flow(turn)
        return [Reply(account.HELP)]
    if kw in ("menu", "language", "erase", "info"):
        conv.expect = None  # the resident moved on from whatever we last asked
        return _start(turn, kw)
    if conv.flow and conv.flow != FlowName.MENU and conv.flow in FLOWS and conv.step:
        return _continue(turn, flow_timeout)
    answered = _expected_answer(turn)
    if answered is not None:
        return answered
    # No flow running: the text is a choice from the main menu.
    return _apply(turn, FlowName.MENU, menu.on_choose(turn))


def _leader(turn: Turn, flow_timeout: timedelta) -> list[Reply] | None:
    """A council leader's ENCUESTA, AVISO, RESULTADOS or mapping command (MAPEADOR ALTA,
    MAPEO REVISAR, APROBAR N...), or the leader flow under way.

    Before onboarding: a leader need not be a resident. For anyone who is not a leader these
    words fall through to the menu as before; global keywords never reach here.
    """
    started = leader.command(turn) or mapping.leader_command(turn)
    if started is not None:
        return _start(turn, started)
    flow = turn.conversation.flow
    if (flow in leader.FLOW_NAMES or flow == FlowName.LEADER_MAPPING) and turn.conversation.step:
        return _continue(turn, flow_timeout)
    return None


def _expected_answer(turn: Turn) -> list[Reply] | None:
    """A bare reply to something we asked outside a flow (a poll invitation, a follow-up)."""
    expect = Expectation.from_json(turn.conversation.expect)
    if expect is None:
        return None
    if expect.expired(turn.now):
        turn.conversation.expect = None
        return None
    result = EXPECTATIONS[expect.kind](turn, expect)
    if result is None:
        return None
    turn.conversation.expect = None
    return _apply(turn, FlowName.MENU, result)


EXPECTATIONS: dict[ExpectKind, Callable[[Turn, Expectation], StepResult | None]] = {
    ExpectKind.POLL: polls.answer_invitation,
    ExpectKind.FOLLOWUP: reports.answer_followup,
    ExpectKind.COURSE: courses.answer_daily_lesson,
}


def _start(turn: Turn, flow_name: str) -> list[Reply]:
    flow = FLOWS[flow_name]
    result = flow.begin(turn)
    return _apply(turn, flow_name, result)


def _continue(turn: Turn, flow_timeout: timedelta) -> list[Reply]:
    conv = turn.conversation
    flow = FLOWS[conv.flow or FlowName.MENU]
    updated = aware(conv.updated_at) if conv.updated_at is not None else None
    if flow.times_out and updated is not None and turn.now - updated > flow_timeout:
        # A stale flow gives way to an answer we are waiting for (a poll, a follow-up).
        _end_flow(turn)
        answered = _expected_answer(turn)
        if answered is not None:
            return answered
        if not turn.resident.onboarded:
            return [Reply(account.TIMED_OUT)]  # a leader who is no resident: no menu to show
        return [Reply(account.TIMED_OUT), *_start(turn, FlowName.MENU)]
    step = flow.steps.get(conv.step or "")
    if step is None:
        log.warning("unknown step %s.%s; back to the menu", conv.flow, conv.step)
        return _start(turn, FlowName.MENU)
    return _apply(turn, flow.name, step(turn))


def _apply(turn: Turn, flow_name: str, result: StepResult) -> list[Reply]:
    if result.miss:
        misses = int(turn.conversation.slots.get("_misses", 0)) + 1
        if misses >= MAX_MISSES:
            return [Reply(menu.BACK_TO_MENU), *_start(turn, FlowName.MENU)]
        result.slots = {**turn.conversation.slots, **(result.slots or {}), "_misses": misses}
    replies = list(result.replies)
    hops = 0
    while True:
        _save(turn, result, result.flow or flow_name)
        if result.goto is None or hops >= MAX_GOTOS:
            return replies
        hops += 1
        flow_name = result.goto
        result = FLOWS[flow_name].begin(turn)
        replies.extend(result.replies)


def _end_flow(turn: Turn) -> None:
    """Leave whatever flow was under way (its half-filled slots go too)."""
    _save(turn, StepResult([], None, {}), None)


def _save(turn: Turn, result: StepResult, flow_name: str | None) -> None:
    """Store where the conversation stands now (nothing if the resident's row is gone)."""
    if turn.resident.status == ResidentStatus.ERASED or turn.conversation not in turn.session:
        return
    conv = turn.conversation
    if result.next_step is None:
        conv.flow, conv.step = None, None
        conv.slots = {}
    else:
        conv.flow, conv.step = flow_name, result.next_step
        if result.slots is not None:
            conv.slots = dict(result.slots)
    conv.updated_at = turn.now


__all__ = ["Flood", "InboundMessage", "Handled", "handle_inbound", "render", "text_of"]
