"""Conversation flows: plain data and functions, registered by name.

Flows take text and state and return replies; they never import Twilio, Flask or RQ.
"""

from __future__ import annotations

from bot.flows import account, onboarding
from bot.flows.base import Flow, Reply, StepResult, Turn

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        onboarding.FLOW,
        account.MENU_FLOW,
        account.LANGUAGE_FLOW,
        account.ERASE_FLOW,
    )
}

__all__ = ["FLOWS", "Flow", "Reply", "StepResult", "Turn"]
