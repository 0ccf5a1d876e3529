"""Mapeo in the console: the review queue by zona and status, approve / edit / reject, and who
may see and do what (a leader their zona only, viewers read only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import actions
from storage import mapping as store
from storage.db import transaction
from storage.models import AuditEntry, InfoItem, MappedItem, Report, Resident, Zone, utcnow
from tests.admin.conftest import Browser
from tests.admin.test_polls import CITY, LEADER, TRANSLATOR, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import neighbour, onboard


def mapped(chat: Chat, phone: str, zone: str, kind: str, words: str) -> int:
    """A resident of `zone` registered as mapper who recorded one item; the item's id."""
    youth = neighbour(chat, phone, zone=zone)
    with transaction(chat.sessions) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == youth.phone)).one()
        found = session.scalars(select(Zone).where(Zone.name == zone)).one()
        actions.add_mapper(session, resident, found)
        mapper = store.mapper_of(session, resident.id)
        assert mapper is not None
        return store.record_item(session, mapper, kind, words, now=utcnow()).id


def status(sessions: sessionmaker[Session], item_id: int) -> str:
    with sessions() as session:
        item = session.get(MappedItem, item_id)
        assert item is not None
        return item.status


def test_the_city_reviews_the_queue_and_approves_edits_and_rejects(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    park = mapped(chat, "+59171000981", "Sopocachi", "park", "Plaza Avaroa")
    dark = mapped(chat, "+59171000982", "Achumani", "dangerous_spot", "Callejón oscuro")
    staff_in(browser, sessions, CITY)
    page = browser.get("/admin/mapeo").get_data(as_text=True)
    assert "Plaza Avaroa" in page and "Callejón oscuro" in page and "+59171000981" in page
    assert "Mapeo" in browser.get("/admin/").get_data(as_text=True)

    edit = {"decision": "edit", "description": "Plaza Avaroa con juegos", "note": ""}
    assert browser.post(f"/admin/mapeo/{park}", edit, form="/admin/mapeo").status_code == 302
    approve = {"decision": "approve", "description": "", "note": ""}
    assert browser.post(f"/admin/mapeo/{park}", approve, form="/admin/mapeo").status_code == 302
    reject = {"decision": "reject", "description": "", "note": "No es peligroso"}
    assert browser.post(f"/admin/mapeo/{dark}", reject, form="/admin/mapeo").status_code == 302
    again = browser.post(
        f"/admin/mapeo/{dark}", approve, form="/admin/mapeo", follow_redirects=True
    )
    assert "ya fue revisado" in again.get_data(as_text=True)

    with sessions() as session:
        info = session.scalars(select(InfoItem).where(InfoItem.source == "mapeo")).one()
        assert info.text_es == "Parque o plaza: Plaza Avaroa con juegos"
        assert session.scalars(select(Report)).all() == []
        audited = list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("mapping.%"))
                .order_by(AuditEntry.id)
            )
        )
    assert audited == ["mapping.edit", "mapping.approve", "mapping.reject"]
    assert (status(sessions, park), status(sessions, dark)) == ("approved", "rejected")
    # The filters: the rejected one, with its note, and Achumani only.
    shown = browser.get("/admin/mapeo?estado=rejected").get_data(as_text=True)
    assert "No es peligroso" in shown and "Plaza Avaroa" not in shown


def test_a_leader_reviews_their_zona_only(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    ours = mapped(chat, "+59171000983", "Sopocachi", "no_water", "Sin agua en la calle Ecuador")
    theirs = mapped(chat, "+59171000984", "Achumani", "park", "Parque de Achumani")
    staff_in(browser, sessions, LEADER)
    page = browser.get("/admin/mapeo").get_data(as_text=True)
    assert "Sin agua en la calle Ecuador" in page and "Parque de Achumani" not in page
    assert "+591•" in page and "+59171000983" not in page  # phones masked
    with sessions() as session:
        achumani = session.scalars(select(Zone.id).where(Zone.name == "Achumani")).one()
    assert browser.get(f"/admin/mapeo?zona={achumani}").status_code == 403
    approve = {"decision": "approve", "description": "", "note": ""}
    assert browser.post(f"/admin/mapeo/{theirs}", approve, form="/admin/mapeo").status_code == 403
    assert status(sessions, theirs) == "pending"
    assert browser.post(f"/admin/mapeo/{ours}", approve, form="/admin/mapeo").status_code == 302
    with sessions() as session:
        report = session.scalars(select(Report)).one()
        assert (report.category, report.mapped) == ("agua", True)
    # Registering a mapper of another zona is refused too.
    refused = browser.post(
        "/admin/mapeo/mapeadores", {"phone": "+59171000984"}, form="/admin/mapeo"
    )
    assert refused.status_code == 403


def test_a_viewer_reads_and_a_translator_does_not_see_the_queue(
    browser: Browser, new_browser: object, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    item = mapped(chat, "+59171000985", "Sopocachi", "school", "Escuela Sopocachi")
    staff_in(browser, sessions, VIEWER)
    page = browser.get("/admin/mapeo").get_data(as_text=True)
    assert "Escuela Sopocachi" in page and "Aprobar" not in page
    approve = {"decision": "approve", "description": "", "note": ""}
    assert browser.post(f"/admin/mapeo/{item}", approve, form="/admin/mapeo").status_code == 403
    assert status(sessions, item) == "pending"
    translator = new_browser()  # type: ignore[operator]
    staff_in(translator, sessions, TRANSLATOR)
    assert translator.get("/admin/mapeo").status_code == 403


def test_the_city_registers_a_mapper_who_gets_the_welcome(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    youth = neighbour(chat, "+59171000986")
    staff_in(browser, sessions, CITY)
    added = browser.post(
        "/admin/mapeo/mapeadores", {"phone": "71000986"}, form="/admin/mapeo", follow_redirects=True
    )
    assert "Mapeador de Sopocachi registrado" in added.get_data(as_text=True)
    assert "Mapeo de Sopocachi" in youth.say("MAPEO")
    unknown = browser.post(
        "/admin/mapeo/mapeadores", {"phone": "71000999"}, form="/admin/mapeo", follow_redirects=True
    )
    assert "no está inscrito" in unknown.get_data(as_text=True)
