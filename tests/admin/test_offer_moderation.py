"""Offer moderation in the console: a zona's setting, and staff or the zona's leader deciding
on the offers waiting; the offerer is told by SMS as when a leader decides by SMS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEntry, ServiceOffer, Zone
from tests.admin.conftest import Browser
from tests.admin.test_polls import CITY, LEADER, staff_in
from tests.conftest import Chat
from tests.flows.test_offer_moderation import (
    APPROVED,
    OFFERER,
    REMOVED,
    RESTORED,
    WAITING,
    moderate,
    offer,
    offers,
    reported_by_three,
    searched,
    told,
)


def test_staff_turn_moderation_on_and_decide_in_the_console(
    browser: Browser, new_browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    with sessions() as session:
        sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        achumani = session.scalars(select(Zone.id).where(Zone.name == "Achumani")).one()
    form = "/admin/ofertas"
    on = {"zona": sopocachi, "moderada": "1"}
    assert browser.post("/admin/ofertas/moderacion", on, form=form).status_code == 302
    assert WAITING["es"] in offer(chat) and offers(chat) == [("Arreglo grifos", True)]
    page = browser.get(form).get_data(as_text=True)
    assert "Esperan aprobación" in page and "+59171000501" in page

    lead = staff_in(new_browser(), sessions, LEADER)
    # Another zona's setting is not theirs to change.
    off_elsewhere = {"zona": achumani, "moderada": "0"}
    assert lead.post("/admin/ofertas/moderacion", off_elsewhere, form=form).status_code == 403
    with sessions() as session:
        offer_id = session.scalars(select(ServiceOffer.id)).one()
    answer = lead.post(f"/admin/ofertas/{offer_id}/aprobar", {}, form=form)
    assert answer.status_code == 302
    assert offers(chat) == [("Arreglo grifos", False)]
    [message] = told(chat)
    assert APPROVED["es"] in message
    assert "Arreglo grifos" in searched(chat)
    # Approving twice tells nobody twice.
    lead.post(f"/admin/ofertas/{offer_id}/aprobar", {}, form=form)
    assert len(told(chat)) == 1
    with sessions() as session:
        actions = [
            (e.actor, e.action)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action not in ("login", "logout")
        ]
    assert actions == [(CITY, "zone.offers_moderated"), (LEADER, "offer.approve")]


def test_turning_moderation_off_approves_those_waiting(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    moderate(chat)
    offer(chat)
    staff_in(browser, sessions, CITY)
    with sessions() as session:
        sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
    off = {"zona": sopocachi, "moderada": "0"}
    assert browser.post("/admin/ofertas/moderacion", off, form="/admin/ofertas").status_code == 302
    assert offers(chat) == [("Arreglo grifos", False)]
    assert APPROVED["es"] in told(chat)[0]


def hidden_then_changed(chat: Chat, sessions: sessionmaker[Session]) -> str:
    """Reports hide the offer, the zona starts moderating, and its offerer changes it (so it
    also waits for approval); the offerer's last reply."""
    offer(chat)
    reported_by_three(chat)
    moderate(chat)
    offerer = Chat(sessions, phone=OFFERER)
    for text in ("OFREZCO", "4", "1", "Arreglo grifos y duchas"):
        offerer.say(text)
    return offerer.say("1")


def test_turning_moderation_off_leaves_a_reported_offer_hidden(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    """Reports hid the offer, then it waited for approval too: releasing those waiting does
    not review the neighbours' reports."""
    hidden_then_changed(chat, sessions)
    staff_in(browser, sessions, CITY)
    with sessions() as session:
        sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
    off = {"zona": sopocachi, "moderada": "0"}
    assert browser.post("/admin/ofertas/moderacion", off, form="/admin/ofertas").status_code == 302
    assert offers(chat) == [("Arreglo grifos y duchas", False)]
    assert "Arreglo grifos y duchas" not in searched(chat)
    assert told(chat) == []
    page = browser.get("/admin/ofertas").get_data(as_text=True)
    assert "Arreglo grifos y duchas" in page.split("Ocultas por reportes", 1)[1].split("Todas")[0]


@pytest.mark.parametrize(
    ("button", "action", "message"),
    [("aprobar", "offer.restore", RESTORED["es"]), ("rechazar", "offer.remove", REMOVED["es"])],
)
def test_deciding_on_a_waiting_offer_that_reports_hid_reviews_it(
    browser: Browser,
    chat: Chat,
    sessions: sessionmaker[Session],
    button: str,
    action: str,
    message: str,
) -> None:
    """An offer reports hid, changed by its offerer once the zona moderates: it waits and is
    hidden. Aprobar shows it again (its reports dropped), Rechazar removes it; the offerer hears
    of the review and the audit says what happened."""
    assert "sigue oculta por los reportes" in hidden_then_changed(chat, sessions)
    assert offers(chat) == [("Arreglo grifos y duchas", True)]
    staff_in(browser, sessions, CITY)
    with sessions() as session:
        offer_id = session.scalars(select(ServiceOffer.id)).one()
    assert (
        browser.post(f"/admin/ofertas/{offer_id}/{button}", {}, form="/admin/ofertas").status_code
        == 302
    )
    [told_offerer] = told(chat)
    assert message in told_offerer
    if button == "aprobar":
        assert offers(chat) == [("Arreglo grifos y duchas", False)]
        assert "Arreglo grifos y duchas" in searched(chat)
    else:
        assert offers(chat) == []
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action.like("offer.%"))).one()
    assert (entry.action, entry.target_id, entry.before["reports"]) == (action, str(offer_id), 3)
