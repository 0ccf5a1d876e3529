"""`mibarrio mapper`: youth mappers (registration, review of what they recorded, progress)."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from bot import actions, channels
from bot.commands.common import open_database
from bot.flows.mapping import label_in
from storage import mapping as store
from storage.db import Session, transaction
from storage.info import fold
from storage.models import (
    MAP_COVERED_KINDS,
    MAP_STATUSES,
    MappedItem,
    Report,
    Resident,
    Zone,
    aware,
)


def _phone(raw: str) -> str:
    try:
        return channels.parse_address(raw)[0]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PHONE") from exc


def _resident(session: Session, phone: str) -> Resident:
    found = store.resident_by_phone(session, phone)
    if found is None:
        raise click.ClickException(f"{phone} has not signed up")
    return found


def _zone_ids(session: Session, name: str | None) -> list[int] | None:
    if name is None:
        return None
    ids = [z.id for z in session.scalars(select(Zone)) if fold(z.name) == fold(name)]
    if not ids:
        raise click.BadParameter(f"no zona {name!r}", param_hint="--zone")
    return ids


@click.group("mapper")
def mapper() -> None:
    """Youth mappers who record their zona's assets and needs (MAPEO) for review."""


@mapper.command("add")
@click.argument("phone")
def mapper_add(phone: str) -> None:
    """Register a signed-up resident as a mapper of their zona (they get one SMS on how)."""
    e164 = _phone(phone)
    _, sessions = open_database()
    with transaction(sessions) as session:
        resident = _resident(session, e164)
        zone = session.get(Zone, resident.zone_id) if resident.zone_id else None
        if zone is None:
            raise click.ClickException(f"{e164} has no zona yet")
        try:
            new = actions.add_mapper(session, resident, zone, via="cli")
        except actions.Refused as exc:
            raise click.ClickException(str(exc)) from exc
        line = f"{e164}: mapper of {zone.name}" + ("" if new else " (already)")
    click.echo(line)


@mapper.command("remove")
@click.argument("phone")
def mapper_remove(phone: str) -> None:
    """No longer a mapper (told by SMS); what they recorded stays."""
    e164 = _phone(phone)
    _, sessions = open_database()
    with transaction(sessions) as session:
        resident = _resident(session, e164)
        found = store.mapper_of(session, resident.id)
        zone = session.get(Zone, found.zone_id) if found else None
        if zone is None:
            raise click.ClickException(f"{e164} is not a mapper")
        actions.remove_mapper(session, resident, zone, via="cli")
    click.echo(f"{e164}: no longer a mapper of {zone.name}")


@mapper.command("list")
@click.option("--zone", "zone_name", default=None)
def mapper_list(zone_name: str | None) -> None:
    """Mappers with their zona, since when, and whether they are active."""
    _, sessions = open_database()
    with sessions() as session:
        found = store.list_mappers(session, _zone_ids(session, zone_name))
        for m in found:
            state = "active" if m.active else "removed"
            click.echo(
                f"{m.id:>4}  {m.resident.phone or '(erased)':<14} {m.zone.name:<24} "
                f"{aware(m.registered_at):%Y-%m-%d}  {state}  {m.registered_by}"
            )
        if not found:
            click.echo("no mappers")


@mapper.command("review")
@click.option("--zone", "zone_name", default=None)
@click.option("--status", type=click.Choice(MAP_STATUSES), default="pending", show_default=True)
def mapper_review(zone_name: str | None, status: str) -> None:
    """The review queue: each item with its kind, zona, words, pin and photo."""
    _, sessions = open_database()
    with sessions() as session:
        found = store.items(session, _zone_ids(session, zone_name), status, limit=500)
        for item in found:
            pin = f" pin={item.latitude},{item.longitude}" if item.latitude is not None else ""
            photo = f" photo={item.media_url}" if item.media_url else ""
            click.echo(
                f"{item.id:>5}  {aware(item.created_at):%Y-%m-%d}  {item.zone.name:<20} "
                f"{label_in(item.kind, 'es'):<16} {item.description or ''}{pin}{photo}"
            )
        if not found:
            click.echo(f"no {status} items")


def _decide(item_id: int, decision: str, text: str | None, note: str | None) -> None:
    _, sessions = open_database()
    with transaction(sessions) as session:
        item = session.get(MappedItem, item_id)
        if item is None:
            raise click.ClickException(f"no item {item_id}")
        try:
            made = actions.review_mapped_item(
                session, item, decision, description=text, note=note, via="cli"
            )
        except actions.Refused as exc:
            raise click.ClickException(str(exc)) from exc
        if isinstance(made, Report):
            line = f"item {item_id} approved: report {made.code}"
        elif made is not None:
            line = f"item {item_id} approved: zona information {made.id}"
        else:
            line = f"item {item_id} {'rejected' if decision == 'reject' else 'edited'}"
    click.echo(line)


@mapper.command("approve")
@click.argument("item_id", type=int)
@click.option("--text", default=None, help="The description corrected before approving.")
@click.option("--note", default=None)
def mapper_approve(item_id: int, text: str | None, note: str | None) -> None:
    """Approve: an asset becomes zona information, a need a mapped report."""
    _decide(item_id, "approve", text, note)


@mapper.command("reject")
@click.argument("item_id", type=int)
@click.option("--note", default=None, help="Why (the mapper is told).")
def mapper_reject(item_id: int, note: str | None) -> None:
    """Reject a pending item; the mapper is told by SMS, with the note when there is one."""
    _decide(item_id, "reject", None, note)


@mapper.command("edit")
@click.argument("item_id", type=int)
@click.option("--text", required=True)
def mapper_edit(item_id: int, text: str) -> None:
    """Correct a pending item's description."""
    _decide(item_id, "edit", text, None)


@mapper.command("stats")
@click.option("--zone", "zone_name", default=None)
@click.option("--json", "as_json", is_flag=True)
def mapper_stats(zone_name: str | None, as_json: bool) -> None:
    """Progress per zona and per mapper: items, approved, rejected, coverage of kinds."""
    _, sessions = open_database()
    with sessions() as session:
        ids = _zone_ids(session, zone_name)
        names = {z.id: z.name for z in session.scalars(select(Zone))}
        zones = [
            {"zone": names[z], **_figures(p)}
            for z, p in sorted(store.zone_progress(session, ids).items(), key=lambda r: names[r[0]])
        ]
        mappers = [
            {"mapper": m.id, "zone": names[m.zone_id], "active": m.active, **_figures(p)}
            for m, p in store.mapper_progress(session, ids)
        ]
    if as_json:
        click.echo(json.dumps({"zones": zones, "mappers": mappers}, indent=2))
        return
    kinds = len(MAP_COVERED_KINDS)
    click.echo(f"{'zona':<24} items approved rejected pending coverage (of {kinds} kinds)")
    for row in zones:
        click.echo(_line(str(row["zone"]), row))
    for row in mappers:
        click.echo(_line(f"  mapper {row['mapper']} ({row['zone']})", row))


def _figures(p: store.Progress) -> dict[str, object]:
    return {
        "items": p.items,
        "approved": p.approved,
        "rejected": p.rejected,
        "pending": p.pending,
        "kinds": p.kinds,
        "coverage": round(p.coverage, 3),
    }


def _line(name: str, row: dict[str, object]) -> str:
    return (
        f"{name:<24} {row['items']:>5} {row['approved']:>8} {row['rejected']:>8} "
        f"{row['pending']:>7} {row['kinds']:>3} = {float(row['coverage']):.0%}"  # type: ignore[arg-type]
    )


COMMANDS = (mapper,)
