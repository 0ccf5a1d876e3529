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


class StaffRole(StrEnum):
    """Who works in the console and the API, and how far they reach."""

    MUNICIPALITY = "municipality"  # the whole city; the only role that sees phones
    SUBALCALDIA = "subalcaldia"  # one macrodistrito
    LEADER = "leader"  # one zona (a junta vecinal)
    TRANSLATOR = "translator"  # the Aymara texts of the catalog
    VIEWER = "viewer"  # the whole city, read-only (oversight)
