"""Statuses stored as strings: the enum values are the stored strings, so no row changes."""

from __future__ import annotations

from enum import StrEnum


class ResidentStatus(StrEnum):
    """onboarding -> active; opted_out keeps the phone so we never write to it; erased."""

    ONBOARDING = "onboarding"
    ACTIVE = "active"
    OPTED_OUT = "opted_out"
    ERASED = "erased"


class ReportStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
