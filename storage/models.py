"""SQLAlchemy 2 models. Times are stored in UTC; America/La_Paz is only for display."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LANGUAGES = ("es", "ay")
# What a resident can choose to receive; all on by default.
TOPICS = ("announcements", "polls", "news", "reports")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Macrodistrict(Base):
    """One of La Paz's macrodistritos, each with a subalcaldía of the same name."""

    __tablename__ = "macrodistricts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    zones: Mapped[list[Zone]] = relationship(back_populates="macrodistrict", order_by="Zone.name")


class Zone(Base):
    """A zona (the area of a junta vecinal): where residents sign up."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("macrodistrict_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    macrodistrict_id: Mapped[int] = mapped_column(ForeignKey("macrodistricts.id"), index=True)
    district: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="urbano")

    macrodistrict: Mapped[Macrodistrict] = relationship(back_populates="zones")


class Resident(Base):
    """One person, whatever channel they write from (SMS and WhatsApp share the phone).

    status: onboarding -> active; opted_out (suppressed, phone kept so we never message them);
    erased (personal data removed on request; the row stays as an anonymous aggregate).
    """

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    language: Mapped[str | None] = mapped_column(String(2))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="onboarding", index=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(TOPICS))
    last_channel: Mapped[str] = mapped_column(String(10), default="sms")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    whatsapp_last_inbound_at: Mapped[datetime | None]

    zone: Mapped[Zone | None] = relationship()
    conversation: Mapped[Conversation | None] = relationship(
        back_populates="resident", cascade="all, delete-orphan", uselist=False
    )

    @property
    def onboarded(self) -> bool:
        return self.consent_at is not None


class Conversation(Base):
    """Where a resident is in a flow: one row per resident, loaded under a lock per message."""

    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    resident: Mapped[Resident] = relationship(back_populates="conversation")


class ReceivedMessage(Base):
    """Every message Twilio delivered to us, once per MessageSid, with the reply we gave."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    replies: Mapped[list[str] | None] = mapped_column(JSON)


class OutboundMessage(Base):
    """A message we send ourselves (not a TwiML reply), tracked to its final status."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    to_address: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxEntry(Base):
    """Transactional outbox: written with the change that causes a message, relayed to RQ."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "relayed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    relayed_at: Mapped[datetime | None]
