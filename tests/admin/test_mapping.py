"""Mapeo in the console: the review queue by zona and status, approve / edit / reject, and who
may see and do what (a leader their zona only, viewers read only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import actions
from storage import mapping as store
from storage.db import transaction
from storage.models import (
    AuditEntry,
    InfoItem,
    MappedItem,
    Mapper,
    OutboundMessage,
    Report,
    Resident,
    Zone,
    utcnow,
)
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


def test_a_leader_removes_a_mapper_of_their_zona_only_and_it_is_audited(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    mapped(chat, "+59171000987", "Sopocachi", "park", "Plaza Avaroa")
    mapped(chat, "+59171000988", "Achumani", "park", "Parque de Achumani")
    with sessions() as session:
        ours, theirs = (
            session.scalars(select(Mapper.id).join(Resident).where(Resident.phone == phone)).one()
            for phone in ("+59171000987", "+59171000988")
        )
    staff_in(browser, sessions, LEADER)
    page = browser.get("/admin/mapeo").get_data(as_text=True)
    assert "Dar de baja" in page
    # Without the form's token: refused.
    assert browser.client.post(f"/admin/mapeo/mapeadores/{ours}/baja").status_code == 400
    away = browser.post(f"/admin/mapeo/mapeadores/{theirs}/baja", {}, form="/admin/mapeo")
    assert away.status_code == 403
    done = browser.post(
        f"/admin/mapeo/mapeadores/{ours}/baja", {}, form="/admin/mapeo", follow_redirects=True
    )
    assert "Mapeador de Sopocachi dado de baja" in done.get_data(as_text=True)
    with sessions() as session:
        assert [m.active for m in session.scalars(select(Mapper).order_by(Mapper.id))] == [
            False,
            True,
        ]
        assert session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "mapper.remove")
        ).all() == ["mapper.remove"]
        body = session.scalars(
            select(OutboundMessage.body).order_by(OutboundMessage.id.desc())
        ).first()
    assert body is not None and "ya no es mapeador de Sopocachi" in body


def test_the_reviewer_corrects_the_kind_and_the_approval_follows_it(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    item = mapped(chat, "+59171000989", "Sopocachi", "park", "Hueco grande en la esquina")
    staff_in(browser, sessions, CITY)
    assert 'name="kind"' in browser.get("/admin/mapeo").get_data(as_text=True)
    wrong = {"decision": "approve", "description": "", "note": "", "kind": "volcano"}
    assert browser.post(f"/admin/mapeo/{item}", wrong, form="/admin/mapeo").status_code == 400
    fixed = {"decision": "approve", "description": "", "note": "", "kind": "pothole"}
    assert browser.post(f"/admin/mapeo/{item}", fixed, form="/admin/mapeo").status_code == 302
    with sessions() as session:
        report = session.scalars(select(Report)).one()
        row = session.get(MappedItem, item)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "mapping.approve")
        ).one()
    assert row is not None and (row.kind, row.status) == ("pothole", "approved")
    assert report.category == "calles" and report.mapped
    assert "pothole" in str(audit.after)
    assert "park" in str(audit.before)


def test_the_queue_pages_by_fifty_and_keeps_its_filters(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    mapped(chat, "+59171000990", "Sopocachi", "park", "Plaza numero 0")
    with transaction(chat.sessions) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == "+59171000990")).one()
        mapper = store.mapper_of(session, resident.id)
        assert mapper is not None
        for n in range(1, 120):
            store.record_item(session, mapper, "park", f"Plaza numero {n}", now=utcnow())
        sopocachi = mapper.zone_id
    staff_in(browser, sessions, CITY)
    filters = f"zona={sopocachi}&amp;estado=all"
    shown = browser.get(f"/admin/mapeo?zona={sopocachi}&estado=all").get_data(as_text=True)
    # Newest first: 119..70 on the first page, then 69..20, then 19..0.
    assert "Plaza numero 119<" in shown and "Plaza numero 70<" in shown
    assert "Plaza numero 69<" not in shown
    assert "Página 1 de 3 (120 en total)." in shown
    assert f'href="/admin/mapeo?{filters}&amp;pagina=2" rel="next"' in shown
    second = browser.get(f"/admin/mapeo?zona={sopocachi}&estado=all&pagina=2")
    page = second.get_data(as_text=True)
    # The 51st row first.
    assert page.index("Plaza numero 69<") < page.index("Plaza numero 20<")
    assert "Plaza numero 70<" not in page and "Plaza numero 19<" not in page
    assert f'href="/admin/mapeo?{filters}&amp;pagina=3" rel="next"' in page
    assert f'href="/admin/mapeo?{filters}&amp;pagina=1" rel="prev"' in page
    third = browser.get(f"/admin/mapeo?zona={sopocachi}&estado=all&pagina=3").get_data(as_text=True)
    assert "Plaza numero 0<" in third and "Siguiente" not in third
    # Without a status the queue is what waits for review: all 120 here, oldest first.
    waiting = browser.get(f"/admin/mapeo?zona={sopocachi}&pagina=2").get_data(as_text=True)
    assert waiting.index("Plaza numero 50<") < waiting.index("Plaza numero 99<")
    assert f'href="/admin/mapeo?zona={sopocachi}&amp;pagina=3" rel="next"' in waiting


def test_mapeo_shows_each_mapper_s_progress_masked_and_evidencia_names_no_mapper(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    item = mapped(chat, "+59171000991", "Sopocachi", "park", "Plaza Avaroa")
    with transaction(chat.sessions) as session:
        row = session.get(MappedItem, item)
        assert row is not None
        actions.review_mapped_item(session, row, "approve")
    staff_in(browser, sessions, LEADER)
    page = browser.get("/admin/mapeo").get_data(as_text=True)
    masked = "+591•••••991"
    assert masked in page and "+59171000991" not in page
    # The mapper's row: active, 1 item, 1 approved, 0 waiting.
    row_html = page.split(masked, 1)[1].split("</tr>", 1)[0]
    assert '<td class="n">1</td><td class="n">1</td><td class="n">0</td>' in row_html
    evidence = browser.get("/admin/evidence").get_data(as_text=True)
    assert "991" not in evidence and "Mapeador" not in evidence
