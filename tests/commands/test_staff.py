"""Staff commands (`mibarrio reports|poll|news|stats`) and what residents see because of them.

Every test runs the real CLI against the `db_url` database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set) while residents talk to the engine through `Chat`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import is_gsm7, segments
from bot.cli import main
from storage.models import (
    AuditEntry,
    OutboundMessage,
    OutboxEntry,
    Poll,
    PollZone,
    Report,
    ReportEvent,
    Resident,
    Vote,
    Zone,
    utcnow,
)
from tests.conftest import Chat
from tests.factories import CODE, neighbour, onboard, report
from tests.helpers import terminal
from worker.followups import send_due_followups

SUPPORTER = "+59171000002"
THIRD = "+59171000003"
FAR_AWAY = "+59171000009"

QUESTION_ES = "¿Se resolvio? 1 Si / 2 No"  # "¿Se resolvió? 1 Sí / 2 No" folded to GSM-7


@dataclass
class Staff:
    """A staff member at a terminal whose DATABASE_URL is the test database."""

    runner: CliRunner

    def run(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def refused(self, *args: str) -> Result:
        result = self.run(*args, ok=False)
        assert result.exit_code != 0, result.output
        assert "Traceback" not in result.output
        return result


@pytest.fixture
def staff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Staff:
    unset = ("REDIS_URL", "PUBLIC_URL", "FOLLOWUP_DAYS", "GSM7_FOLD")
    return Staff(terminal(monkeypatch, tmp_path, db_url, unset=unset))


@pytest.fixture
def no_http(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Twilio credentials are configured, but any HTTP request is recorded and refused."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "test-auth-token")
    calls: list[str] = []

    def refuse(self: requests.Session, method: str, url: str, *args: Any, **kw: Any) -> Any:
        calls.append(f"{method} {url}")
        raise AssertionError(f"HTTP request during a staff command: {method} {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return calls


# -- helpers -------------------------------------------------------------------------------


def file_report(chat: Chat) -> str:
    """The chat's resident signs up in Sopocachi and reports a water problem; its code."""
    onboard(chat)
    found = CODE.search(report(chat))
    assert found, chat.log
    return found.group(0)


def me_too(chat: Chat, phone: str, lang: str = "1") -> Chat:
    """Another Sopocachi resident with the same water problem says 'me too'."""
    other = neighbour(chat, phone, lang=lang)
    other.say("1")
    other.say("1")  # Agua: the open report is offered
    other.say("1")  # "yo también"
    return other


def the_report(sessions: sessionmaker[Session], code: str) -> Report:
    with sessions() as session:
        found = session.scalar(select(Report).where(Report.code == code))
        assert found is not None
        return found


def messages_to(sessions: sessionmaker[Session], phone: str) -> list[OutboundMessage]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .join(Resident, Resident.id == OutboundMessage.resident_id)
                .where(Resident.phone == phone)
                .order_by(OutboundMessage.id)
            )
        )


def bodies_to(sessions: sessionmaker[Session], phone: str) -> list[str]:
    return [m.body or "" for m in messages_to(sessions, phone)]


def events_of(sessions: sessionmaker[Session], code: str) -> list[tuple[str, str | None, str]]:
    with sessions() as session:
        return [
            (e.status, e.note, e.source)
            for e in session.scalars(
                select(ReportEvent)
                .join(Report, Report.id == ReportEvent.report_id)
                .where(Report.code == code)
                .order_by(ReportEvent.id)
            )
        ]


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def assert_one_sms(body: str) -> None:
    assert is_gsm7(body), body
    assert segments(body) == 1, body


# -- reports list ----------------------------------------------------------------------------


def test_reports_list_shows_one_report_with_its_supporter(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    assert staff.json("reports", "list", "--json") == []
    code = file_report(chat)
    me_too(chat, SUPPORTER)

    [row] = staff.json("reports", "list", "--json")
    assert (row["code"], row["zone"], row["category"], row["status"], row["supporters"]) == (
        code,
        "Sopocachi",
        "agua",
        "received",
        1,
    )
    assert row["description"] == "No hay agua desde el lunes"
    filed = datetime.fromisoformat(row["created_at"])
    assert filed.tzinfo is not None and abs(utcnow() - filed) < timedelta(minutes=1)
    assert row["location"] == "Calle Guachalla 123"

    plain = staff.run("reports", "list").stdout
    assert code in plain and "Sopocachi" in plain and "+1" in plain
    assert staff.json("reports", "list", "--json", "--status", "resolved") == []
    received = staff.json("reports", "list", "--json", "--status", "received")
    assert [r["code"] for r in received] == [code]
    staff.run("reports", "set-status", code, "in-progress")
    in_progress = staff.json("reports", "list", "--json", "--status", "in-progress")
    assert [(r["code"], r["status"]) for r in in_progress] == [(code, "in_progress")]


# -- reports set-status ----------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["in_progress", "in-progress"])
def test_status_change_is_queued_for_every_follower_in_their_language(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    no_http: list[str],
    spelling: str,
) -> None:
    code = file_report(chat)
    me_too(chat, SUPPORTER, lang="2")  # an Aymara speaker
    queued_before = count(sessions, OutboundMessage)

    out = staff.run(
        "reports", "set-status", code.lower(), spelling, "--note", "Cuadrilla asignada"
    ).stdout

    assert f"{code} is now in_progress" in out and "2 resident(s)" in out
    assert the_report(sessions, code).status == "in_progress"
    assert events_of(sessions, code) == [
        ("received", None, "resident"),
        ("in_progress", "Cuadrilla asignada", "municipality"),
    ]
    [to_reporter] = messages_to(sessions, chat.phone)
    [to_supporter] = messages_to(sessions, SUPPORTER)
    assert to_reporter.body == (
        f"Novedad en su reporte {code} (Agua): en curso.\nNota: Cuadrilla asignada"
    )
    aymara = to_supporter.body or ""
    assert code in aymara and "reportemax" in aymara and "Uma" in aymara
    assert "Cuadrilla asignada" in aymara and "Novedad" not in aymara
    with sessions() as session:
        outbox = {tuple(e.args): e for e in session.scalars(select(OutboxEntry))}
    for message in (to_reporter, to_supporter):
        assert message.channel == "sms"
        assert_one_sms(message.body or "")
        # Queued with its outbox row, not sent: a worker sends it later.
        assert (message.status, message.twilio_sid, message.attempts) == ("pending", None, 0)
        entry = outbox[(message.id,)]
        assert (entry.job, entry.relayed_at) == ("send_message", None)
    assert count(sessions, OutboundMessage) == queued_before + 2
    assert no_http == []


def test_followers_who_opted_out_or_dropped_report_news_get_nothing(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session], no_http: list[str]
) -> None:
    code = file_report(chat)
    for text in ("5", "3", "4", "0"):  # profile -> topics -> "Sus reportes" off -> done
        chat.say(text)
    with sessions() as session:
        reporter = session.scalar(select(Resident).where(Resident.phone == chat.phone))
        assert reporter is not None and "reports" not in reporter.topics
    quitter = me_too(chat, SUPPORTER)
    assert "no le enviaremos" in quitter.say("BAJA")
    me_too(chat, THIRD)

    out = staff.run("reports", "set-status", code, "resolved").stdout

    assert "1 resident(s)" in out
    assert messages_to(sessions, chat.phone) == []
    assert messages_to(sessions, SUPPORTER) == []
    [told] = bodies_to(sessions, THIRD)
    assert told == f"Novedad en su reporte {code} (Agua): resuelto."


def test_a_long_note_is_shortened_so_each_follower_still_gets_one_sms(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = file_report(chat)
    me_too(chat, SUPPORTER, lang="2")
    note = "La cuadrilla de EPSAS revisará la cañería principal de la calle " * 4

    staff.run("reports", "set-status", code, "rejected", "--note", note)

    assert events_of(sessions, code)[-1] == ("rejected", note, "municipality")
    for phone in (chat.phone, SUPPORTER):
        [body] = bodies_to(sessions, phone)
        assert "La cuadrilla de EPSAS revisara" in body and body.endswith("...")
        assert_one_sms(body)


def test_set_status_refuses_unknown_codes_and_unexplained_rejections(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    unknown = staff.refused("reports", "set-status", "R-ZZZZ", "resolved")
    assert unknown.exit_code == 1 and "R-ZZZZ" in unknown.output

    code = file_report(chat)
    rejected = staff.refused("reports", "set-status", code, "rejected")
    assert rejected.exit_code == 2 and "--note" in rejected.output
    assert staff.refused("reports", "set-status", code, "done").exit_code == 2

    assert the_report(sessions, code).status == "received"
    assert events_of(sessions, code) == [("received", None, "resident")]
    assert messages_to(sessions, chat.phone) == []


# -- the "¿Se resolvió?" follow-up -----------------------------------------------------------


def resolve_and_ask(
    staff: Staff, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, code: str
) -> list[str]:
    """Staff mark the report resolved with FOLLOWUP_DAYS=0 and the worker asks; what it sent."""
    monkeypatch.setenv("FOLLOWUP_DAYS", "0")
    staff.run("reports", "set-status", code, "resolved")
    queued = count(sessions, OutboundMessage)
    assert send_due_followups(sessions) == 1
    with sessions() as session:
        return [
            m.body or ""
            for m in session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ][queued:]


def test_resolved_report_is_followed_up_after_seven_days_by_default(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = file_report(chat)
    staff.run("reports", "set-status", code, "resolved")

    resolved = the_report(sessions, code)
    assert resolved.resolved_at is not None and resolved.followup_due_at is not None
    assert resolved.followup_due_at - resolved.resolved_at == timedelta(days=7)
    assert send_due_followups(sessions) == 0
    assert send_due_followups(sessions, now=utcnow() + timedelta(days=6)) == 0
    assert send_due_followups(sessions, now=utcnow() + timedelta(days=7, minutes=1)) == 1


def test_reporter_is_asked_once_and_answering_no_reopens_the_report(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    me_too(chat, SUPPORTER)

    [question] = resolve_and_ask(staff, sessions, monkeypatch, code)

    assert code in question and question.endswith(QUESTION_ES)
    assert_one_sms(question)
    assert send_due_followups(sessions) == 0
    assert len(bodies_to(sessions, chat.phone)) == 2  # "resuelto" news, then the question
    assert not any("resolvio?" in b for b in bodies_to(sessions, SUPPORTER))

    reply = chat.say("2")

    assert "Reabrimos" in reply and code in reply
    reopened = the_report(sessions, code)
    assert (reopened.status, reopened.followup_due_at) == ("received", None)
    assert events_of(sessions, code)[-1] == ("received", None, "resident")
    # The question is answered: the next "2" is the menu's Encuestas again.
    assert "No hay encuestas" in chat.say("2")
    assert the_report(sessions, code).status == "received"


def test_reporter_confirming_keeps_it_resolved_and_later_messages_are_not_answers(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    resolve_and_ask(staff, sessions, monkeypatch, code)
    assert the_report(sessions, code).status == "resolved"
    events = events_of(sessions, code)

    reply = chat.say("1")

    assert "Gracias por confirmar" in reply and code in reply
    assert the_report(sessions, code).status == "resolved"
    assert "1 Reportar, 2 Encuestas" in chat.say("menu")
    assert "1 Agua" in chat.say("1")  # a menu choice now, not a second answer
    assert [e[0] for e in events_of(sessions, code)[len(events) :]] == ["resolved"]
    assert the_report(sessions, code).status == "resolved"


def test_aymara_reporter_is_asked_in_aymara_and_may_answer_in_words(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    onboard(chat, "2")
    found = CODE.search(report(chat))
    assert found
    code = found.group(0)

    [question] = resolve_and_ask(staff, sessions, monkeypatch, code)

    assert code in question and "reportemax" in question and "1 Jisa / 2 Janiwa" in question
    assert_one_sms(question)
    assert code in chat.say("janiwa")
    assert the_report(sessions, code).status == "received"


def test_whatsapp_reporter_gets_the_question_with_its_accents(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    chat.channel = "whatsapp"
    chat.say("4")  # the resident now writes from WhatsApp

    [question] = resolve_and_ask(staff, sessions, monkeypatch, code)

    assert question.endswith("¿Se resolvió? 1 Sí / 2 No")
    [asked] = [m for m in messages_to(sessions, chat.phone) if m.body == question]
    assert (asked.channel, asked.to_address) == ("whatsapp", f"whatsapp:{chat.phone}")


def test_whatsapp_reporter_silent_for_a_day_is_told_by_sms(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    """WhatsApp refuses free-form messages we start 24 h after the resident last wrote."""
    code = file_report(chat)
    chat.channel = "whatsapp"
    chat.now = utcnow() - timedelta(hours=25)
    chat.say("4")  # their last WhatsApp message

    staff.run("reports", "set-status", code, "in_progress", "--note", "Cuadrilla en camino")

    [news] = messages_to(sessions, chat.phone)
    assert (news.channel, news.to_address) == ("sms", chat.phone)
    assert news.body == f"Novedad en su reporte {code} (Agua): en curso.\nNota: Cuadrilla en camino"


def test_whatsapp_reporter_is_asked_a_week_later_by_sms(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = file_report(chat)
    chat.channel = "whatsapp"
    chat.say("4")  # writes from WhatsApp today

    staff.run("reports", "set-status", code, "resolved")
    assert send_due_followups(sessions, now=utcnow() + timedelta(days=7, minutes=1)) == 1

    news, question = messages_to(sessions, chat.phone)
    assert news.channel == "whatsapp"  # today: inside WhatsApp's 24 h window
    assert (question.channel, question.to_address) == ("sms", chat.phone)
    assert question.body and question.body.endswith(QUESTION_ES)
    assert_one_sms(question.body)


def test_two_resolved_reports_are_asked_about_one_at_a_time(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bare "2" can only answer one question: the second waits until the first is answered."""
    water = file_report(chat)
    found = CODE.search(report(chat, "3", "Basura en la esquina"))
    assert found
    rubbish = found.group(0)
    monkeypatch.setenv("FOLLOWUP_DAYS", "0")
    staff.run("reports", "set-status", water, "resolved")
    staff.run("reports", "set-status", rubbish, "resolved")

    assert send_due_followups(sessions) == 1
    [first] = [b for b in bodies_to(sessions, chat.phone) if b.endswith(QUESTION_ES)]
    assert water in first
    assert send_due_followups(sessions) == 0  # still waiting for the answer

    assert water in chat.say("2")
    assert the_report(sessions, water).status == "received"
    assert the_report(sessions, rubbish).status == "resolved"

    assert send_due_followups(sessions) == 1
    second = [b for b in bodies_to(sessions, chat.phone) if b.endswith(QUESTION_ES)][-1]
    assert rubbish in second and "(Basura)" in second
    assert rubbish in chat.say("1")
    assert the_report(sessions, rubbish).status == "resolved"
    assert send_due_followups(sessions) == 0


def test_an_answer_after_three_days_is_a_menu_choice_again(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    resolve_and_ask(staff, sessions, monkeypatch, code)

    chat.now = utcnow() + timedelta(days=3, hours=1)

    assert "No hay encuestas" in chat.say("2")
    assert the_report(sessions, code).status == "resolved"


def test_opted_out_reporter_is_not_asked_and_not_asked_later(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    chat.say("BAJA")
    monkeypatch.setenv("FOLLOWUP_DAYS", "0")
    staff.run("reports", "set-status", code, "resolved")

    assert send_due_followups(sessions) == 0
    chat.say("ALTA")
    assert send_due_followups(sessions) == 0
    assert messages_to(sessions, chat.phone) == []


def test_after_looking_at_the_menu_one_means_report_a_problem(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    resolve_and_ask(staff, sessions, monkeypatch, code)

    chat.say("menu")

    assert "1 Agua" in chat.say("1")


def test_answer_reopens_even_if_the_resident_left_a_report_half_written(
    staff: Staff,
    chat: Chat,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = file_report(chat)
    chat.say("1")  # starts another report and never finishes it
    monkeypatch.setenv("FOLLOWUP_DAYS", "0")
    staff.run("reports", "set-status", code, "resolved")
    later = utcnow() + timedelta(days=1)
    assert send_due_followups(sessions, now=later) == 1

    chat.now = later + timedelta(minutes=5)

    assert "Reabrimos" in chat.say("2")


# -- polls -----------------------------------------------------------------------------------


def create_poll(staff: Staff, target: str, *extra: str) -> int:
    out = staff.run(
        "poll",
        "create",
        "--to",
        target,
        "--question-es",
        "¿Feria el domingo?",
        "--question-ay",
        "Domingo feria?",
        "--option",
        "Sí|Jisa",
        "--option",
        "No|Janiwa",
        *extra,
    ).stdout
    return int(out.strip())


def test_zona_poll_counts_one_current_vote_per_resident(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    aymara = neighbour(chat, SUPPORTER, lang="2")
    neighbour(chat, THIRD)  # eligible, never votes
    elsewhere = neighbour(chat, FAR_AWAY, zone="Achumani")

    poll_id = create_poll(staff, "zona:Sopocachi", "--closes-in", "3d")

    assert "¿Feria el domingo? 1 Si, 2 No" in chat.say("2")
    assert "Gracias, su voto cuenta" in chat.say("1")
    assert "Domingo feria? 1 Jisa, 2 Janiwa" in aymara.say("2")
    assert "Yuspagara" in aymara.say("2")
    chat.say("2")
    changed = chat.say("2")  # changes their mind
    assert "Cambiamos su voto" in changed and "Votaron 2 de 3 vecinos" in changed
    assert "No hay encuestas" in elsewhere.say("2")

    results = staff.json("poll", "results", str(poll_id), "--json")
    assert results["options"] == [
        {"position": 1, "label": "Sí", "votes": 0},
        {"position": 2, "label": "No", "votes": 2},
    ]
    assert (results["votes"], results["eligible"], results["turnout"]) == (2, 3, 0.6667)
    assert (results["open"], results["target"]) == (True, "zona:Sopocachi")
    with sessions() as session:
        closes = session.scalar(select(Poll.closes_at).where(Poll.id == poll_id))
    assert closes is not None
    closes = closes if closes.tzinfo else closes.replace(tzinfo=UTC)
    assert abs(closes - (utcnow() + timedelta(days=3))) < timedelta(minutes=1)
    assert count(sessions, Vote) == 2
    plain = staff.run("poll", "results", str(poll_id)).stdout
    assert "2. No: 2" in plain and "2 of 3 residents voted (67%)" in plain


def test_citywide_and_macrodistrito_polls_reach_the_right_zonas(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)  # Sopocachi, in Cotahuma
    centro = neighbour(chat, SUPPORTER, zone="San Jorge")

    city = create_poll(staff, "all")
    macro = create_poll(staff, "macro:Centro", "--closes-in", "12h")

    with sessions() as session:
        centro_zones = set(
            session.scalars(select(Zone.name).join(PollZone).where(PollZone.poll_id == macro))
        )
    assert {"San Sebastián", "San Jorge", "Miraflores", "Miraflores Sur"} <= centro_zones
    assert "Sopocachi" not in centro_zones
    picked = centro.say("2")
    assert "Encuestas abiertas: 1" in picked and "2 " in picked  # both polls
    assert "¿Feria el domingo? 1 Si, 2 No" in chat.say("2")  # only the city's: asked at once
    chat.say("1")
    centro.say("1")
    centro.say("1")
    assert staff.json("poll", "results", str(city), "--json")["eligible"] == 2
    assert staff.json("poll", "results", str(macro), "--json")["eligible"] == 1


def test_poll_create_refuses_unknown_zonas_and_single_options(
    staff: Staff, sessions: sessionmaker[Session]
) -> None:
    unknown = staff.refused(
        "poll", "create", "--to", "zona:Narnia", "--question-es", "¿?", "--question-ay", "?",
        "--option", "Sí|Jisa", "--option", "No|Janiwa",
    )  # fmt: skip
    assert unknown.exit_code == 2 and "zona:Narnia" in unknown.output
    lonely = staff.refused(
        "poll", "create", "--to", "all", "--question-es", "¿?", "--question-ay", "?",
        "--option", "Sí|Jisa",
    )  # fmt: skip
    assert lonely.exit_code == 2 and "2 and 9" in lonely.output
    when = staff.refused(
        "poll", "create", "--to", "all", "--question-es", "¿?", "--question-ay", "?",
        "--option", "Sí|Jisa", "--option", "No|Janiwa", "--closes-in", "mañana",
    )  # fmt: skip
    assert when.exit_code == 2 and "3d" in when.output
    assert staff.refused("poll", "results", "999").exit_code == 1
    assert staff.json("stats", "--json")["polls"] == 0


def test_a_poll_too_long_for_one_sms_is_created_with_a_warning(staff: Staff) -> None:
    question = "¿Está de acuerdo con cerrar la calle Guachalla los domingos para la feria? " * 2
    result = staff.run(
        "poll", "create", "--to", "all", "--question-es", question, "--question-ay", "Feria?",
        "--option", "Sí, de acuerdo|Jisa", "--option", "No, prefiero que siga abierta|Janiwa",
    )  # fmt: skip
    poll_id = int(result.stdout.strip())
    assert "warning: the es question costs 2 SMS" in result.stderr
    assert "ay question" not in result.stderr
    assert staff.json("poll", "results", str(poll_id), "--json")["votes"] == 0


def test_poll_created_and_sent_from_the_terminal_is_audited_as_the_console_would(
    staff: Staff, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    out = staff.run(
        "poll", "create", "--to", "zona:Sopocachi", "--question-es", "¿Feria el domingo?",
        "--question-ay", "Domingo feria?", "--option", "Sí|Jisa", "--option", "No|Janiwa",
        "--broadcast",
    ).stdout  # fmt: skip
    poll_id = int(out.splitlines()[0])
    with sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.via, e.actor) for e in entries] == [
        ("poll.create", "cli", "system"),
        ("broadcast.create", "cli", "system"),
        ("poll.invite", "cli", "system"),
    ]
    assert entries[0].target_id == str(poll_id)
    assert entries[0].after and entries[0].after["options"] == [["Sí", "Jisa"], ["No", "Janiwa"]]
    assert entries[2].after and entries[2].after["recipients"] == 1


# -- news ------------------------------------------------------------------------------------


def add_news(staff: Staff, target: str, es: str, ay: str) -> int:
    return int(staff.run("news", "add", "--to", target, "--es", es, "--ay", ay).stdout.strip())


def test_news_newest_first_in_the_residents_language_then_older_then_no_more(
    staff: Staff, chat: Chat
) -> None:
    onboard(chat)
    aymara = neighbour(chat, SUPPORTER, lang="2")
    elsewhere = neighbour(chat, FAR_AWAY, zone="Achumani")
    older = add_news(staff, "all", "Vacunación gratuita el sábado", "Sábado uñt'ayaña")
    newer = add_news(
        staff, "zona:Sopocachi", "Corte de agua el martes en Sopocachi", "Martes uma jan utjkiti"
    )
    assert newer > older

    first = chat.say("3")
    assert first.startswith("Corte de agua el martes") and "MAS" in first
    assert "Vacunacion gratuita el sabado" in chat.say("MAS")
    assert "No hay mas noticias" in chat.say("MAS")

    assert aymara.say("3").startswith("Martes uma jan utjkiti")
    assert elsewhere.say("3").startswith("Vacunacion gratuita")  # no Sopocachi news there


def test_news_that_would_cost_two_sms_is_refused(staff: Staff, chat: Chat) -> None:
    fits = "Feria de salud en la plaza Abaroa, domingo de 9 a 13. Traiga su carnet. " * 2
    too_long = fits + "Habrá vacunas."
    refused = staff.refused("news", "add", "--to", "all", "--es", too_long, "--ay", "Feria")
    assert refused.exit_code == 2 and "--es" in refused.output and "one SMS" in refused.output
    refused = staff.refused("news", "add", "--to", "all", "--es", "Feria", "--ay", too_long)
    assert "--ay" in refused.output
    elsewhere = staff.refused("news", "add", "--to", "zona:Narnia", "--es", "F", "--ay", "F")
    assert "zona:Narnia" in elsewhere.output
    assert staff.json("stats", "--json")["news"] == 0

    add_news(staff, "all", fits.strip(), "Feria")
    add_news(staff, "all", fits.strip(), "Feria")
    onboard(chat)
    shown = chat.say("3")
    assert "MAS" in shown
    assert_one_sms(shown)


def test_news_added_from_the_terminal_is_audited(
    staff: Staff, sessions: sessionmaker[Session]
) -> None:
    item = add_news(staff, "zona:Sopocachi", "Feria el domingo", "Domingo feria")
    with sessions() as session:
        (entry,) = session.scalars(select(AuditEntry))
    assert (entry.action, entry.target_type, entry.target_id) == ("news.publish", "news", str(item))
    assert entry.after == {
        "target": "zona:Sopocachi",
        "text_es": "Feria el domingo",
        "text_ay": "Domingo feria",
    }


# -- stats -----------------------------------------------------------------------------------


def test_stats_counts_reports_votes_polls_and_news(staff: Staff, chat: Chat) -> None:
    before = staff.json("stats", "--json")
    assert {k: before[k] for k in ("reports", "votes", "polls", "news")} == dict.fromkeys(
        ("reports", "votes", "polls", "news"), 0
    )
    code = file_report(chat)
    me_too(chat, SUPPORTER)
    staff.run("reports", "set-status", code, "in_progress")
    create_poll(staff, "all")
    create_poll(staff, "zona:Achumani")
    add_news(staff, "all", "Feria el domingo", "Domingo feria")
    chat.say("2")
    chat.say("1")

    figures = staff.json("stats", "--json")

    assert [figures[k] for k in ("reports", "votes", "polls", "news")] == [1, 1, 2, 1]
    assert figures["reports_by_status"] == {"in_progress": 1}
    assert figures["residents"] == 2
