"""Polls: open polls for a zona, one current vote per resident, live results with turnout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import audience
from storage.broadcasts import TargetLike
from storage.models import Poll, PollOption, PollZone, Resident, Vote, utcnow


def open_polls(session: Session, zone_id: int | None, now: datetime) -> list[Poll]:
    """Open polls a resident of the zona may answer: the zona's and the city's, newest first."""
    in_zone = select(PollZone.poll_id).where(PollZone.zone_id == zone_id)
    return list(
        session.scalars(
            select(Poll)
            .where(
                or_(Poll.citywide.is_(True), Poll.id.in_(in_zone)),
                or_(Poll.closes_at.is_(None), Poll.closes_at > now),
            )
            .order_by(Poll.created_at.desc(), Poll.id.desc())
        )
    )


def may_answer(session: Session, poll: Poll, resident: Resident) -> bool:
    if poll.citywide:
        return True
    return (
        session.scalar(
            select(PollZone.poll_id).where(
                PollZone.poll_id == poll.id, PollZone.zone_id == resident.zone_id
            )
        )
        is not None
    )


def cast_vote(
    session: Session,
    poll: Poll,
    resident: Resident,
    option: PollOption,
    now: datetime | None = None,
) -> bool:
    """Record or change the resident's vote; True if it was a new vote.

    The unique (poll, resident) constraint makes a concurrent double vote impossible: the
    loser of the race updates the row the winner inserted.
    """
    now = now or utcnow()
    existing = session.scalar(
        select(Vote).where(Vote.poll_id == poll.id, Vote.resident_id == resident.id)
    )
    if existing is not None:
        existing.option_id, existing.updated_at = option.id, now
        session.flush()  # the live results read right after count it
        return False
    try:
        with session.begin_nested():
            session.add(
                Vote(
                    poll_id=poll.id,
                    resident_id=resident.id,
                    option_id=option.id,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        vote = session.scalars(
            select(Vote).where(Vote.poll_id == poll.id, Vote.resident_id == resident.id)
        ).one()
        vote.option_id, vote.updated_at = option.id, now
        session.flush()
        return False
    return True


@dataclass(frozen=True)
class Results:
    poll: Poll
    counts: list[tuple[PollOption, int]]
    votes: int
    eligible: int

    @property
    def turnout(self) -> float:
        return self.votes / self.eligible if self.eligible else 0.0


def eligible_residents(session: Session, poll: Poll) -> int:
    """The residents signed up now in the poll's zonas (the city's for a city-wide one)."""
    zone_ids = None if poll.citywide else [z.id for z in poll.zones]
    return sum(audience.signed_up_by_zone(session, zone_ids).values())


def results(session: Session, poll: Poll, eligible: int | None = None) -> Results:
    """The poll's counts; `eligible` when the caller has counted the residents already (the
    sum of results_by_zone's), since a city-wide count reads every resident."""
    rows: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(Vote.option_id, func.count())
            .where(Vote.poll_id == poll.id)
            .group_by(Vote.option_id)
        ).all()
    )
    counts = [(option, rows.get(option.id, 0)) for option in poll.options]
    votes = sum(n for _, n in counts)
    if eligible is None:
        eligible = eligible_residents(session, poll)
    return Results(poll, counts, votes, max(eligible, votes))


@dataclass(frozen=True)
class ZoneResults:
    """One zona's part of a poll's results; zone_id None: residents now without a zona of
    the poll (moved away since voting, or with no zona at all)."""

    zone_id: int | None
    counts: dict[int, int]  # option id -> votes
    votes: int
    eligible: int

    @property
    def turnout(self) -> float:
        return self.votes / self.eligible if self.eligible else 0.0


def results_by_zone(session: Session, poll: Poll) -> list[ZoneResults]:
    """The results zona by zona (a voter counts where they live now), zonas with no vote and
    no resident left out; the zona-less part last."""
    own = None if poll.citywide else {z.id for z in poll.zones}

    def bucket(zone_id: int | None) -> int | None:
        return zone_id if own is None or zone_id in own else None

    votes: dict[int | None, dict[int, int]] = {}
    for zone_id, option_id, n in session.execute(
        select(Resident.zone_id, Vote.option_id, func.count())
        .join(Resident, Resident.id == Vote.resident_id)
        .where(Vote.poll_id == poll.id)
        .group_by(Resident.zone_id, Vote.option_id)
    ).tuples():
        counts = votes.setdefault(bucket(zone_id), {})
        counts[option_id] = counts.get(option_id, 0) + n
    eligible: dict[int | None, int] = {}
    for zone_id, n in audience.signed_up_by_zone(session, own).items():
        eligible[bucket(zone_id)] = eligible.get(bucket(zone_id), 0) + n
    found = []
    for zone_id in sorted(set(votes) | set(eligible), key=lambda z: (z is None, z or 0)):
        counts = votes.get(zone_id, {})
        total = sum(counts.values())
        found.append(ZoneResults(zone_id, counts, total, max(eligible.get(zone_id, 0), total)))
    return found


def polls_within(session: Session, zone_ids: frozenset[int] | None, limit: int = 100) -> list[Poll]:
    """The latest polls addressed inside these zonas (None: the whole city, every poll)."""
    query = select(Poll).order_by(Poll.created_at.desc(), Poll.id.desc()).limit(limit)
    if zone_ids is not None:
        if not zone_ids:
            return []
        inside = select(PollZone.poll_id).where(PollZone.zone_id.in_(zone_ids))
        outside = select(PollZone.poll_id).where(PollZone.zone_id.not_in(zone_ids))
        query = query.where(Poll.citywide.is_(False), Poll.id.in_(inside), Poll.id.not_in(outside))
    return list(session.scalars(query))


def votes_per_poll(session: Session, poll_ids: Sequence[int]) -> dict[int, int]:
    if not poll_ids:
        return {}
    return dict(
        session.execute(
            select(Vote.poll_id, func.count())
            .where(Vote.poll_id.in_(poll_ids))
            .group_by(Vote.poll_id)
        )
        .tuples()
        .all()
    )


def vote_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Vote)) or 0


def get_poll(session: Session, poll_id: object) -> Poll | None:
    return session.get(Poll, poll_id) if poll_id is not None else None


def create_poll(
    session: Session,
    *,
    question_es: str,
    question_ay: str | None,
    options: Sequence[tuple[str, str | None]],
    target: TargetLike,
    closes_at: datetime | None,
    created_by: int | None = None,
    now: datetime | None = None,
) -> Poll:
    """A poll with its numbered options and zonas, written in the caller's transaction."""
    poll = Poll(
        question_es=question_es,
        question_ay=question_ay,
        target=target.spec,
        citywide=target.citywide,
        created_at=now or utcnow(),
        closes_at=closes_at,
        created_by=created_by,
    )
    poll.options = [
        PollOption(position=i, label_es=es, label_ay=ay) for i, (es, ay) in enumerate(options, 1)
    ]
    session.add(poll)
    session.flush()
    session.add_all(PollZone(poll_id=poll.id, zone_id=z) for z in sorted(target.zone_ids))
    session.flush()
    return poll


def polls_created_by(session: Session, resident_id: int, offset: int, limit: int) -> list[Poll]:
    """A resident's (a leader's) polls, latest first."""
    return list(
        session.scalars(
            select(Poll)
            .where(Poll.created_by == resident_id)
            .order_by(Poll.created_at.desc(), Poll.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
