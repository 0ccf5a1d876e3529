"""Zona information and neighbours' offers in the console: what each role sees and may change,
the stale flag, CSV export and import, and the queue of offers hidden by reports."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.admin.common import PER_PAGE
from storage import services
from storage.db import transaction
from storage.info import add_item, resolve_scope
from storage.models import (
    INFO_CATEGORIES,
    AuditEntry,
    InfoItem,
    OutboundMessage,
    Resident,
    ServiceOffer,
    Zone,
    aware,
    utcnow,
)
from tests.admin.conftest import BASE, Browser
from tests.admin.test_polls import CITY, LEADER, SUB, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import neighbour, onboard

OLD = datetime(2025, 1, 10, 15, tzinfo=UTC)  # long past INFO_STALE_DAYS
RECENT = utcnow() - timedelta(days=3)


def add_info(sessions: sessionmaker[Session], scope: str, es: str, when: datetime) -> int:
    with transaction(sessions) as session:
        category = "subalcaldia" if scope.startswith("macro") else "health"
        category = "emergency" if scope == "all" else category
        return add_item(session, category, resolve_scope(session, scope), es, None, when).id


def places(sessions: sessionmaker[Session]) -> dict[str, int]:
    return {
        "sopocachi": add_info(sessions, "zona:Sopocachi", "Posta de Sopocachi, 7 a 19.", OLD),
        "achumani": add_info(sessions, "zona:Achumani", "Posta de Achumani, 8 a 16.", RECENT),
        "macro": add_info(sessions, "macro:Cotahuma", "Subalcaldía Cotahuma.", RECENT),
        "city": add_info(sessions, "all", "Bomberos: 119", RECENT),
    }


def item(sessions: sessionmaker[Session], item_id: int) -> InfoItem | None:
    with sessions() as session:
        found = session.get(InfoItem, item_id)
        if found is not None:
            session.expunge(found)
        return found


def entries(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, str | None]]:
    """The audit log but for signing in and out."""
    with sessions() as session:
        return [
            (e.actor, e.via, e.action, e.target_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action not in ("login", "logout")
        ]


def page(browser: Browser, path: str) -> str:
    answer = browser.get(path)
    assert answer.status_code == 200, path
    return str(answer.get_data(as_text=True))


# --- information -------------------------------------------------------------------------


def test_the_city_sees_every_item_flags_stale_ones_and_keeps_them_current(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, CITY)
    listing = page(browser, "/admin/info")
    for text in ("Posta de Sopocachi", "Posta de Achumani", "Subalcaldía Cotahuma", "119"):
        assert text in listing
    assert listing.count(">vencido<") == 1 and 'href="/admin/info"' in page(browser, "/admin/")
    stale = page(browser, "/admin/info?vencidos=1")
    assert "Posta de Sopocachi" in stale and "Posta de Achumani" not in stale

    assert (
        browser.post(f"/admin/info/{ids['sopocachi']}/revisado", {}, form="/admin/info").status_code
        == 302
    )
    checked = item(sessions, ids["sopocachi"])
    assert checked is not None and aware(checked.checked_at) > RECENT
    assert ">vencido<" not in page(browser, "/admin/info")

    path = f"/admin/info/{ids['achumani']}"
    answer = browser.post(path, {"text_es": "Posta de Achumani, 7 a 20.", "text_ay": "Posta 7-20"})
    assert answer.status_code == 302
    edited = item(sessions, ids["achumani"])
    assert edited is not None and (edited.text_es, edited.text_ay) == (
        "Posta de Achumani, 7 a 20.",
        "Posta 7-20",
    )

    new = {"category": "market", "place": "zona:Sopocachi", "text_es": "Feria: sábados 7 a 13."}
    assert browser.post("/admin/info", new).status_code == 302
    onboard(chat)
    assert "Ferias" in chat.say("INFO")

    too_long = {**new, "text_es": "Feria de la plaza Abaroa y alrededores " * 5}
    assert "no cabe en un SMS" in browser.post("/admin/info", too_long).get_data(as_text=True)
    with sessions() as session:
        assert (
            session.scalar(select(InfoItem).where(InfoItem.text_es.like("%alrededores%"))) is None
        )

    actions = [(actor, via, action) for actor, via, action, _ in entries(sessions)]
    assert actions == [
        (CITY, "web", "info.check"),
        (CITY, "web", "info.edit"),
        (CITY, "web", "info.add"),
    ]


def test_the_home_page_flags_stale_items_in_scope_with_a_link_to_them(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    places(sessions)
    # A stale item no leader is reminded of: the macrodistrito's.
    add_info(sessions, "macro:Cotahuma", "Subalcaldía Cotahuma: horario de 2024.", OLD)
    link = 'href="/admin/info?vencidos=1"'
    for user, stale in ((CITY, 2), (SUB, 2), (LEADER, 1)):
        staff_in(browser, sessions, user)
        home = page(browser, "/admin/")
        assert f"{stale} dato(s) de información de las zonas sin revisar" in home, user
        assert link in home
        listed = page(browser, "/admin/info?vencidos=1")
        assert listed.count(">vencido<") == stale
        browser.post("/admin/logout", {}, form="/admin/")
    # Once checked, nothing is flagged.
    with transaction(sessions) as session:
        for found in session.scalars(select(InfoItem)):
            found.checked_at = utcnow()
    assert browser.login(CITY).status_code == 302
    assert "sin revisar" not in page(browser, "/admin/")


def test_the_list_has_pages_of_50_that_keep_the_filters(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        sopocachi = resolve_scope(session, "zona:Sopocachi")
        for n in range(1, 121):
            add_item(session, "market", sopocachi, f"Feria numero {n:03}.", None, OLD)
    staff_in(browser, sessions, CITY)

    def shown(listing: str) -> list[str]:
        return re.findall(r"Feria numero (\d{3})", listing)

    first = page(browser, "/admin/info?vencidos=1")
    assert shown(first) == [f"{n:03}" for n in range(1, 51)]
    assert "Página 1 de 3 (120 en total)." in first
    assert 'href="/admin/info?vencidos=1&amp;pagina=2"' in first
    second = page(browser, "/admin/info?vencidos=1&pagina=2")
    assert shown(second) == [f"{n:03}" for n in range(51, 101)]
    assert 'href="/admin/info?vencidos=1&amp;pagina=3" rel="next"' in second
    last = page(browser, "/admin/info?vencidos=1&pagina=3")
    assert shown(last) == [f"{n:03}" for n in range(101, 121)]
    assert (
        'href="/admin/info?vencidos=1&amp;pagina=2" rel="prev"' in last and "Siguiente" not in last
    )
    # Past the end: the last page; the zona filter is kept as well.
    with sessions() as session:
        zone = session.scalar(select(InfoItem.zone_id).where(InfoItem.zone_id.is_not(None)))
    beyond = page(browser, f"/admin/info?zona={zone}&pagina=99")
    assert shown(beyond) == [f"{n:03}" for n in range(101, 121)]
    assert f'href="/admin/info?zona={zone}&amp;pagina=1"' in beyond
    # The CSV still has every item.
    assert browser.get("/admin/info.csv").get_data(as_text=True).count("Feria numero") == 120


def test_a_leader_keeps_their_own_zona_and_gets_403_elsewhere(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, LEADER)
    listing = page(browser, "/admin/info")
    assert "Posta de Sopocachi" in listing and "Posta de Achumani" not in listing
    assert "Bomberos" not in listing

    with sessions() as session:
        achumani_zone = session.get(InfoItem, ids["achumani"]).zone_id  # type: ignore[union-attr]
    assert browser.get(f"/admin/info?zona={achumani_zone}").status_code == 403
    for other in ("achumani", "macro", "city"):
        assert browser.get(f"/admin/info/{ids[other]}").status_code == 403
        revisado = f"/admin/info/{ids[other]}/revisado"
        assert browser.post(revisado, {}, form="/admin/info").status_code == 403
        edit = {"text_es": "Cambiado por el dirigente."}
        assert (
            browser.post(f"/admin/info/{ids[other]}", edit, form="/admin/info").status_code == 403
        )
        assert item(sessions, ids[other]).text_es != "Cambiado por el dirigente."  # type: ignore[union-attr]

    # Adding somewhere else is not among the choices: nothing is added.
    elsewhere = {"category": "market", "place": "zona:Achumani", "text_es": "Feria."}
    browser.post("/admin/info", elsewhere)
    # Their own zona they keep.
    mine = {"text_es": "Posta de Sopocachi, 7 a 20."}
    assert browser.post(f"/admin/info/{ids['sopocachi']}", mine).status_code == 302
    with sessions() as session:
        assert session.scalar(select(InfoItem).where(InfoItem.text_es == "Feria.")) is None
    assert [a for _, _, a, _ in entries(sessions)] == ["info.edit"]


def test_a_subalcaldia_keeps_its_macrodistrito_and_its_zonas(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, SUB)
    listing = page(browser, "/admin/info")
    assert "Subalcaldía Cotahuma" in listing and "Posta de Sopocachi" in listing
    assert "Posta de Achumani" not in listing and "Bomberos" not in listing
    edit = {"text_es": "Subalcaldía Cotahuma: Av. Landaeta, 8:30 a 16:30."}
    assert browser.post(f"/admin/info/{ids['macro']}", edit).status_code == 302
    assert browser.get(f"/admin/info/{ids['city']}").status_code == 403


def test_a_viewer_reads_but_cannot_change_anything(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, VIEWER)
    listing = page(browser, "/admin/info")
    assert "Posta de Sopocachi" in listing and "Sigue correcto" not in listing
    form = "/admin/info"
    new = {"category": "market", "place": "all", "text_es": "Feria."}
    assert browser.post("/admin/info", new, form=form).status_code == 403
    assert (
        browser.post(f"/admin/info/{ids['sopocachi']}/revisado", {}, form=form).status_code == 403
    )
    assert (
        browser.post(f"/admin/info/{ids['sopocachi']}", {"text_es": "x"}, form=form).status_code
        == 403
    )
    assert browser.post("/admin/info/importar", {}, form=form).status_code == 403
    assert entries(sessions) == []


def test_a_form_without_its_csrf_token_changes_nothing(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, CITY)
    headers = {"Referer": BASE + "/admin/info"}
    answer = browser.client.post(
        f"/admin/info/{ids['sopocachi']}/revisado", base_url=BASE, headers=headers
    )
    assert answer.status_code == 400
    assert aware(item(sessions, ids["sopocachi"]).checked_at) == OLD  # type: ignore[union-attr]
    assert entries(sessions) == []


def test_deleting_an_item_is_scoped_like_editing_needs_its_token_and_is_audited(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, LEADER)
    assert "Borrar" in page(browser, "/admin/info")
    for other in ("achumani", "macro", "city"):
        path = f"/admin/info/{ids[other]}/borrar"
        assert browser.post(path, {}, form="/admin/info").status_code == 403
        assert item(sessions, ids[other]) is not None
    headers = {"Referer": BASE + "/admin/info"}
    path = f"/admin/info/{ids['sopocachi']}/borrar"
    assert browser.client.post(path, base_url=BASE, headers=headers).status_code == 400
    assert item(sessions, ids["sopocachi"]) is not None
    assert entries(sessions) == []

    assert browser.post(path, {}, form=f"/admin/info/{ids['sopocachi']}").status_code == 302
    assert item(sessions, ids["sopocachi"]) is None
    assert "borrada" in page(browser, "/admin/info")
    assert entries(sessions) == [(LEADER, "web", "info.remove", str(ids["sopocachi"]))]
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "info.remove")).one()
        assert entry.before is not None and entry.before["text_es"] == "Posta de Sopocachi, 7 a 19."
    onboard(chat)
    assert "Salud" not in chat.say("INFO")


def test_staff_can_add_every_category_residents_see(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    form = page(browser, "/admin/info")
    for category in INFO_CATEGORIES:
        assert f'value="{category}"' in form, category
    new = {"category": "places", "place": "zona:Sopocachi", "text_es": "Cancha de la plaza Abaroa."}
    assert browser.post("/admin/info", new).status_code == 302
    assert "Lugares del barrio" in page(browser, "/admin/info")
    onboard(chat)
    assert "Lugares" in chat.say("INFO")


def test_a_viewer_cannot_delete(browser: Browser, sessions: sessionmaker[Session]) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, VIEWER)
    assert "Borrar" not in page(browser, "/admin/info")
    path = f"/admin/info/{ids['sopocachi']}/borrar"
    assert browser.post(path, {}, form="/admin/info").status_code == 403
    assert item(sessions, ids["sopocachi"]) is not None


def upload(browser: Browser, rows: list[dict[str, Any]]) -> Any:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["id", "category", "scope", "text_es", "text_ay", "checked_on"])
    writer.writeheader()
    writer.writerows(rows)
    data = {"file": (io.BytesIO(out.getvalue().encode()), "info.csv")}
    return browser.post(
        "/admin/info/importar", data, form="/admin/info", content_type="multipart/form-data"
    )


def test_csv_export_and_import_round_trip_within_scope(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    ids = places(sessions)
    staff_in(browser, sessions, LEADER)
    exported = browser.get("/admin/info.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [int(r["id"]) for r in rows] == [ids["sopocachi"]]
    assert rows[0]["scope"] == "zona:Sopocachi" and rows[0]["checked_on"] == "2025-01-10"

    rows[0]["text_es"] = "Posta de Sopocachi: 7 a 21."
    rows[0]["checked_on"] = ""
    added = {"id": "", "category": "water", "scope": "zona:Sopocachi", "text_es": "Agua: EPSAS."}
    outside = {**added, "scope": "zona:Achumani", "text_es": "Agua en Achumani."}

    # One row outside the leader's zona: nothing at all is imported.
    answer = upload(browser, [rows[0], added, outside])
    assert "fuera de su alcance" in browser.get("/admin/info").get_data(as_text=True)
    assert answer.status_code == 302
    assert item(sessions, ids["sopocachi"]).text_es == "Posta de Sopocachi, 7 a 19."  # type: ignore[union-attr]

    assert upload(browser, [rows[0], added]).status_code == 302
    assert "Importado: 1 nuevas, 1 actualizadas." in page(browser, "/admin/info")
    updated = item(sessions, ids["sopocachi"])
    assert updated is not None and updated.text_es == "Posta de Sopocachi: 7 a 21."
    assert aware(updated.checked_at) > RECENT
    assert [a for _, _, a, _ in entries(sessions)] == ["info.import"]


# --- offers ------------------------------------------------------------------------------


def offer(chat: Chat, phone: str, zone: str, text: str) -> int:
    neighbour(chat, phone, zone=zone)
    with transaction(chat.sessions) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        return services.publish_offer(session, resident, "plumbing", text, utcnow()).id


def report_three_times(chat: Chat, offer_id: int) -> None:
    for n in range(3):
        neighbour(chat, f"+5917100070{n}")
    with transaction(chat.sessions) as session:
        reporters = session.scalars(
            select(Resident.id).where(Resident.phone.like("+5917100070%"))
        ).all()
        for resident_id in reporters:
            services.report_offer(session, offer_id, resident_id, utcnow())


def offers(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as session:
        return set(session.scalars(select(ServiceOffer.id)))


def test_offers_per_zona_and_the_queue_of_hidden_ones(
    browser: Browser, new_browser: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    mine = offer(chat, "+59171000501", "Sopocachi", "Arreglo grifos")
    reported = offer(chat, "+59171000502", "Sopocachi", "Plomero barato")
    far = offer(chat, "+59171000503", "Achumani", "Plomería Achumani")
    report_three_times(chat, reported)

    staff_in(browser, sessions, CITY)
    city = page(browser, "/admin/ofertas")
    assert "+59171000501" in city and "Plomería Achumani" in city
    assert "Oculta por reportes" in city and "Se muestra" in city

    sub = staff_in(new_browser(), sessions, SUB)
    seen = page(sub, "/admin/ofertas")
    assert "Arreglo grifos" in seen and "Plomería Achumani" not in seen
    assert "+59171000501" not in seen and "+591•••••501" in seen

    lead = staff_in(new_browser(), sessions, LEADER)
    assert "Plomero barato" in page(lead, "/admin/ofertas?estado=hidden")
    assert "Arreglo grifos" not in page(lead, "/admin/ofertas?estado=hidden")
    # Another zona's offer: 403 on every action.
    form = "/admin/ofertas"
    assert lead.post(f"/admin/ofertas/{far}/eliminar", {}, form=form).status_code == 403
    assert lead.post(f"/admin/ofertas/{far}/restaurar", {}, form=form).status_code == 403

    # The leader shows the reported offer again: neighbours find it with BUSCO.
    searcher = neighbour(chat, "+59171000510")
    searcher.say("BUSCO")
    assert "Plomero barato" not in searcher.say("1")
    assert lead.post(f"/admin/ofertas/{reported}/restaurar", {}, form=form).status_code == 302
    searcher.say("BUSCO")
    assert "Plomero barato" in searcher.say("1")
    # Restoring an offer nobody hid changes nothing.
    lead.post(f"/admin/ofertas/{mine}/restaurar", {}, form=form)
    assert "no estaba oculta" in page(lead, "/admin/ofertas")

    assert lead.post(f"/admin/ofertas/{mine}/eliminar", {}, form=form).status_code == 302
    assert offers(sessions) == {reported, far}
    audit = [(actor, action, target) for actor, _, action, target in entries(sessions)]
    assert audit == [
        (LEADER, "offer.restore", str(reported)),
        (LEADER, "offer.remove", str(mine)),
    ]

    viewer = staff_in(new_browser(), sessions, VIEWER)
    assert "Plomería Achumani" in page(viewer, "/admin/ofertas")
    assert viewer.post(f"/admin/ofertas/{far}/eliminar", {}, form=form).status_code == 403
    assert offers(sessions) == {reported, far}


def test_the_evidence_page_counts_searches_per_zona(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    offer(chat, "+59171000501", "Sopocachi", "Arreglo grifos")
    searcher = neighbour(chat, "+59171000510")
    searcher.say("BUSCO")
    assert "Arreglo grifos" in searcher.say("1")
    searcher.say("BUSCO")
    searcher.say("4")  # sewing: nothing
    staff_in(browser, sessions, CITY)
    evidence = page(browser, "/admin/evidence")
    assert "Búsquedas (BUSCO)" in evidence and "Búsquedas con resultado" in evidence
    assert "50%" in evidence


def test_an_offer_decision_without_its_csrf_token_changes_nothing(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    reported = offer(chat, "+59171000502", "Sopocachi", "Plomero barato")
    report_three_times(chat, reported)
    staff_in(browser, sessions, LEADER)
    headers = {"Referer": BASE + "/admin/ofertas"}
    for action in ("restaurar", "eliminar"):
        answer = browser.client.post(
            f"/admin/ofertas/{reported}/{action}", base_url=BASE, headers=headers
        )
        assert answer.status_code == 400
    assert offers(sessions) == {reported}
    assert "Plomero barato" in page(browser, "/admin/ofertas?estado=hidden")
    assert entries(sessions) == []


def told(sessions: sessionmaker[Session], phone: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboundMessage.body)
                .join(Resident, Resident.id == OutboundMessage.resident_id)
                .where(Resident.phone == phone)
                .order_by(OutboundMessage.id)
            )
        )


def test_staff_reviewing_a_hidden_offer_tells_its_offerer(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    shown = offer(chat, "+59171000502", "Sopocachi", "Plomero barato")
    removed = offer(chat, "+59171000503", "Sopocachi", "Plomero caro")
    report_three_times(chat, shown)
    report_three_times(chat, removed)
    staff_in(browser, sessions, LEADER)
    form = "/admin/ofertas"
    assert browser.post(f"/admin/ofertas/{shown}/restaurar", {}, form=form).status_code == 302
    assert browser.post(f"/admin/ofertas/{removed}/eliminar", {}, form=form).status_code == 302
    [restored] = told(sessions, "+59171000502")
    assert "que reportaron vecinos: vuelve a mostrarse hasta el" in restored
    [gone] = told(sessions, "+59171000503")
    assert "que reportaron vecinos y la quitamos" in gone


def test_the_offers_table_comes_in_pages_of_50_keeping_its_filters(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        zones = {z.name: z for z in session.scalars(select(Zone))}
        for n in range(PER_PAGE + 5 + 3 + 2):
            # 55 shown in Sopocachi, then 3 paused there and 2 shown in Achumani.
            zone = zones["Achumani" if n >= PER_PAGE + 8 else "Sopocachi"]
            resident = Resident(
                phone=f"+5917200{n:04d}", language="es", zone_id=zone.id, status="active"
            )
            session.add(resident)
            session.flush()
            made = services.publish_offer(
                session, resident, "plumbing", f"Oferta n{n:03d}x", utcnow() + timedelta(0, n)
            )
            made.paused = PER_PAGE + 5 <= n < PER_PAGE + 8
        sopocachi = zones["Sopocachi"].id
    staff_in(browser, sessions, CITY)
    filters = f"zona={sopocachi}&amp;estado=active"
    first = page(browser, f"/admin/ofertas?zona={sopocachi}&estado=active")
    assert "Oferta n054x" in first and "Oferta n005x" in first  # newest first
    assert "Oferta n004x" not in first and "Oferta n057x" not in first  # page 2, paused
    assert "Oferta n058x" not in first  # Achumani
    assert "Página 1 de 2 (55 en total)." in first
    assert f'href="/admin/ofertas?{filters}&amp;pagina=2" rel="next"' in first
    # Each status counts the offers of the zona picked, whatever status is picked.
    assert ">Se muestra (55)<" in first and ">Pausada (3)<" in first
    second = page(browser, f"/admin/ofertas?zona={sopocachi}&estado=active&pagina=2")
    # The 51st offer, then the rest.
    assert re.findall(r"Oferta n(\d{3})x", second) == ["004", "003", "002", "001", "000"]
    assert f'href="/admin/ofertas?{filters}&amp;pagina=1" rel="prev"' in second
    assert "Siguiente" not in second
    last = page(browser, f"/admin/ofertas?zona={sopocachi}&estado=active&pagina=9")
    assert "Oferta n004x" in last
    every = page(browser, "/admin/ofertas")
    assert "Página 1 de 2 (60 en total)." in every
    assert ">Se muestra (57)<" in every and ">Pausada (3)<" in every
