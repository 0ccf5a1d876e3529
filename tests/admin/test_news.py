"""News in the console: publish an item in Spanish and Aymara to a target in scope, as
`mibarrio news add` does; residents read it with 3. What each role may see and do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import actions, targets
from storage.db import transaction
from storage.models import AuditEntry, NewsItem, NewsZone, Zone
from tests.admin.conftest import Browser
from tests.admin.test_polls import CITY, LEADER, SUB, TRANSLATOR, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import neighbour, onboard

FITS = "Feria de salud en la plaza Abaroa, domingo de 9 a 13. Traiga su carnet. " * 2


def publish(browser: Browser, form: str = "/admin/noticias", **fields: Any) -> Any:
    data = {
        "target": "zona:Sopocachi",
        "text_es": "Corte de agua el martes en Sopocachi",
        "text_ay": "Martes uma jan utjkiti",
        **fields,
    }
    return browser.post("/admin/noticias", data, form=form)


def published(sessions: sessionmaker[Session]) -> list[NewsItem]:
    with sessions() as session:
        return list(session.scalars(select(NewsItem).order_by(NewsItem.id)))


def news_for(sessions: sessionmaker[Session], target: str, text: str) -> int:
    """An item published as the CLI does."""
    with transaction(sessions) as session:
        return actions.publish_news(
            session, target=targets.resolve(session, target), text_es=text, text_ay=text
        ).id


def test_the_city_publishes_news_residents_read_with_3(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    onboard(chat)
    aymara = neighbour(chat, "+59171000002", lang="2")
    elsewhere = neighbour(chat, "+59171000009", zone="Achumani")
    staff_in(browser, sessions, CITY)
    assert "Noticias" in browser.get("/admin/").get_data(as_text=True)

    answer = publish(browser, target=["zona:Sopocachi", "macro:Centro"])

    assert answer.status_code == 302
    (item,) = published(sessions)
    assert (item.text_es, item.text_ay) == (
        "Corte de agua el martes en Sopocachi",
        "Martes uma jan utjkiti",
    )
    assert item.target == "zona:Sopocachi,macro:Centro" and not item.citywide
    with sessions() as session:
        zones = set(
            session.scalars(
                select(Zone.name)
                .join(NewsZone, NewsZone.zone_id == Zone.id)
                .where(NewsZone.news_id == item.id)
            )
        )
        (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "news.publish"))
    assert {"Sopocachi", "San Jorge", "Miraflores"} <= zones and "Achumani" not in zones
    assert (entry.actor, entry.via, entry.target_id) == (CITY, "web", str(item.id))
    page = browser.get("/admin/noticias").get_data(as_text=True)
    assert f"Noticia {item.id} publicada" in page and "Martes uma jan utjkiti" in page

    assert chat.say("3").startswith("Corte de agua el martes en Sopocachi")
    assert aymara.say("3").startswith("Martes uma jan utjkiti")
    assert "No hay noticias" in elsewhere.say("3")


def test_news_that_would_not_fit_one_sms_is_refused_in_spanish(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    staff_in(browser, sessions, CITY)
    too_long = FITS + "Habrá vacunas."
    page = publish(browser, text_es=too_long).get_data(as_text=True)
    assert "El texto en español no cabe en un SMS" in page
    page = publish(browser, text_ay=too_long).get_data(as_text=True)
    assert "El texto en aymara no cabe en un SMS" in page
    page = publish(browser, text_ay="").get_data(as_text=True)
    assert "This field is required" in page
    assert published(sessions) == []
    assert publish(browser, target="all", text_es=FITS.strip()).status_code == 302
    assert [i.citywide for i in published(sessions)] == [True]


def test_a_leader_publishes_only_to_their_zona_and_sees_only_its_news(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    news_for(sessions, "zona:Sopocachi", "Minga en Sopocachi")
    news_for(sessions, "zona:Miraflores", "Minga en Miraflores")
    news_for(sessions, "all", "Vacunas en toda la ciudad")
    staff_in(browser, sessions, LEADER)

    page = browser.get("/admin/noticias").get_data(as_text=True)
    assert "Minga en Sopocachi" in page
    assert "Minga en Miraflores" not in page and "Vacunas en toda la ciudad" not in page
    assert 'value="zona:Sopocachi"' in page
    assert 'value="all"' not in page and 'value="zona:Miraflores"' not in page
    for target in ("all", "zona:Miraflores", "macro:Cotahuma"):
        refused = publish(browser, target=target)
        assert refused.status_code == 200
        assert "not a valid choice" in refused.get_data(as_text=True)
    assert len(published(sessions)) == 3
    assert publish(browser).status_code == 302
    assert published(sessions)[-1].target == "zona:Sopocachi"


def test_a_subalcaldia_sees_its_macrodistrito_news(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    news_for(sessions, "zona:Sopocachi", "Minga en Sopocachi")
    news_for(sessions, "macro:Centro", "Feria en el Centro")
    staff_in(browser, sessions, SUB)
    page = browser.get("/admin/noticias").get_data(as_text=True)
    assert "Minga en Sopocachi" in page and "Feria en el Centro" not in page
    assert publish(browser, target="macro:Cotahuma").status_code == 302


def test_a_viewer_reads_news_but_cannot_publish(
    browser: Browser, sessions: sessionmaker[Session]
) -> None:
    news_for(sessions, "all", "Vacunas en toda la ciudad")
    staff_in(browser, sessions, VIEWER)
    page = browser.get("/admin/noticias").get_data(as_text=True)
    assert "Vacunas en toda la ciudad" in page and "Publicar una noticia" not in page
    assert publish(browser, form="/admin/").status_code == 403
    assert len(published(sessions)) == 1


def test_a_translator_has_no_news(browser: Browser, sessions: sessionmaker[Session]) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    assert "Noticias" not in browser.get("/admin/").get_data(as_text=True)
    assert browser.get("/admin/noticias").status_code == 403
    assert publish(browser, form="/admin/").status_code == 403
    assert published(sessions) == []
