"""The conversation engine: global keywords first, then the resident's flow, state saved per turn.

handle_inbound runs inside the caller's transaction (the webhook or `mibarrio chat`), with the
resident's row locked, so two texts from one phone are applied one after the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot import channels, i18n
from bot.flows import FLOWS, Reply, StepResult, Turn, account
from bot.text import normalize
from storage import queries
from storage.models import utcnow

log = logging.getLogger(__name__)

# Safety net: a flow that keeps jumping to another flow is a bug, not a conversation.
MAX_GOTOS = 4


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
class Outcome:
    replies: list[Reply]
    language: str | None  # None: the resident has not chosen yet
    resident_id: int | None  # None: the resident's row was removed (declined consent)


def handle_inbound(
    session: Session,
    msg: InboundMessage,
    *,
    now: datetime | None = None,
    flow_timeout: timedelta = timedelta(minutes=30),
) -> Outcome:
    """Apply one inbound message to the sender's conversation and return the replies."""
    now = now or utcnow()
    resident, _created = queries.lock_resident(session, msg.phone)
    resident.last_inbound_at = now
    resident.last_channel = msg.channel
    if msg.channel == "whatsapp":
        resident.whatsapp_last_inbound_at = now
    conv = queries.conversation_for(session, resident)
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
    )
    replies = _dispatch(turn, flow_timeout)
    # Read after the turn: the resident may just have chosen (or changed) their language.
    kept = resident in session
    return Outcome(replies, resident.language, resident.id if kept else None)


def _dispatch(turn: Turn, flow_timeout: timedelta) -> list[Reply]:
    resident, conv = turn.resident, turn.conversation
    kw = i18n.keyword(turn.norm)

    if resident.status == "opted_out":
        if kw == "optin":
            resident.status = "active" if resident.onboarded else "onboarding"
            resident.opted_out_at = None
            if resident.onboarded:
                return [Reply(account.OPTED_IN), *_start(turn, "menu")]
            return _start(turn, "onboarding")
        if kw == "erase":
            return _start(turn, "erase")
        if conv.flow == "erase":
            return _continue(turn, flow_timeout)
        return [Reply(account.STILL_OPTED_OUT, bilingual=resident.language is None)]

    if kw == "optout":
        resident.status = "opted_out"
        resident.opted_out_at = turn.now
        _save(turn, StepResult([], None, {}), None)
        return [Reply(account.OPTED_OUT, bilingual=resident.language is None)]

    if not resident.onboarded:
        if kw == "erase":
            queries.erase_resident(turn.session, resident, keep_row=False)
            return [Reply(account.ERASED, bilingual=resident.language is None)]
        if conv.flow != "onboarding":
            return _start(turn, "onboarding")
        if kw == "help":
            return [Reply(account.HELP, bilingual=resident.language is None)]
        if kw == "language":
            return _start(turn, "onboarding")
        return _continue(turn, flow_timeout)

    if kw == "help":
        _save(turn, StepResult([], None, {}), None)
        return [Reply(account.HELP)]
    if kw == "menu":
        return _start(turn, "menu")
    if kw == "language":
        return _start(turn, "language")
    if kw == "erase":
        return _start(turn, "erase")
    if conv.flow and conv.flow in FLOWS and conv.step:
        return _continue(turn, flow_timeout)
    return [Reply(account.NOT_UNDERSTOOD), *_start(turn, "menu")]


def _start(turn: Turn, flow_name: str) -> list[Reply]:
    flow = FLOWS[flow_name]
    result = flow.begin(turn)
    return _apply(turn, flow_name, result)


def _continue(turn: Turn, flow_timeout: timedelta) -> list[Reply]:
    conv = turn.conversation
    flow = FLOWS[conv.flow or "menu"]
    updated = conv.updated_at
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    if flow.times_out and updated is not None and turn.now - updated > flow_timeout:
        return [Reply(account.TIMED_OUT), *_start(turn, "menu")]
    step = flow.steps.get(conv.step or "")
    if step is None:
        log.warning("unknown step %s.%s; back to the menu", conv.flow, conv.step)
        return _start(turn, "menu")
    return _apply(turn, flow.name, step(turn))


def _apply(turn: Turn, flow_name: str, result: StepResult) -> list[Reply]:
    replies = list(result.replies)
    hops = 0
    while True:
        _save(turn, result, flow_name)
        if result.goto is None or hops >= MAX_GOTOS:
            return replies
        hops += 1
        flow_name = result.goto
        result = FLOWS[flow_name].begin(turn)
        replies.extend(result.replies)


def _save(turn: Turn, result: StepResult, flow_name: str | None) -> None:
    """Store where the conversation stands now (nothing if the resident's row is gone)."""
    if turn.resident.status == "erased" or turn.conversation not in turn.session:
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


def render(replies: list[Reply], language: str | None, channel: str, *, fold: bool = True) -> str:
    """All of one turn's replies as one message, in the resident's language and channel."""
    parts = []
    for reply in replies:
        if reply.bilingual:
            text = "\n".join(i18n.t(lang, reply.msgid, reply.vars) for lang in i18n.LANGUAGES)
        else:
            text = i18n.t(language, reply.msgid, reply.vars)
        parts.append(text)
    return channels.render("\n".join(parts), channel, fold=fold)  # type: ignore[arg-type]
