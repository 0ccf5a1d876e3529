"""Polls in the console: create (es|ay options), invite, close, results by zona with an SVG
chart; what each role may see and do. Residents vote by chatting or through storage's
cast_vote, as the engine does."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import polls as poll_store
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import (
    AuditEntry,
    Broadcast,
    Poll,
    Resident,
    Zone,
    aware,
    utcnow,
)
from tests.admin.conftest import Browser, add_staff
from tests.conftest import Chat
from tests.factories import add_poll, add_residents, leader, neighbour, onboard

CITY = "alcaldia@lapaz.bo"
LEADER = "dirigente@sopocachi.bo"
SUB = "cotahuma@lapaz.bo"  # the subalcaldía of Cotahuma, where Sopocachi is
VIEWER = "ojo@lapaz.bo"
TRANSLATOR = "aymara@lapaz.bo"


def staff_in(browser: Browser, sessions: sessionmaker[Session], email: str) -> Browser:
    """Create the staff user the email stands for and sign them in."""
    roles: dict[str, tuple[StaffRole, dict[str, str]]] = {
        CITY: (StaffRole.MUNICIPALITY, {}),
        LEADER: (StaffRole.LEADER, {"zone": "Sopocachi"}),
        SUB: (StaffRole.SUBALCALDIA, {"macro": "Cotahuma"}),
        VIEWER: (StaffRole.VIEWER, {}),
        TRANSLATOR: (StaffRole.TRANSLATOR, {}),
    }
    role, place = roles[email]
    add_staff(sessions, email, role, **place)
    assert browser.login(email).status_code == 302
    return browser


def create(browser: Browser, form: str = "/admin/encuestas/nueva", **fields: Any) -> Any:
    data = {
        "target": "zona:Sopocachi",
        "question_es": "¿Feria el domingo en la plaza?",
        "question_ay": "Domingo plazan feria?",
        "options": "Sí|Jisa\nNo|Janiwa\n",
        **fields,
    }
    return browser.post("/admin/encuestas/nueva", data, form=form)


def zone_poll(sessions: sessionmaker[Session], zone: str | None, question: str = "¿Feria?") -> int:
    with transaction(sessions) as session:
        return add_poll(session, question, zone=zone).id


def vote(sessions: sessionmaker[Session], poll_id: int, resident_ids: list[int], pos: int) -> None:
    with transaction(sessions) as session:
        poll = session.get(Poll, poll_id)
        assert poll is not None
        option = next(o for o in poll.options if o.position == pos)
        for resident_id in resident_ids:
            resident = session.get(Resident, resident_id)
            assert resident is not None
            poll_store.cast_vote(session, poll, resident, option)


def audit(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, str | None]]:
    with sessions() as session:
        return [
            (e.action, e.actor, e.via, e.target_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action not in ("login", "login.failed")
        ]


def the_poll(sessions: sessionmaker[Session], poll_id: int) -> Poll:
    with sessions() as session:
        found = session.get(Poll, poll_id)
        assert found is not None
        found.options  # noqa: B018 - loaded before the session closes
        return found


def invitations(sessions: sessionmaker[Session]) -> list[Broadcast]:
    with sessions() as session:
        return list(session.scalars(select(Broadcast).order_by(Broadcast.id)))


# -- creating -------------------------------------------------------------------------------


def test_polls_need_a_signed_in_user(browser: Browser, sessions: sessionmaker[Session]) -> None:
    poll_id = zone_poll(sessions, "Sopocachi")
    for path in ("/admin/encuestas", "/admin/encuestas/nueva", f"/admin/encuestas/{poll_id}"):
        answer = browser.get(path)
        assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_the_city_creates_a_poll_with_options_in_both_languages(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    assert "Encuestas" in browser.get("/admin/").get_data(as_text=True)

    answer = create(
        browser,
        target=["zona:Sopocachi", "macro:Centro"],
        options="Sí|Jisa\n\n  No | Janiwa \nTal vez\n",
        closes_at="2099-03-01T18:30",
    )

    assert answer.status_code == 302
    (poll_id,) = [
        int(n) for n in re.findall(r"/admin/encuestas/(\d+)$", answer.headers["Location"])
    ]
    poll = the_poll(sessions, poll_id)
    assert (poll.question_es, poll.question_ay) == (
        "¿Feria el domingo en la plaza?",
        "Domingo plazan feria?",
    )
    assert [(o.position, o.label_es, o.label_ay) for o in poll.options] == [
        (1, "Sí", "Jisa"),
        (2, "No", "Janiwa"),
        (3, "Tal vez", "Tal vez"),  # no Aymara given: the Spanish serves both
    ]
    assert poll.target == "zona:Sopocachi,macro:Centro" and not poll.citywide
    assert poll.closes_at is not None
    assert aware(poll.closes_at).isoformat() == "2099-03-01T22:30:00+00:00"  # La Paz is UTC-4
    assert invitations(sessions) == []  # created, nobody told yet
    assert audit(sessions) == [("poll.create", CITY, "web", str(poll_id))]

    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Encuesta creada" not in page and f"Encuesta {poll_id} creada" in page
    assert "Nadie fue invitado todavía" in page
    assert "Votaron 0 de 0 vecino(s)" in page


def test_a_poll_needs_two_to_nine_options_and_a_future_closing_time(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    one = create(browser, options="Sí|Jisa").get_data(as_text=True)
    assert "de 2 a 9 opciones" in one
    ten = create(browser, options="\n".join(f"Opción {n}" for n in range(10)))
    assert "de 2 a 9 opciones" in ten.get_data(as_text=True)
    no_spanish = create(browser, options="Sí|Jisa\n|Janiwa").get_data(as_text=True)
    assert "Opción sin texto en español" in no_spanish
    past = create(browser, closes_at="2001-01-01T08:00").get_data(as_text=True)
    assert "La hora de cierre ya pasó" in past
    no_aymara = create(browser, question_ay="").get_data(as_text=True)
    assert "This field is required" in no_aymara
    with sessions() as session:
        assert list(session.scalars(select(Poll))) == []
    assert audit(sessions) == []


def test_a_question_longer_than_one_sms_is_created_with_a_warning(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    long = "¿Está de acuerdo con cerrar la calle Guachalla los domingos para la feria? " * 2
    answer = create(browser, question_es=long.strip())
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "la pregunta en español ocupa 2 SMS por vecino" in page
    assert "pregunta en aymara ocupa" not in page


# -- inviting and closing ---------------------------------------------------------------------


def test_inviting_previews_the_cost_then_sends_a_poll_broadcast_once(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 3, zone="Sopocachi")
    add_residents(sessions, 2, zone="Sopocachi", language="ay")
    add_residents(sessions, 4, zone="Miraflores")  # not in the poll's zona
    staff_in(browser, sessions, CITY)
    poll_id = int(create(browser).headers["Location"].rsplit("/", 1)[1])
    page = f"/admin/encuestas/{poll_id}"

    preview = browser.post(f"{page}/invitar", {}, form=page).get_data(as_text=True)

    assert "5 vecino(s), 5 SMS en total" in preview
    assert "Encuesta: ¿Feria el domingo en la plaza? 1 Si, 2 No. Responda con el numero." in preview
    assert "Domingo plazan feria? 1 Jisa, 2 Janiwa" in preview
    assert invitations(sessions) == []
    assert [a for a, *_ in audit(sessions)] == ["poll.create"]

    sent = browser.post(f"{page}/invitar", {"confirmar": "1"}, form=page)

    assert sent.status_code == 302 and "/admin/difusiones/" in sent.headers["Location"]
    (invitation,) = invitations(sessions)
    assert (invitation.kind, invitation.poll_id, invitation.recipients) == ("poll", poll_id, 5)
    assert (invitation.target, invitation.status) == ("zona:Sopocachi", "scheduled")
    assert [a for a, *_ in audit(sessions)] == ["poll.create", "broadcast.create", "poll.invite"]
    shown = browser.get(page).get_data(as_text=True)
    assert f"Difusión {invitation.id}</a>: 5 vecino(s), programada" in shown
    assert "Invitar a votar" not in shown  # sent once: the button is gone

    again = browser.post(f"{page}/invitar", {"confirmar": "1"}, form=f"{page}")
    assert again.status_code == 302
    assert "ya se envió (difusión" in browser.get(page).get_data(as_text=True)
    assert len(invitations(sessions)) == 1


def test_closing_stops_votes_and_cancels_an_invitation_not_yet_sent(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    staff_in(browser, sessions, CITY)
    poll_id = int(create(browser).headers["Location"].rsplit("/", 1)[1])
    page = f"/admin/encuestas/{poll_id}"
    browser.post(f"{page}/invitar", {"confirmar": "1"}, form=page)

    answer = browser.post(f"{page}/cerrar", {}, form=page)

    assert answer.status_code == 302
    shown = browser.get(page).get_data(as_text=True)
    assert f"Encuesta {poll_id} cerrada: ya no se aceptan votos" in shown
    assert "Se canceló la invitación que todavía se estaba enviando" in shown
    assert "1 vecino(s), cancelada" in shown
    assert "Cerrar la encuesta ahora" not in shown and "Invitar a votar" not in shown
    poll = the_poll(sessions, poll_id)
    assert poll.closes_at is not None and not poll.is_open(utcnow())
    assert [b.status for b in invitations(sessions)] == ["canceled"]
    assert [a for a, *_ in audit(sessions)][-2:] == ["broadcast.cancel", "poll.close"]
    assert "No hay encuestas abiertas" in chat.say("2")

    browser.post(f"{page}/cerrar", {}, form="/admin/encuestas")
    assert "La encuesta ya estaba cerrada" in browser.get(page).get_data(as_text=True)
    browser.post(f"{page}/invitar", {"confirmar": "1"}, form="/admin/encuestas")
    assert "La encuesta está cerrada" in browser.get(page).get_data(as_text=True)
    assert len(invitations(sessions)) == 1
    assert [a for a, *_ in audit(sessions)].count("poll.close") == 1


# -- results ----------------------------------------------------------------------------------


def test_results_show_turnout_by_zona_and_an_svg_chart(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    poll_id = zone_poll(sessions, None, "¿Feria el domingo?")  # the whole city
    sopocachi = add_residents(sessions, 4, zone="Sopocachi")
    miraflores = add_residents(sessions, 2, zone="Miraflores")
    add_residents(sessions, 3, zone="Achumani")  # nobody there votes
    vote(sessions, poll_id, sopocachi[:3], 1)
    vote(sessions, poll_id, miraflores[:1], 2)
    staff_in(browser, sessions, CITY)

    page = browser.get(f"/admin/encuestas/{poll_id}").get_data(as_text=True)

    assert "Votaron 4 de 9 vecino(s)</strong> (44% de participación)" in page
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(charts) == 2
    votes, turnout = charts
    assert 'role="img"' in votes and "<title id=" in votes
    assert "<desc" in votes and "1. Sí: 3 (75%); 2. No: 1 (25%)" in votes
    assert "Sopocachi: 75% (3 de 4)" in turnout and "Miraflores: 50% (1 de 2)" in turnout
    assert "Achumani: 0% (0 de 3)" in turnout
    assert "<script" not in page  # no JavaScript: the chart is drawn on the server
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', page)
    by_zone = {name: re.findall(r'<td class="n">([^<]+)</td>', cells) for name, cells in rows}
    assert by_zone["Sopocachi"] == ["3", "0", "3", "4", "75%"]
    assert by_zone["Miraflores"] == ["0", "1", "1", "2", "50%"]
    assert by_zone["Achumani"] == ["0", "0", "0", "3", "0%"]
    listed = browser.get("/admin/encuestas").get_data(as_text=True)
    assert "¿Feria el domingo?" in listed and '<td class="n">4</td>' in listed


def test_a_voter_who_moved_away_counts_but_not_under_a_zona_of_another_scope(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    poll_id = zone_poll(sessions, "Sopocachi")
    voters = add_residents(sessions, 2, zone="Sopocachi")
    vote(sessions, poll_id, voters, 1)
    with transaction(sessions) as session:
        moved = session.get(Resident, voters[0])
        assert moved is not None
        moved.zone_id = session.scalars(select(Zone.id).where(Zone.name == "Achumani")).one()
    staff_in(browser, sessions, LEADER)
    page = browser.get(f"/admin/encuestas/{poll_id}").get_data(as_text=True)
    assert "Votaron 2 de 2 vecino(s)" in page
    assert "Otra zona o sin zona" in page and "Achumani" not in page


def test_option_labels_with_markup_are_shown_as_text_in_the_chart(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        poll = add_poll(
            session,
            "<b>¿Feria?</b>",
            options=(("<script>alert(1)</script>", "x"), ("No & nada", "Janiwa")),
            zone="Sopocachi",
        )
        poll_id = poll.id
    staff_in(browser, sessions, CITY)
    page = browser.get(f"/admin/encuestas/{poll_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>¿Feria" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "No &amp; nada" in page


# -- who may do what --------------------------------------------------------------------------


def test_a_leader_works_only_with_their_zona(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    own = zone_poll(sessions, "Sopocachi", "¿En Sopocachi?")
    other = zone_poll(sessions, "Miraflores", "¿En Miraflores?")
    city = zone_poll(sessions, None, "¿En la ciudad?")
    add_residents(sessions, 2, zone="Sopocachi")
    staff_in(browser, sessions, LEADER)

    listed = browser.get("/admin/encuestas").get_data(as_text=True)
    assert "¿En Sopocachi?" in listed
    assert "¿En Miraflores?" not in listed and "¿En la ciudad?" not in listed
    form = browser.get("/admin/encuestas/nueva").get_data(as_text=True)
    assert 'value="zona:Sopocachi"' in form
    assert 'value="zona:Miraflores"' not in form and 'value="all"' not in form
    refused = create(browser, target="all")
    assert refused.status_code == 200 and "not a valid choice" in refused.get_data(as_text=True)
    for poll_id in (other, city):
        page = f"/admin/encuestas/{poll_id}"
        assert browser.get(page).status_code == 403
        for action in ("invitar", "cerrar"):
            answer = browser.post(f"{page}/{action}", {"confirmar": "1"}, form="/admin/encuestas")
            assert answer.status_code == 403
    assert invitations(sessions) == []
    assert all(the_poll(sessions, p).is_open(utcnow()) for p in (other, city))

    created = create(browser)
    assert created.status_code == 302
    new = int(created.headers["Location"].rsplit("/", 1)[1])
    page = f"/admin/encuestas/{new}"
    assert browser.post(f"{page}/invitar", {"confirmar": "1"}, form=page).status_code == 302
    assert browser.post(f"{page}/cerrar", {}, form=page).status_code == 302
    own_page = f"/admin/encuestas/{own}"
    assert browser.get(own_page).status_code == 200
    assert [a for a, actor, *_ in audit(sessions) if actor == LEADER] == [
        "poll.create",
        "broadcast.create",
        "poll.invite",
        "broadcast.cancel",
        "poll.close",
    ]


def test_a_leaders_invitations_count_towards_their_daily_limit(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 2, zone="Sopocachi")
    staff_in(browser, sessions, LEADER)
    pages = []
    for _ in range(4):
        created = create(browser)
        assert created.status_code == 302
        pages.append(created.headers["Location"].replace("https://localhost", ""))
    for page in pages[:3]:
        sent = browser.post(f"{page}/invitar", {"confirmar": "1"}, form=page)
        assert "/admin/difusiones/" in sent.headers["Location"]

    fourth = browser.post(f"{pages[3]}/invitar", {"confirmar": "1"}, form=pages[3])

    assert fourth.status_code == 302
    assert "3 avisos por día" in browser.get(pages[3]).get_data(as_text=True)
    assert len(invitations(sessions)) == 3


def test_a_subalcaldia_reaches_its_macrodistrito_only(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    own = zone_poll(sessions, "Sopocachi", "¿En Sopocachi?")
    other = zone_poll(sessions, "Miraflores", "¿En Miraflores?")
    staff_in(browser, sessions, SUB)
    assert browser.get(f"/admin/encuestas/{own}").status_code == 200
    assert browser.get(f"/admin/encuestas/{other}").status_code == 403
    form = browser.get("/admin/encuestas/nueva").get_data(as_text=True)
    assert 'value="macro:Cotahuma"' in form and 'value="macro:Centro"' not in form
    assert create(browser, target="macro:Cotahuma").status_code == 302


def test_a_viewer_reads_results_but_changes_nothing(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    poll_id = zone_poll(sessions, "Sopocachi", "¿Feria?")
    staff_in(browser, sessions, VIEWER)
    page = f"/admin/encuestas/{poll_id}"
    listed = browser.get("/admin/encuestas").get_data(as_text=True)
    assert "¿Feria?" in listed and "Nueva encuesta" not in listed
    shown = browser.get(page).get_data(as_text=True)
    assert "Votaron 0 de 0" in shown
    assert "Invitar a votar" not in shown and "Cerrar la encuesta" not in shown
    assert browser.get("/admin/encuestas/nueva").status_code == 403
    assert create(browser, form="/admin/encuestas").status_code == 403
    for action in ("invitar", "cerrar"):
        assert browser.post(f"{page}/{action}", {"confirmar": "1"}, form=page).status_code == 403
    assert the_poll(sessions, poll_id).is_open(utcnow())
    assert invitations(sessions) == [] and audit(sessions) == []


def test_a_translator_has_no_polls(browser: Browser, sessions: sessionmaker[Session]) -> None:
    poll_id = zone_poll(sessions, "Sopocachi")
    staff_in(browser, sessions, TRANSLATOR)
    assert "Encuestas" not in browser.get("/admin/").get_data(as_text=True)
    for path in ("/admin/encuestas", "/admin/encuestas/nueva", f"/admin/encuestas/{poll_id}"):
        assert browser.get(path).status_code == 403
    for action in ("invitar", "cerrar"):
        answer = browser.post(f"/admin/encuestas/{poll_id}/{action}", {}, form="/admin/")
        assert answer.status_code == 403


def test_an_unknown_poll_is_not_found(browser: Browser, sessions: sessionmaker[Session]) -> None:
    staff_in(browser, sessions, CITY)
    assert browser.get("/admin/encuestas/999").status_code == 404


def test_a_poll_a_leader_sent_by_sms_shows_on_the_web_already_sent(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    lead = leader(chat)
    neighbour(lead, "+59171000901")
    lead.say("ENCUESTA")
    lead.say("¿Minga el sábado?")
    lead.say("Sí, No")
    lead.say("3")
    assert "Listo" in lead.say("1")
    staff_in(browser, sessions, LEADER)
    listed = browser.get("/admin/encuestas").get_data(as_text=True)
    (poll_id,) = re.findall(r"/admin/encuestas/(\d+)", listed)
    page = browser.get(f"/admin/encuestas/{poll_id}").get_data(as_text=True)
    assert "¿Minga el sábado?" in page and "Invitar a votar" not in page
    assert "2 vecino(s), programada" in page  # the leader and their neighbour
    refused = browser.post(
        f"/admin/encuestas/{poll_id}/invitar", {"confirmar": "1"}, form="/admin/encuestas"
    )
    assert refused.status_code == 302 and len(invitations(sessions)) == 1
