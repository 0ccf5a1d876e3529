"""SQLAlchemy 2 models. Times are stored in UTC; America/La_Paz is only for display."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.enums import ReportStatus, ResidentStatus

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


def aware(moment: datetime) -> datetime:
    """In UTC (SQLite keeps a datetime's wall time and drops its offset: store UTC only)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
    # New offers (OFREZCO) wait for a leader's or staff's approval before neighbours see them.
    offers_moderated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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
    status: Mapped[str] = mapped_column(
        String(16), default=ResidentStatus.ONBOARDING.value, index=True
    )
    topics: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(TOPICS))
    last_channel: Mapped[str] = mapped_column(String(10), default="sms")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    whatsapp_last_inbound_at: Mapped[datetime | None]
    # Twilio said the number cannot receive messages (21211/21614/21635): broadcasts skip it.
    number_invalid_at: Mapped[datetime | None]

    zone: Mapped[Zone | None] = relationship()
    conversation: Mapped[Conversation | None] = relationship(
        back_populates="resident", cascade="all, delete-orphan", uselist=False
    )

    @property
    def onboarded(self) -> bool:
        return self.consent_at is not None


class ResidentZone(Base):
    """Which zona a resident had from when: figures for the past count each resident where
    they lived then, so they do not move when someone changes zona later."""

    __tablename__ = "resident_zone_history"
    __table_args__ = (Index("ix_resident_zone_history_resident_since", "resident_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Where a resident is in a flow: one row per resident, loaded under a lock per message.

    Rewritten by every text, like its resident's row: on PostgreSQL both tables keep 20% of
    each page free (migration 0005) so those updates stay on the page, touching no index.
    """

    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What a bare answer outside any flow refers to, e.g. {"kind": "poll", "id": 3,
    # "until": ISO time}: set when we send a poll invitation or a "was it fixed?" question.
    expect: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When this phone was last told it writes too fast (FLOOD_LIMIT): one notice per window.
    flood_noticed_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship(back_populates="conversation")


class ReceivedMessage(Base):
    """Every message Twilio delivered to us, once per MessageSid, with the reply we gave."""

    __tablename__ = "inbound_messages"
    # A phone's texts within the flood window are counted on every busy turn: a range of this
    # index, however long the resident's history. It also serves the foreign key.
    __table_args__ = (Index("ix_inbound_messages_resident_received", "resident_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    replies: Mapped[list[str] | None] = mapped_column(JSON)


class EarlyStatus(Base):
    """A status callback for a sid not stored yet: Twilio can answer before we write the sid.

    Kept until the sid turns up on a message or delivery (then applied, forward-only) or
    until it is too old to belong to anything we sent.
    """

    __tablename__ = "early_statuses"
    __table_args__ = (UniqueConstraint("sid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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
    # Who took it to send (as on deliveries): the sweeper resolves claims of dead workers.
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    # Sent again once after reconciliation found no trace of it at Twilio (never twice).
    resent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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


REPORT_CATEGORIES = ("agua", "alumbrado", "basura", "calles", "seguridad", "salud", "otro")
REPORT_STATUSES = tuple(status.value for status in ReportStatus)
OPEN_REPORT_STATUSES = (ReportStatus.RECEIVED.value, ReportStatus.IN_PROGRESS.value)


class Report(Base):
    """A need a resident reported, followed to resolution (received -> in progress -> resolved)."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_zone_category_status", "zone_id", "category", "status"),
        # The queue, newest first, for the city and within a zona (migration 0016).
        Index("ix_reports_created", "created_at", "id"),
        Index("ix_reports_zone_created", "zone_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    media_url: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.RECEIVED.value, index=True)
    status_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    followup_due_at: Mapped[datetime | None] = mapped_column(index=True)
    followup_sent_at: Mapped[datetime | None]
    # Recorded by a youth mapper and approved by a leader or staff (not typed in by a resident).
    mapped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    zone: Mapped[Zone | None] = relationship()
    supporters: Mapped[list[ReportSupporter]] = relationship(
        back_populates="report", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportEvent.id"
    )


class ReportSupporter(Base):
    """'Me too': another resident with the same problem, told of every change like the reporter."""

    __tablename__ = "report_supporters"
    __table_args__ = (UniqueConstraint("report_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="supporters")


class ReportEvent(Base):
    """The history of a report's status, with the municipality's note."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="municipality")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="events")


class Audience:
    """Mixin for things addressed to a target: the whole city, or a set of zonas."""

    target: Mapped[str] = mapped_column(String(400), default="all")
    citywide: Mapped[bool] = mapped_column(Boolean, default=True)


class Poll(Audience, Base):
    """A question to residents: one current vote per resident, results counted live."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_es: Mapped[str] = mapped_column(Text)
    question_ay: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))

    options: Mapped[list[PollOption]] = relationship(
        back_populates="poll", cascade="all, delete-orphan", order_by="PollOption.position"
    )
    zones: Mapped[list[Zone]] = relationship(secondary="poll_zones")

    def is_open(self, now: datetime) -> bool:
        return self.closes_at is None or now < aware(self.closes_at)


class PollOption(Base):
    __tablename__ = "poll_options"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label_es: Mapped[str] = mapped_column(String(200))
    label_ay: Mapped[str | None] = mapped_column(String(200))

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollZone(Base):
    __tablename__ = "poll_zones"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), primary_key=True, index=True)


class Vote(Base):
    """A resident's current answer to a poll: the database allows one per (poll, resident)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("poll_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NewsItem(Audience, Base):
    """Neighbourhood news in both languages, for a zona, a macrodistrito or the city."""

    __tablename__ = "news"

    id: Mapped[int] = mapped_column(primary_key=True)
    text_es: Mapped[str] = mapped_column(Text)
    text_ay: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    zones: Mapped[list[Zone]] = relationship(secondary="news_zones")


class NewsZone(Base):
    __tablename__ = "news_zones"

    news_id: Mapped[int] = mapped_column(
        ForeignKey("news.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), primary_key=True, index=True)


# --- zona information ---------------------------------------------------------------------

# The kinds of zona information, in the order residents see them (INFO, "6 Mi barrio").
INFO_CATEGORIES = (
    "health",  # posta de salud
    "school",
    "police",  # EPI, módulo policial
    "market",  # market days
    "water",  # water schedule
    "trash",  # trash collection schedule
    "junta",  # the junta vecinal's meeting day and contact
    "emergency",  # 110, 119, 118
    "subalcaldia",  # the macrodistrito's subalcaldía
    "places",  # parks, sports fields, streetlights, shops: mostly from youth mappers
)


class InfoItem(Base):
    """One fact about a zona, in both languages, with the day someone last checked it.

    An item with a zona is that zona's; with only a macrodistrito, it is every zona's of that
    macrodistrito (its subalcaldía); with neither, every zona's (the emergency numbers).
    """

    __tablename__ = "info_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", ondelete="CASCADE"), index=True
    )
    macrodistrict_id: Mapped[int | None] = mapped_column(
        ForeignKey("macrodistricts.id", ondelete="CASCADE"), index=True
    )
    text_es: Mapped[str] = mapped_column(Text)
    text_ay: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where the fact came from when not typed in by staff: "mapeo" (a mapper, after review).
    source: Mapped[str | None] = mapped_column(String(10))

    zone: Mapped[Zone | None] = relationship()
    macrodistrict: Mapped[Macrodistrict | None] = relationship()


# --- neighbours' services ------------------------------------------------------------------

# What a neighbour may offer (OFREZCO) and search for (BUSCO), in the order residents see them.
SERVICE_CATEGORIES = (
    "plumbing",
    "electrical",
    "construction",
    "sewing",
    "tutoring",
    "childcare",
    "transport",
    "food",
    "other",
)


class ServiceOffer(Base):
    """A resident's offer of a service to their neighbours, with their consent to share the
    phone. Shown in searches until it expires (renewed by SMS), is paused or is reported by
    three neighbours."""

    __tablename__ = "service_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One offer per resident: OFREZCO shows it to renew, pause, delete or replace.
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), unique=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(String(80))
    consent_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Waiting for a leader's or staff's approval (the zona moderates offers): shown to nobody.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the offerer was told the offer ends soon (worker.reminders); None once renewed.
    expiry_warned_at: Mapped[datetime | None]
    # When the zona's leaders were told reports hid it (bot.flows.services); None once shown.
    hidden_told_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship()
    zone: Mapped[Zone] = relationship()


class OfferReport(Base):
    """A neighbour's report of an offer: one per (offer, resident); three hide the offer."""

    __tablename__ = "offer_reports"
    __table_args__ = (UniqueConstraint("offer_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("service_offers.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- broadcasts ---------------------------------------------------------------------------

BROADCAST_KINDS = ("announcement", "poll", "notice", "news")
# The topic a resident must have switched on to receive each kind of broadcast.
BROADCAST_TOPICS = {
    "announcement": "announcements",
    "notice": "announcements",
    "poll": "polls",
    "news": "news",
}
BROADCAST_STATUSES = ("scheduled", "preparing", "sending", "done", "canceled")
# Delivery.status: pending -> sending -> a Twilio status (accepted, queued, sent, delivered,
# read, undelivered, failed) | unknown (may have gone out: never resent) | opted_out | canceled.
DELIVERY_FINAL = ("opted_out", "canceled", "unknown", "failed")


class Broadcast(Audience, Base):
    """One message to many residents: an announcement, a poll invitation, a notice, news."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    text_es: Mapped[str] = mapped_column(Text)
    text_ay: Mapped[str | None] = mapped_column(Text)
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    # The council leader who sent it (their daily limit counts this, whatever their resident row).
    leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("leaders.id", ondelete="SET NULL"), index=True
    )
    # The staff user who sent it from the console or the API.
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    send_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prepared_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    zones: Mapped[list[Zone]] = relationship(secondary="broadcast_zones")
    poll: Mapped[Poll | None] = relationship()


class BroadcastZone(Base):
    __tablename__ = "broadcast_zones"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), primary_key=True, index=True)


class Delivery(Base):
    """One broadcast to one resident: the database allows one per (broadcast, resident)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "resident_id"),
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    channel: Mapped[str | None] = mapped_column(String(10))
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[int | None] = mapped_column(Integer)
    # A rate-limited (429) delivery waits until then before it is claimed again.
    retry_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    # The worker process that claimed it; the sweeper resolves rows whose worker has died.
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    # Sent again once after reconciliation found no trace of it at Twilio (never twice).
    resent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class Leader(Base):
    """A council leader (dirigente) who may send polls and notices to their own zona only."""

    __tablename__ = "leaders"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last SMS telling them how many of their zona's items are due for a check.
    info_reminded_at: Mapped[datetime | None]
    # The last SMS telling them that youth mappers' items wait for their review (MAPEO REVISAR).
    mapping_told_at: Mapped[datetime | None]

    zone: Mapped[Zone] = relationship()


class StaffUser(Base):
    """Someone who works in the console or the API; the role and place decide what they reach."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    macrodistrict_id: Mapped[int | None] = mapped_column(ForeignKey("macrodistricts.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A revocable API token: only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One staff action: who, when, what, on what, and the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254))  # the email then, kept if the user goes
    via: Mapped[str] = mapped_column(String(8))  # web | api | cli
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- civic micro-lessons (CURSOS) ---------------------------------------------------------------

COURSE_STATUSES = ("draft", "published")
# Where an enrolment stands in its current lesson: the lesson was shown (its question not yet),
# the question was asked, or it was answered (the next lesson comes on request or by the day).
ENROLMENT_STAGES = ("lesson", "question", "answered")


class Course(Base):
    """A short course written by the municipality: 3 to 8 lessons, shown once published."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title_es: Mapped[str] = mapped_column(String(80))
    title_ay: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    # The Aymara texts are a draft awaiting a native speaker (residents still get them); an
    # import that says `ay_reviewed: true` clears it.
    ay_draft: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    lessons: Mapped[list[Lesson]] = relationship(
        order_by="Lesson.position", cascade="all, delete-orphan", back_populates="course"
    )


class Lesson(Base):
    """One lesson of one SMS, its question with numbered answers and a one-SMS explanation."""

    __tablename__ = "course_lessons"
    __table_args__ = (UniqueConstraint("course_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ...
    text_es: Mapped[str] = mapped_column(Text)
    text_ay: Mapped[str | None] = mapped_column(Text)
    question_es: Mapped[str] = mapped_column(Text)
    question_ay: Mapped[str | None] = mapped_column(Text)
    answers_es: Mapped[list[str]] = mapped_column(JSON)
    answers_ay: Mapped[list[str] | None] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer)  # the number of the right answer, from 1
    explanation_es: Mapped[str] = mapped_column(Text)
    explanation_ay: Mapped[str | None] = mapped_column(Text)

    course: Mapped[Course] = relationship(back_populates="lessons")


class Enrolment(Base):
    """A resident taking a course: the lesson they are on, paused or not, and how lessons come
    (daily_hour None: the next one when they answer; else one a day at that La Paz hour)."""

    __tablename__ = "course_enrolments"
    __table_args__ = (UniqueConstraint("resident_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    # The resident's zona when they enrolled, so figures per zona do not move later.
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    stage: Mapped[str] = mapped_column(String(10), default="lesson")
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    daily_hour: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_lesson_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()
    resident: Mapped[Resident] = relationship()


class LessonDelivery(Base):
    """A lesson shown to an enrolled resident: one row per (enrolment, lesson), so the daily
    sender never sends the same lesson twice, whoever runs it and however often."""

    __tablename__ = "course_deliveries"
    __table_args__ = (UniqueConstraint("enrolment_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrolments.id", ondelete="CASCADE")
    )
    lesson_id: Mapped[int] = mapped_column(ForeignKey("course_lessons.id", ondelete="CASCADE"))
    daily: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LessonAnswer(Base):
    """A resident's answer to a lesson's question (the first one counts), with their zona then."""

    __tablename__ = "course_answers"
    __table_args__ = (UniqueConstraint("resident_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("course_lessons.id", ondelete="CASCADE"), index=True
    )
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    chosen: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceSearch(Base):
    """One BUSCO search, for the evidence pages: the searcher's zona then, the category and how
    many offers were shown. No resident: a count needs no one's identity (and BORRAR has
    nothing to erase here)."""

    __tablename__ = "service_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    results: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- youth mappers -------------------------------------------------------------------------

# What a mapper records, in the order they pick it: what the zona has (assets) and what it
# lacks or has broken (needs). New kinds go before each group's "other", which stays last;
# an item's kind is stored by name, so the numbers a mapper picks may move.
MAP_ASSET_KINDS = (
    "park",
    "water_tap",
    "streetlight",
    "sports_field",
    "school",
    "health_post",
    "shop",
    "market",
    "community_hall",  # sede social of the junta vecinal
    "stop",  # minibús stop or teleférico station
    "other_asset",
)
MAP_NEED_KINDS = (
    "broken_light",
    "no_water",
    "trash_point",
    "dangerous_spot",
    "pothole",
    "blocked_drain",
    "stray_dogs",
    "landslide_risk",
    "other_need",
)
MAP_KINDS = MAP_ASSET_KINDS + MAP_NEED_KINDS
# The kinds a zona's coverage counts: "other" says nothing about what was looked for.
MAP_COVERED_KINDS = tuple(kind for kind in MAP_KINDS if not kind.startswith("other_"))
MAP_STATUSES = ("pending", "approved", "rejected")


class Mapper(Base):
    """A resident a leader or staff registered to map their zona's assets and needs.

    Only the resident's id: a mapper gives no more personal data than any resident. One row
    per resident; registering again moves or reactivates it. BORRAR deletes it.
    """

    __tablename__ = "mappers"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), unique=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    # "leader:<leaders.id>", "staff:<email>" or "cli": who answers for the registration.
    registered_by: Mapped[str] = mapped_column(String(80))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    removed_at: Mapped[datetime | None]

    resident: Mapped[Resident] = relationship()
    zone: Mapped[Zone] = relationship()


class MappedItem(Base):
    """One asset or need a mapper recorded, waiting for review, then approved or rejected.

    An approved asset becomes an InfoItem (info_item_id), an approved need a Report
    (report_id). resident_id is the mapper's resident (kept, anonymous, after BORRAR, like a
    report's).
    """

    __tablename__ = "mapped_items"
    __table_args__ = (Index("ix_mapped_items_zone_status", "zone_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    media_url: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    info_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("info_items.id", ondelete="SET NULL")
    )
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))

    zone: Mapped[Zone] = relationship()


# Evidence rollups (bot/evidence, storage/rollups.py): derived from the tables above by the
# worker, rebuilt from scratch by `mibarrio evidence rebuild`. Days are La Paz days. Zona 0
# stands for "no zona". No foreign keys: a row here never keeps a resident from being erased.


class EvidenceMark(Base):
    """How far the rollups have read each source table (the last id seen), and when."""

    __tablename__ = "evidence_marks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime | None]


class EvidenceDay(Base):
    """Summable counts per day and zona: joined, left, moved_in, moved_out (keyed by language),
    opted_out and supporters."""

    __tablename__ = "evidence_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class EvidenceResidentDay(Base):
    """One row per resident, channel ("*": any, votes included), day and zona they were active
    in, with the previous such day in the same zona, macrodistrito and anywhere."""

    __tablename__ = "evidence_resident_days"
    __table_args__ = (Index("ix_evidence_resident_days_day", "day"),)

    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    macro_id: Mapped[int] = mapped_column(Integer)
    prev_zone: Mapped[date | None] = mapped_column(Date)
    prev_macro: Mapped[date | None] = mapped_column(Date)
    prev_city: Mapped[date | None] = mapped_column(Date)


class EvidenceActive(Base):
    """Resident-days counted by (scope, day, previous active day): the active residents of a
    window [a, b) are the rows with a <= day < b and prev < a, summed (no DISTINCT needed)."""

    __tablename__ = "evidence_active"

    scope: Mapped[str] = mapped_column(String(1), primary_key=True)  # c city, m macro, z zona
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # before channel: day ranges
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    prev: Mapped[date] = mapped_column(Date, primary_key=True)  # 1900-01-01: never before
    n: Mapped[int] = mapped_column(Integer)


class EvidenceReport(Base):
    """Each report's figures: times cannot be summed, so medians and p90 read these rows."""

    __tablename__ = "evidence_reports"
    __table_args__ = (Index("ix_evidence_reports_day", "day"),)

    report_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    first_change_hours: Mapped[float | None] = mapped_column(Float)
    resolution_hours: Mapped[float | None] = mapped_column(Float)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)


class EvidenceBroadcast(Base):
    """Deliveries of a broadcast per zona of the recipients when it was made."""

    __tablename__ = "evidence_broadcasts"
    __table_args__ = (Index("ix_evidence_broadcasts_day", "day"),)

    broadcast_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    recipients: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)


class EvidenceOptOutAfter(Base):
    """A recipient who opted out within 7 days of a broadcast (counted once per resident)."""

    __tablename__ = "evidence_opt_outs_after"
    __table_args__ = (Index("ix_evidence_opt_outs_after_day", "day"),)

    broadcast_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)


class EvidencePoll(Base):
    """Residents invited to a poll and those of them who voted, per zona when it was made."""

    __tablename__ = "evidence_polls"
    __table_args__ = (Index("ix_evidence_polls_day", "day"),)

    poll_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    invited: Mapped[int] = mapped_column(Integer)
    voted: Mapped[int] = mapped_column(Integer)


class EvidenceResidentMark(Base):
    """What the rollups last saw of a resident, so a change (consent, opt-out, return,
    erasure, language) marks the days it touches for recounting."""

    __tablename__ = "evidence_resident_marks"

    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(10))


class EvidenceExport(Base):
    """An export built by the worker: how far it got and where the files are."""

    __tablename__ = "evidence_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    format: Mapped[str] = mapped_column(String(10))
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(10))
    free_text: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # running done failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(400))
    error: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class AudienceCount(Base):
    """Signed-up residents per zona and language, kept exact by triggers on `residents`
    (migration 0017), so a page counts a city's residents by reading a few hundred rows.

    topic "" counts every active resident (the zona's signed-up residents); a topic counts
    the active residents a broadcast of that topic reaches (a phone, not marked invalid, the
    topic wanted), as storage.broadcasts.recipients_query selects them. zone_id 0 stands for
    "no zona", language "" for "not chosen yet"."""

    __tablename__ = "audience_counts"

    zone_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(2), primary_key=True)
    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    residents: Mapped[int] = mapped_column(Integer, default=0)


class EvidenceView(Base):
    """Figures the evidence worker computed for the views most asked for (the default period
    for the city and each macrodistrito), with the rollup refresh they were computed from: a
    first view after a refresh reads them instead of computing (bot/evidence/memo.py)."""

    __tablename__ = "evidence_views"

    question: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha-256 of the ask
    built_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)
