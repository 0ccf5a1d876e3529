"""Conversation flows: plain data and functions, registered by name.

Flows take text and state and return replies; they never import Twilio, Flask or RQ.
"""

from __future__ import annotations

from bot.flows import (
    account,
    barrio,
    courses,
    info,
    leader,
    mapping,
    menu,
    news,
    onboarding,
    polls,
    profile,
    reports,
    services,
)
from bot.flows.base import Flow, FlowName, StepResult, Turn
from bot.render import ListOf, Reply

FLOWS: dict[str, Flow] = {  # by FlowName
    flow.name: flow
    for flow in (
        onboarding.FLOW,
        menu.FLOW,
        account.LANGUAGE_FLOW,
        account.ERASE_FLOW,
        reports.FLOW,
        reports.MY_REPORTS_FLOW,
        polls.FLOW,
        news.FLOW,
        profile.FLOW,
        info.FLOW,
        barrio.FLOW,
        services.OFFER_FLOW,
        services.SEARCH_FLOW,
        courses.FLOW,
        courses.QUESTION_FLOW,
        *leader.FLOWS,
        mapping.FLOW,
        mapping.LEADER_FLOW,
    )
}

__all__ = [
    "FLOWS",
    "Flow",
    "FlowName",
    "ListOf",
    "Reply",
    "StepResult",
    "Turn",
    "account",
    "courses",
    "leader",
    "mapping",
    "menu",
    "polls",
    "reports",
]
