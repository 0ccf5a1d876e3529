"""`mibarrio user`: staff accounts from the server's shell, and the tokens the API takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.passwords import check_password
from storage import staff
from storage.models import ApiToken, AuditEntry
from tests.helpers import terminal


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> CliRunner:
    return terminal(monkeypatch, tmp_path, db_url, unset=("REDIS_URL",))


def run(shell: CliRunner, *args: str, stdin: str | None = None, code: int = 0) -> str:
    result = shell.invoke(main, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_add_list_disable(shell: CliRunner, sessions: sessionmaker[Session]) -> None:
    out = run(
        shell,
        "user",
        "add",
        "Ana@LaPaz.bo",
        "--role",
        "leader",
        "--zone",
        "sopocachi",
        "--password-stdin",
        stdin="una-clave-segura\n",
    )
    assert "ana@lapaz.bo: leader" in out
    run(shell, "user", "add", "sub@lapaz.bo", "--role", "subalcaldia", "--macro", "Cotahuma")
    listing = run(shell, "user", "list")
    assert "ana@lapaz.bo\tleader\tSopocachi\tactive" in listing
    assert "sub@lapaz.bo\tsubalcaldia\tCotahuma\tactive" in listing
    with sessions() as session:
        user = staff.find_user(session, "ana@lapaz.bo")
        assert user is not None and check_password(user.password_hash, "una-clave-segura")
        assert not check_password(user.password_hash, "otra-clave-cualquiera")

    run(shell, "user", "disable", "ana@lapaz.bo")
    assert "ana@lapaz.bo\tleader\tSopocachi\tdisabled" in run(shell, "user", "list")
    with sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["user.add", "user.add", "user.disable"]


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("--role", "leader"), None, "--zone"),
        (("--role", "subalcaldia"), None, "--macro"),
        (("--role", "leader", "--zone", "Atlantis"), None, "unknown zona"),
        (("--role", "viewer", "--password-stdin"), "corta\n", "at least 10"),
    ],
)
def test_add_refuses_what_cannot_work(
    shell: CliRunner,
    sessions: sessionmaker[Session],
    args: tuple[str, ...],
    stdin: str | None,
    says: str,
) -> None:
    out = run(shell, "user", "add", "x@lapaz.bo", *args, stdin=stdin, code=2)
    assert says in out
    with sessions() as session:
        assert staff.users(session) == []


def test_a_token_is_shown_once_stored_hashed_and_revocable(
    shell: CliRunner, sessions: sessionmaker[Session]
) -> None:
    run(shell, "user", "add", "api@lapaz.bo", "--role", "municipality")
    token = run(shell, "user", "token", "api@lapaz.bo").strip()
    assert token.startswith("mb_") and len(token) > 40
    with sessions() as session, session.begin():
        user = staff.user_for_token(session, token)
        assert user is not None and user.email == "api@lapaz.bo"
        assert token not in str([t.token_hash for t in session.query(ApiToken)])

    assert "1 token(s) revoked" in run(shell, "user", "token", "api@lapaz.bo", "--revoke")
    with sessions() as session:
        assert staff.user_for_token(session, token) is None
