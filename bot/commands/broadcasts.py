"""Staff commands for broadcasts and council leaders.

`mibarrio broadcast --to TARGET --es TEXT --ay TEXT [--at ISO] [--urgent]` writes the broadcast
and its outbox row in one transaction and prints its id and cost; workers send it.
"""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import actions, channels, targets
from bot import outbound as text
from bot.commands.common import open_database, resolve_target
from bot.config import Config
from storage import broadcasts as store
from storage import leaders
from storage.db import transaction
from storage.models import Broadcast, Leader, Zone, utcnow


def parse_when(value: str | None) -> datetime | None:
    """ISO-8601; without an offset it is La Paz time. Must lie in the future."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(
            "use ISO-8601, e.g. 2025-03-01T08:00 (La Paz time) or with an offset",
            param_hint="--at",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=store.LA_PAZ)
    if moment <= utcnow():
        raise click.BadParameter(f"{value} is in the past", param_hint="--at")
    return moment


def announce(
    session: Session,
    config: Config,
    *,
    kind: str,
    target: targets.Target,
    text_es: str,
    text_ay: str | None,
    poll_id: int | None = None,
    urgent: bool = False,
    send_at: datetime | None = None,
) -> Broadcast:
    """Create a broadcast from a staff command; refusals become a clean CLI error."""
    try:
        return actions.send_broadcast(
            session,
            config,
            kind=kind,
            target=target,
            text_es=text_es,
            text_ay=text_ay,
            poll_id=poll_id,
            urgent=urgent,
            send_at=send_at,
        )
    except ValueError as exc:
        raise click.UsageError(f"nothing was sent: {exc}") from exc


def describe(session: Session, config: Config, broadcast: Broadcast) -> str:
    """One line for staff: recipients x segments, the cost, and when it goes out."""
    cost = text.estimate(session, broadcast, fold=config.gsm7_fold)
    per = ", ".join(
        f"{lang} {cost.segments_by_language[lang]}"
        for lang in ("es", "ay")
        if cost.recipients_by_language.get(lang)
    )
    line = (
        f"broadcast {broadcast.id}: {cost.recipients} residents x SMS segments ({per or '-'}): "
        f"costará {cost.sms} SMS"
    )
    hours = store.QuietHours.parse(config.quiet_hours)
    due = broadcast.send_at or utcnow()
    if not broadcast.urgent and hours.contains(due):
        local = hours.defer(due).astimezone(store.LA_PAZ)
        line += f"; quiet hours ({hours}): goes out at {local:%Y-%m-%d %H:%M} La Paz time"
    elif broadcast.send_at:
        line += f"; goes out at {broadcast.send_at.astimezone(store.LA_PAZ):%Y-%m-%d %H:%M}"
    return line


def warn_long(session: Session, config: Config, broadcast: Broadcast) -> None:
    cost = text.estimate(session, broadcast, fold=config.gsm7_fold)
    for lang, segments in cost.segments_by_language.items():
        if segments > 1 and cost.recipients_by_language.get(lang):
            click.echo(f"warning: the {lang} text costs {segments} SMS per resident", err=True)


@click.group("broadcast", invoke_without_command=True)
@click.option("--to", "target", help="all, zona:NAME, macro:NAME (comma-separated)")
@click.option("--es", "text_es", help="The Spanish text.")
@click.option("--ay", "text_ay", help="The Aymara text (needed when Aymara readers are reached).")
@click.option("--at", "at", default=None, help="ISO-8601 time; La Paz time without an offset.")
@click.option("--urgent", is_flag=True, help="Emergencies: send now, even in quiet hours.")
@click.option(
    "--kind",
    type=click.Choice(["announcement", "news"]),
    default="announcement",
    show_default=True,
)
@click.pass_context
def broadcast(
    ctx: click.Context,
    target: str | None,
    text_es: str | None,
    text_ay: str | None,
    at: str | None,
    urgent: bool,
    kind: str,
) -> None:
    """Send a message to residents; prints its id and what it will cost."""
    if ctx.invoked_subcommand is not None:
        return
    if not target or not text_es:
        raise click.UsageError("a broadcast needs --to and --es (and --ay for Aymara readers)")
    send_at = parse_when(at)
    config, sessions = open_database()
    with transaction(sessions) as session:
        resolved = resolve_target(session, target)
        created = announce(
            session,
            config,
            kind=kind,
            target=resolved,
            text_es=text_es,
            text_ay=text_ay,
            urgent=urgent,
            send_at=send_at,
        )
        warn_long(session, config, created)
        summary = describe(session, config, created)
        broadcast_id = created.id
    click.echo(broadcast_id)
    click.echo(summary)


@broadcast.command("cancel")
@click.argument("broadcast_id", type=int)
def broadcast_cancel(broadcast_id: int) -> None:
    """Stop a broadcast: residents not yet messaged will not be."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        found = session.get(Broadcast, broadcast_id)
        if found is None:
            raise click.ClickException(f"no broadcast {broadcast_id}")
        try:
            canceled = actions.cancel_broadcast(session, found)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"broadcast {broadcast_id} canceled; {canceled} pending message(s) will not go out")


@broadcast.command("list")
@click.option("--limit", type=int, default=10, show_default=True)
def broadcast_list(limit: int) -> None:
    """The latest broadcasts and how far each has got."""
    _, sessions = open_database()
    with sessions() as session:
        rows = store.broadcast_stats(session, limit=limit)
    for row in rows:
        counts = row["status_counts"]
        done = counts["sent"] + counts["delivered"] + counts["read"]
        eta = f" eta {row['eta_seconds']}s" if row["eta_seconds"] is not None else ""
        click.echo(
            f"#{row['id']} {row['kind']:<12} {row['status']:<9} {row['target']:<30} "
            f"{done}/{row['recipients']} sent, {counts['failed']} failed, "
            f"{counts['unknown']} unknown, {counts['opted_out']} opted out{eta}"
        )


# --- leaders -----------------------------------------------------------------------------


@click.group("leader")
def leader() -> None:
    """Council leaders (dirigentes) who send polls and notices to their zona by SMS."""


@leader.command("add")
@click.option("--phone", required=True, help="E.164, e.g. +59171234567")
@click.option("--zone", "zone_name", required=True, help="The zona they lead.")
def leader_add(phone: str, zone_name: str) -> None:
    """Register a leader for one zona (running it again moves them)."""
    try:
        phone, _ = channels.parse_address(phone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    _, sessions = open_database()
    with transaction(sessions) as session:
        try:
            resolved = targets.resolve(session, f"zona:{zone_name}")
        except ValueError as exc:
            raise click.BadParameter(f"no zona {zone_name!r}", param_hint="--zone") from exc
        (zone_id,) = resolved.zone_ids
        added = leaders.add_leader(session, phone, zone_id)
        zone = session.get(Zone, zone_id)
        assert zone is not None
        line = f"leader {added.id}: {phone} for zona {zone.name}"
    click.echo(line)


@leader.command("list")
def leader_list() -> None:
    _, sessions = open_database()
    with sessions() as session:
        rows = session.execute(
            select(Leader.id, Leader.phone, Zone.name)
            .join(Zone, Zone.id == Leader.zone_id)
            .order_by(Zone.name, Leader.phone)
        ).all()
    for leader_id, phone, zone in rows:
        click.echo(f"{leader_id}  {phone}  {zone}")


COMMANDS = (broadcast, leader)
