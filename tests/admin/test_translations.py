"""The translators' page: every catalog message in Spanish and Aymara with its SMS segments and
review status; an Aymara edit saved as import-review saves it (placeholders checked), compiled
and audited. Only the municipality and translators reach it.

Everything that writes works on a copy of bot/locales: others edit the real catalogs.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import i18n
from bot.i18n import catalogs, review
from storage.models import AuditEntry
from tests.admin.conftest import Browser
from tests.admin.test_polls import CITY, LEADER, SUB, TRANSLATOR, VIEWER, staff_in
from tests.conftest import Chat
from tests.factories import onboard

ZONE_SAVED = "Listo, su zona ahora es {zone}."
NO_NEWS = "No hay noticias para su zona todavía."


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the catalogs, read by the tooling and by the app's rendering."""
    copy = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, copy, ignore=shutil.ignore_patterns("*.pot"))
    monkeypatch.setattr(catalogs, "LOCALES_DIR", copy)
    monkeypatch.setattr(i18n, "LOCALES_DIR", copy)
    i18n.forget()
    yield copy
    i18n.forget()


def page_of(msgid: str) -> str:
    return f"/admin/textos/{review.message_key(msgid)}"


def edit(browser: Browser, msgid: str, ay: str, **fields: str) -> str:
    page = page_of(msgid)
    original = re.search(
        r'name="original" type="hidden" value="([^"]*)"', browser.get(page).get_data(as_text=True)
    )
    assert original
    data = {"ay": ay, "status": "draft", "original": _unescape(original.group(1)), **fields}
    answer = browser.post(page, data)
    if answer.status_code == 302:
        return str(browser.get(answer.headers["Location"]).get_data(as_text=True))
    assert answer.status_code == 200
    return str(answer.get_data(as_text=True))


def _unescape(value: str) -> str:
    return value.replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&")


def ay_text(msgid: str) -> str:
    return str(catalogs.load("ay")[msgid].string)


def audit(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "text.edit").order_by(AuditEntry.id)
            )
        )


def test_every_message_side_by_side_with_segments_and_status(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    assert "Textos" in browser.get("/admin/").get_data(as_text=True)

    page = browser.get("/admin/textos").get_data(as_text=True)

    rows = review.review_rows()
    assert page.count('<a href="/admin/textos/') == len(rows) > 100
    agua = re.search(
        r"<td>Agua</td>\s*<td><a [^>]+>Uma</a></td>\s*"
        r'<td class="n">1</td>\s*<td class="n">1</td>\s*<td>Borrador</td>',
        page,
    )
    assert agua, "Agua | Uma | 1 | 1 | Borrador"
    drafts = sum(1 for r in rows if r["status"] == "draft")
    assert f"Borrador ({drafts})" in page

    found = browser.get("/admin/textos?buscar=zona+ahora").get_data(as_text=True)
    assert "Listo, su zona ahora es {zone}." in found and "<td>Agua</td>" not in found
    none = browser.get("/admin/textos?estado=reviewed").get_data(as_text=True)
    assert "Ningún texto con estos filtros" in none


def test_an_edit_is_saved_compiled_audited_and_residents_get_it(
    browser: Browser, chat: Chat, sessions: sessionmaker[Session], locales: Path
) -> None:
    onboard(chat, lang="2")
    before = ay_text(NO_NEWS)
    staff_in(browser, sessions, TRANSLATOR)

    page = edit(browser, NO_NEWS, "Janiw zonamatakix yatiyawinakax utjkiti.", status="reviewed")

    assert "Guardado y compilado" in page
    assert ay_text(NO_NEWS) == "Janiw zonamatakix yatiyawinakax utjkiti."
    message = catalogs.load("ay")[NO_NEWS]
    assert catalogs.REVIEWED_COMMENT in message.user_comments and not message.fuzzy
    assert "Revisado por un hablante nativo" in page
    assert (locales / "ay" / "LC_MESSAGES" / "messages.mo").stat().st_mtime_ns >= (
        locales / "ay" / "LC_MESSAGES" / "messages.po"
    ).stat().st_mtime_ns  # compiled after the save
    assert i18n.t("ay", NO_NEWS) == "Janiw zonamatakix yatiyawinakax utjkiti."
    assert chat.say("3").startswith("Janiw zonamatakix yatiyawinakax utjkiti.")
    (entry,) = audit(sessions)
    assert (entry.actor, entry.via, entry.target_type) == (TRANSLATOR, "web", "message")
    assert entry.target_id == review.message_key(NO_NEWS)
    assert entry.before == {"msgid": NO_NEWS, "ay": before, "status": "draft"}
    assert entry.after == {"ay": "Janiw zonamatakix yatiyawinakax utjkiti.", "status": "reviewed"}
    assert catalogs.load("es")[NO_NEWS].string == NO_NEWS  # the Spanish is not touched


def test_a_text_missing_a_placeholder_is_refused_with_a_clear_message(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    before = ay_text(ZONE_SAVED)

    lost = edit(browser, ZONE_SAVED, "Walikiwa, jichhax zonamax mayjt'ayatawa.")
    assert "No se guardó" in lost and "le falta {zone}" in lost
    assert "deben quedar tal como en el español" in lost
    renamed = edit(browser, ZONE_SAVED, before.replace("{zone}", "{zona}"))
    assert "le falta {zone} y sobra {zona}" in renamed
    broken = edit(browser, ZONE_SAVED, before.replace("{zone}", "{zone"))
    assert "llaves sueltas" in broken
    emptied = edit(browser, ZONE_SAVED, "")
    assert "El texto en aymara no puede quedar vacío" in emptied

    assert ay_text(ZONE_SAVED) == before
    assert audit(sessions) == []
    assert i18n.t("ay", ZONE_SAVED, zone="Sopocachi") == before.format(zone="Sopocachi")


def test_an_edit_over_someone_elses_is_refused(
    new_browser: object, sessions: sessionmaker[Session], locales: Path
) -> None:
    first, second = new_browser(), new_browser()  # type: ignore[operator]
    staff_in(first, sessions, TRANSLATOR)
    staff_in(second, sessions, CITY)
    page = page_of(NO_NEWS)
    opened = re.search(
        r'name="original" type="hidden" value="([^"]*)"', first.get(page).get_data(as_text=True)
    )
    assert opened
    assert "Guardado" in edit(second, NO_NEWS, "Janiw yatiyawinakax utjkiti.")
    late = first.post(page, {"ay": "Yaqha.", "status": "draft", "original": opened.group(1)})
    assert "Otra persona cambió este texto" in late.get_data(as_text=True)
    assert ay_text(NO_NEWS) == "Janiw yatiyawinakax utjkiti."
    assert [e.actor for e in audit(sessions)] == [CITY]


def test_rewriting_a_text_whose_spanish_changed_is_its_review(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    ay = catalogs.load("ay")
    ay[NO_NEWS].flags.add("fuzzy")
    ay[NO_NEWS].previous_id = ["No hay noticias todavía."]
    catalogs.save("ay", ay)
    staff_in(browser, sessions, TRANSLATOR)
    listed = browser.get("/admin/textos?estado=needs+review").get_data(as_text=True)
    assert NO_NEWS in listed and "Revisar: el español cambió" in listed
    opened = browser.get(page_of(NO_NEWS)).get_data(as_text=True)
    assert '<option selected value="needs review">' in opened
    assert "the Spanish was: No hay noticias todavía." in opened

    page = edit(browser, NO_NEWS, "Janiw zonamatakix yatiyawinakax utjkiti.", status="needs review")

    fixed = catalogs.load("ay")[NO_NEWS]
    assert not fixed.fuzzy and fixed.string == "Janiw zonamatakix yatiyawinakax utjkiti."
    assert "<dt>Revisión</dt><dd>Borrador</dd>" in page


def test_the_list_of_texts_stays_light(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    assert len(browser.get("/admin/textos").get_data()) <= 100 * 1024  # a thin connection


def test_a_costly_or_off_glossary_text_is_saved_with_a_warning(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, CITY)
    page = edit(browser, "Agua", "Yaku")  # the glossary says uma
    assert "Guardado y compilado" in page and "Glosario:" in page and "&#39;uma&#39;" in page
    assert ay_text("Agua") == "Yaku"
    long = "Janiw zonamatakix yatiyawinakax utjkiti, " * 5
    page = edit(browser, NO_NEWS, long.strip())
    assert "en aymara ocupa 2 SMS" in page


def test_saving_the_same_text_changes_nothing(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    before = (locales / "ay" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    page = edit(browser, NO_NEWS, ay_text(NO_NEWS) + "  ")
    assert "No había cambios" in page
    assert (locales / "ay" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8") == before
    assert audit(sessions) == []


@pytest.mark.parametrize("email", [SUB, LEADER, VIEWER])
def test_only_the_municipality_and_translators_reach_the_texts(
    email: str, browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    before = ay_text(NO_NEWS)
    staff_in(browser, sessions, email)
    assert "Textos" not in browser.get("/admin/").get_data(as_text=True)
    assert browser.get("/admin/textos").status_code == 403
    assert browser.get(page_of(NO_NEWS)).status_code == 403
    refused = browser.post(page_of(NO_NEWS), {"ay": "Yaqha.", "status": "draft"}, form="/admin/")
    assert refused.status_code == 403
    assert ay_text(NO_NEWS) == before and audit(sessions) == []


def test_an_unknown_message_is_not_found(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, CITY)
    assert browser.get("/admin/textos/0000000000000000").status_code == 404


def test_an_edit_shows_at_once_on_both_pages_after_they_were_seen(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, TRANSLATOR)
    listed = browser.get("/admin/textos").get_data(as_text=True)
    drafts = re.search(r"Borrador \((\d+)\)", listed)
    assert drafts and "Janiw yatiyawinakax utjkiti." not in listed
    browser.get(page_of(NO_NEWS))

    edit(browser, NO_NEWS, "Janiw yatiyawinakax utjkiti.", status="reviewed")

    listed = browser.get("/admin/textos").get_data(as_text=True)
    assert "Janiw yatiyawinakax utjkiti.</a>" in listed
    assert f"Borrador ({int(drafts.group(1)) - 1})" in listed
    assert "Revisado por un hablante nativo (1)" in listed
    found = browser.get("/admin/textos?estado=reviewed").get_data(as_text=True)
    assert "Janiw yatiyawinakax utjkiti." in found
    single = browser.get(page_of(NO_NEWS)).get_data(as_text=True)
    assert '<dd class="sms">Janiw yatiyawinakax utjkiti.</dd>' in single


def test_a_catalog_changed_outside_the_page_shows_on_the_next_request(
    browser: Browser, sessions: sessionmaker[Session], locales: Path
) -> None:
    staff_in(browser, sessions, CITY)
    assert "Uma</a>" in browser.get("/admin/textos").get_data(as_text=True)
    ay = catalogs.load("ay")
    ay["Agua"].string = "Uma (umax)"
    catalogs.save("ay", ay)  # as `mibarrio i18n import-review` writes it

    assert "Uma (umax)</a>" in browser.get("/admin/textos").get_data(as_text=True)
    single = browser.get(page_of("Agua")).get_data(as_text=True)
    assert '<dd class="sms">Uma (umax)</dd>' in single
