"""`mibarrio user`: staff accounts for the console and the API."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session

from bot.commands.common import open_database
from bot.passwords import hash_password
from bot.text import normalize
from storage import audit, staff
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import Macrodistrict, StaffUser, Zone
from storage.zones import all_zones, macrodistricts

ROLES = [role.value for role in StaffRole]


@click.group("user")
def user() -> None:
    """Staff accounts: who may log in to /admin/ and use /api/v1/."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--macro", "macro_name", default=None, help="The macrodistrito of a subalcaldía.")
@click.option("--zone", "zone_name", default=None, help="The zona of a leader.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    email: str, role: str, macro_name: str | None, zone_name: str | None, password_stdin: bool
) -> None:
    """Add a staff user (without --password-stdin they can use API tokens only)."""
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        try:
            password_hash = hash_password(password)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    _, sessions = open_database()
    with transaction(sessions) as session:
        macro = _macro(session, macro_name) if macro_name else None
        zone = _zone(session, zone_name) if zone_name else None
        try:
            created = staff.add_user(
                session, email, StaffRole(role), password_hash, macrodistrict=macro, zone=zone
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        audit.record(
            session,
            None,
            "cli",
            "user.add",
            "user",
            created.email,
            after={"role": role, "macro": macro_name, "zone": zone_name},
            actor="cli",
        )
        click.echo(f"{created.email}: {role}")


@user.command("list")
def user_list() -> None:
    """Every staff user, their role and place, and whether they are disabled."""
    _, sessions = open_database()
    with sessions() as session:
        zones = {z.id: z.name for z in all_zones(session)}
        macros = {m.id: m.name for m in macrodistricts(session)}
        for row in staff.users(session):
            place = zones.get(row.zone_id or 0) or macros.get(row.macrodistrict_id or 0) or "-"
            state = "disabled" if row.disabled_at else "active"
            click.echo(f"{row.email}\t{row.role}\t{place}\t{state}")


@user.command("disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Disable a user: no login, every token revoked; their history stays."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        found = _user(session, email)
        staff.disable_user(session, found)
        audit.record(session, None, "cli", "user.disable", "user", found.email, actor="cli")
    click.echo(f"{email}: disabled")


@user.command("token")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Revoke every token of the user instead.")
def user_token(email: str, revoke: bool) -> None:
    """Print a new API token for the user (shown once), or revoke their tokens."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        found = _user(session, email)
        if revoke:
            count = staff.revoke_tokens(session, found)
            audit.record(session, None, "cli", "token.revoke", "user", found.email, actor="cli")
            click.echo(f"{email}: {count} token(s) revoked")
            return
        if found.disabled_at is not None:
            raise click.ClickException(f"{email} is disabled")
        token = staff.issue_token(session, found)
        audit.record(session, None, "cli", "token.issue", "user", found.email, actor="cli")
    click.echo(token)


def _user(session: Session, email: str) -> StaffUser:
    found = staff.find_user(session, email)
    if found is None:
        raise click.ClickException(f"no user {email}")
    return found


def _zone(session: Session, name: str) -> Zone:
    for zone in all_zones(session):
        if normalize(zone.name) == normalize(name):
            return zone
    raise click.UsageError(f"unknown zona {name!r}")


def _macro(session: Session, name: str) -> Macrodistrict:
    for macro in macrodistricts(session):
        if normalize(macro.name) == normalize(name):
            return macro
    raise click.UsageError(f"unknown macrodistrito {name!r}")


COMMANDS = [user]
