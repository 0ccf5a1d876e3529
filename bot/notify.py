"""Messages we start (not replies): rendered for the resident, written to the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.flows.base import Reply
from bot.render import render
from storage.models import OutboundMessage, Resident, aware, utcnow
from storage.queries import queue_message

# WhatsApp only accepts a free-form message we start within 24 hours of the resident's last
# WhatsApp message (outside it Twilio fails with 63016 and wants an approved template).
WHATSAPP_WINDOW = timedelta(hours=24)


def channel_for(resident: Resident, now: datetime | None = None) -> str:
    """WhatsApp while its 24-hour window is open, SMS (same phone) otherwise."""
    if (resident.last_channel or "sms") != "whatsapp":
        return "sms"
    last = resident.whatsapp_last_inbound_at
    if last is None:
        return "sms"
    return "whatsapp" if (now or utcnow()) - aware(last) < WHATSAPP_WINDOW else "sms"


def notify(
    session: Session,
    resident: Resident,
    replies: list[Reply],
    *,
    topic: str,
    fold: bool = True,
    now: datetime | None = None,
) -> OutboundMessage | None:
    """Queue a message for a resident who is active and wants this topic; None otherwise.

    Runs in the caller's transaction: the change and its message are committed together.
    """
    if resident.status != "active" or not resident.phone or topic not in (resident.topics or []):
        return None
    channel = channel_for(resident, now)
    body = render(replies, resident.language, channel, fold=fold)
    return queue_message(session, resident, body, channel=channel)
