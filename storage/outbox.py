"""The transactional outbox: messages and jobs written in the caller's transaction.

The worker's relay hands outbox rows to RQ later, so Redis being down delays, never loses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import OutboundMessage, OutboxEntry, Resident


def add_outbox(
    session: Session, job: str, *args: Any, not_before: datetime | None = None
) -> OutboxEntry:
    """Write an outbox row in the caller's transaction; the relay hands it to RQ later."""
    entry = OutboxEntry(job=job, args=list(args), not_before=not_before)
    session.add(entry)
    session.flush()
    return entry


def queue_message(
    session: Session, resident: Resident, body: str, *, channel: str | None = None
) -> OutboundMessage:
    """Write a message and its outbox row in the caller's transaction (sent by a worker later)."""
    channel = channel or resident.last_channel or "sms"
    address = resident.phone if channel == "sms" else f"whatsapp:{resident.phone}"
    message = OutboundMessage(
        resident_id=resident.id, to_address=address, channel=channel, body=body
    )
    session.add(message)
    session.flush()
    add_outbox(session, "send_message", message.id)
    return message
