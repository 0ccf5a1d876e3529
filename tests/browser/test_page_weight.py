"""Bytes each console page costs on a thin connection, measured in chromium: every response
the page loads (HTML, CSS, htmx, images), headers and bodies as they travel (gzipped where
the server sends them gzipped), with the browser cache off so each page pays in full.

Each page must stay within 100 KB. The figures go to TEST_ARTIFACTS/page-weight.md; the
table in docs/benchmarks.md comes from there.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import actions, targets
from bot.config import Config
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import StaffUser
from tests.admin.conftest import add_staff
from tests.admin.test_polls import vote
from tests.browser.test_console_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    PAGE_BUDGET,
    Staff,
    browser,
    web,
)
from tests.conftest import Chat
from tests.factories import CODE, add_poll, add_residents, onboard
from tests.factories import report as file_report

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_only")]


def weigh(tab: Staff, path: str) -> tuple[int, int]:
    """(bytes, responses) for loading `path` with an empty cache."""
    finished: list[Any] = []

    def keep(request: Any) -> None:
        finished.append(request)

    tab.page.on("requestfinished", keep)
    tab.page.goto(tab.base + path, wait_until="load")
    tab.page.wait_for_load_state("networkidle")
    tab.page.remove_listener("requestfinished", keep)
    total = 0
    for request in finished:
        sizes = request.sizes()
        total += sizes["responseHeadersSize"] + sizes["responseBodySize"]
    return total, len(finished)


def test_every_main_page_transfers_at_most_100_kb(
    web: str,  # noqa: F811
    browser: Any,  # noqa: F811
    chat: Chat,
    sessions: sessionmaker[Session],
    config: Config,
) -> None:
    onboard(chat)
    found = CODE.search(file_report(chat))
    assert found
    code = found.group(0)
    add_residents(sessions, 40, zone="Sopocachi")
    residents = add_residents(sessions, 10, zone="Sopocachi", language="ay")
    add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
    with transaction(sessions) as session:
        user = session.query(StaffUser).one()
        armed = actions.send_broadcast(
            session,
            config,
            target=targets.resolve(session, "zona:Sopocachi"),
            text_es="Corte de agua mañana de 8 a 14 en toda la zona.",
            text_ay="Qharürux janiw uma utjkaniti 8 14 ukjakama.",
            send_at=None,
            user=user,
            via="web",
        )
        broadcast_id = armed.id  # still preparing: its page polls with htmx
        poll_id = add_poll(session, "¿Feria el domingo en la plaza?", zone="Sopocachi").id
    vote(sessions, poll_id, residents[:4], 1)

    tab = Staff(browser, web, "weight")
    cdp = tab.page.context.new_cdp_session(tab.page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    login = weigh(tab, "/admin/login")
    tab.sign_in("alcaldia@lapaz.bo")
    texts = tab.page.goto(tab.base + "/admin/textos")
    assert texts is not None and texts.ok
    first_text = tab.page.locator("a[href^='/admin/textos/']").first.get_attribute("href")
    assert first_text

    pages = {
        "/admin/login": login,
        **{
            path: weigh(tab, path)
            for path in (
                "/admin/",
                "/admin/reportes",
                f"/admin/reportes/{code}",
                "/admin/difusiones",
                "/admin/difusiones/nueva",
                f"/admin/difusiones/{broadcast_id}",
                "/admin/encuestas",
                "/admin/encuestas/nueva",
                f"/admin/encuestas/{poll_id}",
                "/admin/noticias",
                "/admin/evidence",
                "/admin/textos",
                first_text,
                "/admin/auditoria",
            )
        },
    }
    live = tab.page.goto(tab.base + f"/admin/difusiones/{broadcast_id}")
    assert live is not None
    assert tab.page.locator("script[src*='htmx']").count() == 1  # the htmx page is among them

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = ["| page | responses | KB transferred |", "|---|--:|--:|"]
    for path, (size, responses) in pages.items():
        shown = re.sub(
            r"/\d+$", "/ID", path.replace(code, "CODE").replace(first_text, "/admin/textos/KEY")
        )
        lines.append(f"| `{shown}` | {responses} | {size / 1024:.1f} |")
    (ARTIFACTS / "page-weight.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    heavy = {path: size for path, (size, _) in pages.items() if size > PAGE_BUDGET}
    assert heavy == {}, "\n".join(lines)
    assert all(responses >= 2 for _, responses in pages.values())  # the page and its CSS at least
