"""The `mibarrio` command line, the way an operator or a developer uses it.

Each test points DATABASE_URL at a fresh SQLite file (bot.config reads MIBARRIO_INSTANCE at
import, so the database is always named explicitly); the last tests run against the `db_url`
fixture, which is PostgreSQL too when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from click.testing import CliRunner, Result

from bot.cli import main
from tests.helpers import terminal

SIGN_UP_ES = "Hola\n1\nSopocachi\n1\n"
SIGN_UP_AY = "Hola\n2\nSopocachi\n1\n"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A terminal whose environment names only a database of this test's own."""
    unset = ("REDIS_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_URL")
    return terminal(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", unset=unset)


def run(runner: CliRunner, *args: str, input: str | None = None, ok: bool = True) -> Result:
    result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def seeded(runner: CliRunner) -> CliRunner:
    """The two commands a new installation starts with."""
    run(runner, "db", "upgrade")
    run(runner, "seed")
    return runner


def chat(runner: CliRunner, text: str, *options: str) -> list[dict[str, Any]]:
    result = run(runner, "chat", "--json", *options, input=text)
    return [json.loads(line) for line in result.stdout.splitlines()]


def stats(runner: CliRunner) -> dict[str, Any]:
    return json.loads(run(runner, "stats", "--json").stdout)


# -- database and seed data ----------------------------------------------------------------


def test_upgrade_then_seed_loads_la_paz_once(runner: CliRunner) -> None:
    assert "database is up to date" in run(runner, "db", "upgrade").stdout
    assert "added 9 macrodistritos, 49 zonas" in run(runner, "seed").stdout

    assert "added 0 macrodistritos, 0 zonas" in run(runner, "seed").stdout
    assert "database is up to date" in run(runner, "db", "upgrade").stdout


@pytest.mark.parametrize("command", [["stats", "--json"], ["reports", "list"], ["seed"]])
def test_a_database_never_migrated_gets_one_clear_line(
    runner: CliRunner, command: list[str]
) -> None:
    result = run(runner, *command, ok=False)
    assert result.exit_code == 1
    assert "run `mibarrio db upgrade`" in result.output
    assert "Traceback" not in result.output


def test_demo_residents_look_like_la_paz(seeded: CliRunner) -> None:
    assert "1000 demo residents" in run(seeded, "seed", "--demo-residents", "1000").stdout

    figures = stats(seeded)
    assert figures["residents"] == 1000
    assert figures["synthetic_residents"] == 1000
    assert figures["opted_out"] == 0
    by_language = figures["residents_by_language"]
    assert set(by_language) == {"es", "ay"} and sum(by_language.values()) == 1000
    assert 250 <= by_language["ay"] <= 350, by_language
    assert len(figures["residents_by_zone"]) >= 40
    assert sum(figures["residents_by_zone"].values()) == 1000

    assert "0 demo residents" in run(seeded, "seed", "--demo-residents", "1000").stdout
    assert stats(seeded)["residents"] == 1000


def test_demo_residents_can_grow(seeded: CliRunner) -> None:
    run(seeded, "seed", "--demo-residents", "10")
    assert "15 demo residents" in run(seeded, "seed", "--demo-residents", "25").stdout
    assert stats(seeded)["synthetic_residents"] == 25


def test_seed_rejects_a_negative_count(seeded: CliRunner) -> None:
    result = run(seeded, "seed", "--demo-residents", "-5", ok=False)
    assert result.exit_code != 0
    assert "--demo-residents" in result.output


# -- chat ------------------------------------------------------------------------------------


def test_chat_signs_up_in_spanish(seeded: CliRunner) -> None:
    lines = chat(seeded, SIGN_UP_ES, "--phone", "+59171234567")

    assert [line["input"] for line in lines] == ["Hola", "1", "Sopocachi", "1"]
    for line in lines:
        assert set(line) == {"input", "replies", "segments"}
        assert len(line["replies"]) == len(line["segments"]) == 1
        assert all(isinstance(n, int) and n >= 1 for n in line["segments"])
    assert "Bienvenido" in lines[0]["replies"][0]
    assert "zona" in lines[1]["replies"][0]
    assert "Sopocachi" in lines[2]["replies"][0]
    last = lines[3]["replies"][0]
    assert "Menú" in last or "Menu" in last
    assert stats(seeded)["residents_by_zone"] == {"Sopocachi": 1}


def test_chat_signs_up_in_aymara(seeded: CliRunner) -> None:
    lines = chat(seeded, SIGN_UP_AY, "--phone", "+59171234567")

    assert "Kawki" in lines[1]["replies"][0]
    assert "Bienvenido" not in lines[1]["replies"][0]
    assert "Sopocachi" in lines[2]["replies"][0]
    figures = stats(seeded)
    assert figures["residents_by_language"] == {"ay": 1}
    assert figures["residents_by_zone"] == {"Sopocachi": 1}


def test_whatsapp_keeps_accents_and_sms_folds_them(seeded: CliRunner) -> None:
    whatsapp = run(
        seeded, "chat", "--json", "--phone", "+59171234567", "--channel", "whatsapp", input="Hola\n"
    ).stdout
    sms = chat(seeded, "Hola\n", "--phone", "+59171234568")

    assert "Alcaldía" in whatsapp, "JSON lines should stay readable, not \\u-escaped"
    assert json.loads(whatsapp)["segments"] == [1]
    assert "Alcaldía" in json.loads(whatsapp)["replies"][0]
    assert "Alcaldia" in sms[0]["replies"][0] and "Alcaldía" not in sms[0]["replies"][0]


def test_chat_without_json_prints_replies(seeded: CliRunner) -> None:
    out = run(seeded, "chat", "--phone", "+59171234567", input="Hola\n").stdout
    assert out.startswith("< Bienvenido")


def test_chat_remembers_the_conversation_between_runs(seeded: CliRunner) -> None:
    chat(seeded, "Hola\n1\n", "--phone", "+59171234567")
    lines = chat(seeded, "Sopocachi\n1\n", "--phone", "+59171234567")
    assert "Sopocachi" in lines[0]["replies"][0]
    assert stats(seeded)["residents"] == 1


def test_chat_accepts_a_national_number(seeded: CliRunner) -> None:
    chat(seeded, SIGN_UP_ES, "--phone", "7123 4567")
    assert stats(seeded)["residents"] == 1

    chat(seeded, "BAJA\n", "--phone", "+59171234567")  # the same person, in E.164

    figures = stats(seeded)
    assert (figures["residents"], figures["opted_out"]) == (0, 1)


@pytest.mark.parametrize("phone", ["hola", "", "+591"])
def test_chat_refuses_a_bad_phone(seeded: CliRunner, phone: str) -> None:
    result = run(seeded, "chat", "--phone", phone, input="Hola\n", ok=False)
    assert result.exit_code != 0
    assert "Invalid value for --phone" in result.output and phone in result.output
    assert "Traceback" not in result.output
    assert stats(seeded)["onboarding"] == 0, "a resident was created for a bad number"


# -- stats -----------------------------------------------------------------------------------


def test_stats_counts_sign_ups_and_opt_outs(seeded: CliRunner) -> None:
    empty = stats(seeded)
    assert {"residents", "opted_out", "residents_by_zone"} <= set(empty)
    assert (empty["residents"], empty["opted_out"], empty["residents_by_zone"]) == (0, 0, {})

    chat(seeded, SIGN_UP_ES, "--phone", "+59171234567")
    chat(seeded, SIGN_UP_ES + "BAJA\n", "--phone", "+59171234568")

    figures = stats(seeded)
    assert figures["residents"] == 1
    assert figures["opted_out"] == 1
    assert figures["residents_by_zone"] == {"Sopocachi": 1}

    text = run(seeded, "stats").stdout
    assert "residents: 1" in text and "opted out: 1" in text and "Sopocachi" in text


# -- catalogs --------------------------------------------------------------------------------


def test_i18n_check_passes() -> None:
    result = CliRunner().invoke(main, ["i18n", "check"])
    assert result.exit_code == 0, result.output
    assert "catalogs ok" in result.stdout


def test_i18n_compile_writes_loadable_catalogs() -> None:
    result = CliRunner().invoke(main, ["i18n", "compile"])
    assert result.exit_code == 0, result.output
    paths = [Path(line.removeprefix("compiled ")) for line in result.stdout.splitlines()]
    # The residents' catalogs in both languages, and the staff console's (Spanish only).
    assert sorted((p.parent.parent.name, p.stem) for p in paths) == [
        ("ay", "messages"),
        ("es", "console"),
        ("es", "messages"),
    ]
    for path in paths:
        assert path.suffix == ".mo" and path.stat().st_size > 0
        with path.open("rb") as fh:
            catalog = Translations(fh, domain=path.stem)
        if path.parent.parent.name == "ay":
            assert "Kawki" in catalog.gettext(
                "¿En qué zona vive? Escriba su nombre, por ejemplo: San Sebastián."
            )


# -- against the test database (PostgreSQL too when TEST_DATABASE_URL is set) ----------------


def test_stats_and_chat_on_the_test_database(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert stats(runner)["residents"] == 0

    lines = chat(runner, SIGN_UP_AY, "--phone", "+59171234567", "--channel", "whatsapp")
    assert "Kawki" in lines[1]["replies"][0]
    chat(runner, SIGN_UP_ES + "BAJA\n", "--phone", "+59171234568")

    figures = stats(runner)
    assert (figures["residents"], figures["opted_out"]) == (1, 1)
    assert figures["residents_by_zone"] == {"Sopocachi": 1}
    assert figures["residents_by_language"] == {"ay": 1}


def test_chat_takes_a_nul_in_a_line_as_the_webhook_does(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    lines = chat(runner, "Hola\n1\nSopo\x00cachi\n", "--phone", "+59171234567")
    assert "Sopocachi" in lines[2]["replies"][0]  # PostgreSQL cannot store a NUL: it is dropped


def test_chat_on_whatsapp_sends_a_pin_and_a_photo(seeded: CliRunner) -> None:
    """A mapper's pin and photo walked by hand: /ubicacion and /foto are what a phone attaches."""
    run(seeded, "leader", "add", "--phone", "+59171234500", "--zone", "Sopocachi")
    chat(seeded, SIGN_UP_ES, "--phone", "+59171234567")
    chat(seeded, SIGN_UP_ES, "--phone", "+59171234500")
    chat(seeded, "MAPEADOR ALTA 71234567\n", "--phone", "+59171234500")
    lines = chat(
        seeded,
        "MAPEO\n/ubicacion -16.51 -68.12\n1\n1\n/foto https://example.org/p.jpg Plaza Avaroa\n",
        "--phone",
        "+59171234567",
        "--channel",
        "whatsapp",
    )
    assert "Guardamos su ubicación" in lines[1]["replies"][0]
    assert (
        "Parque o plaza en Sopocachi: Plaza Avaroa (con ubicación y foto)"
        in (lines[-1]["replies"][0])
    )
    # On SMS the same line is only text.
    sms = chat(seeded, "MAPEO\n/ubicacion -16.51 -68.12\n", "--phone", "+59171234567")
    assert "Guardamos" not in sms[1]["replies"][0]
