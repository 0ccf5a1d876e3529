"""The shapes flows are made of: replies to render, the turn a step sees, what a step returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from bot.channels import segments
from bot.render import Reply, render
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.db import Session
from storage.models import Conversation, Resident

T = TypeVar("T")


class FlowName(StrEnum):
    """The registered flows (bot.flows.FLOWS); the values are stored in Conversation.flow."""

    ONBOARDING = "onboarding"
    MENU = "menu"
    LANGUAGE = "language"
    ERASE = "erase"
    REPORT = "report"
    MY_REPORTS = "myreports"
    POLLS = "polls"
    NEWS = "news"
    PROFILE = "profile"
    INFO = "info"
    BARRIO = "barrio"
    OFFER = "offer"
    SEARCH = "search"
    COURSES = "courses"
    COURSE_QUESTION = "course_question"
    LEADER_POLL = "leader_poll"
    LEADER_NOTICE = "leader_notice"
    LEADER_RESULTS = "leader_results"
    LEADER_INFO = "leader_info"
    LEADER_OFFERS = "leader_offers"
    LEADER_HELP = "leader_help"
    MAPPING = "mapping"
    LEADER_MAPPING = "leader_mapping"


@dataclass
class Turn:
    """Everything a step may look at for one inbound message."""

    session: Session
    resident: Resident
    conversation: Conversation
    channel: str
    text: str  # as the resident wrote it (trimmed)
    norm: str  # normalised for matching (bot.text.normalize)
    now: datetime
    media: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    # The configured QUIET_HOURS: what a leader is told about when their message goes out.
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS

    @property
    def lang(self) -> str:
        return self.resident.language or "es"

    @property
    def slots(self) -> dict[str, Any]:
        return self.conversation.slots


@dataclass
class StepResult:
    """What a step decided: replies, the next step (None ends the flow) and the new slots.

    goto names another flow to start right away (its begin() replies follow these).
    """

    replies: list[Reply]
    next_step: str | None = None
    slots: dict[str, Any] | None = None
    goto: str | None = None
    # The input was not understood: the step stays, and after three misses the engine takes
    # the resident back to the menu.
    miss: bool = False
    # The flow next_step belongs to, when a step hands over to another flow's step (the menu's
    # "choose" after a flow reads a text as a menu choice); None: the flow that ran the step.
    flow: str | None = None


def fit_one_sms(
    lang: str, fits: Iterable[T], build: Callable[[T], list[Reply]]
) -> tuple[T, list[Reply]]:
    """The first of `fits` (fullest first) whose replies, `build(fit)`, take one SMS in `lang`
    as they are sent, with those replies; the last one when none does."""
    chosen: tuple[T, list[Reply]] | None = None
    for fit in fits:
        chosen = fit, build(fit)
        if segments(render(chosen[1], lang, "sms")) == 1:
            break
    if chosen is None:
        raise ValueError("nothing to fit")
    return chosen


def stay(turn: Turn, *replies: Reply) -> StepResult:
    """Re-prompt: stay on the current step, counting a miss."""
    return StepResult(list(replies), turn.conversation.step, None, miss=True)


Step = Callable[[Turn], StepResult]


@dataclass(frozen=True)
class Flow:
    name: FlowName
    begin: Step  # entering the flow: the first prompt
    steps: Mapping[str, Step]
    # A flow that must be finished before anything else (onboarding) never times out.
    times_out: bool = True
