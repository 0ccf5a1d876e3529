"""Offers and searches (OFREZCO / BUSCO) per zona, against a count made by hand.

Two weeks in November 2026 (Mondays the 2nd and the 9th, noon in La Paz):
- week 1: Ana (Sopocachi) offers plumbing on the 3rd. Bea (Sopocachi) looks for plumbing on
  the 4th (finds Ana) and for sewing (finds nothing).
- week 2: Caro (Miraflores, macrodistrito Centro) offers sewing on the 9th and pauses it on
  the 10th; she looks for plumbing on the 10th (Ana is in another macrodistrito: nothing).
  Dani (Sopocachi Alto, Cotahuma like Sopocachi) looks for plumbing on the 11th: finds Ana.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.measures import place, series
from tests.conftest import Chat
from tests.factories import onboard

ANA, BEA, CARO, DANI = "+59171000001", "+59171000002", "+59171000003", "+59171000004"
WEEK1 = (date(2026, 11, 2), date(2026, 11, 8))
WEEK2 = (date(2026, 11, 9), date(2026, 11, 15))


def noon(day: int) -> datetime:
    return datetime(2026, 11, day, 16, tzinfo=UTC)


def person(sessions: sessionmaker[Session], phone: str, zone: str) -> Chat:
    return onboard(Chat(sessions, phone=phone, now=noon(2) - timedelta(hours=1)), zone=zone)


def says(chat: Chat, day: int, *texts: str) -> str:
    chat.now = noon(day)
    return [chat.say(text) for text in texts][-1]


def week(session: Session, days: tuple[date, date], **where: str) -> dict[str, Any]:
    [figures] = series(session, place(session, **where), *days, step="week")
    return dict(figures["services"])


def test_offers_and_searches_per_zona_match_a_count_by_hand(
    sessions: sessionmaker[Session],
) -> None:
    ana = person(sessions, ANA, "Sopocachi")
    bea = person(sessions, BEA, "Sopocachi")
    caro = person(sessions, CARO, "Miraflores")
    dani = person(sessions, DANI, "Sopocachi Alto")

    assert "se muestra hasta" in says(ana, 3, "OFREZCO", "1", "Arreglo grifos", "1")
    assert "Arreglo grifos" in says(bea, 4, "BUSCO", "1")
    assert "Todavia no hay ofertas de Costura" in says(bea, 4, "BUSCO", "4")
    assert "se muestra hasta" in says(caro, 9, "OFREZCO", "4", "Costura a mano", "1")
    assert "Pausada" in says(caro, 10, "OFREZCO", "2")
    assert "Todavia no hay ofertas de Plomeria" in says(caro, 10, "BUSCO", "1")
    assert "Arreglo grifos" in says(dani, 11, "BUSCO", "1")

    with sessions() as session:
        figures = {
            "sopocachi1": week(session, WEEK1, zone="Sopocachi"),
            "sopocachi2": week(session, WEEK2, zone="Sopocachi"),
            "miraflores1": week(session, WEEK1, zone="Miraflores"),
            "miraflores2": week(session, WEEK2, zone="Miraflores"),
            "alto2": week(session, WEEK2, zone="Sopocachi Alto"),
            "cotahuma2": week(session, WEEK2, macro="Cotahuma"),
            "city1": week(session, WEEK1),
            "city2": week(session, WEEK2),
        }

    def counts(new: int, active: int, searched: int, found: int) -> dict[str, Any]:
        return {
            "offers_new": new,
            "offers_active": active,
            "searches": searched,
            "searches_found": found,
            "found_share": None if searched == 0 else round(found / searched, 4),
        }

    # Ana's offer, shown from the 3rd for 90 days; Bea's two searches, one found something.
    assert figures["sopocachi1"] == counts(1, 1, 2, 1)
    assert figures["sopocachi2"] == counts(0, 1, 0, 0)
    assert figures["miraflores1"] == counts(0, 0, 0, 0)
    # Caro's offer is new in week 2 but paused: not active. Her search found nothing.
    assert figures["miraflores2"] == counts(1, 0, 1, 0)
    assert figures["miraflores2"]["found_share"] == 0.0
    # Dani found Ana's offer in the next zona of the same macrodistrito.
    assert figures["alto2"] == counts(0, 0, 1, 1)
    assert figures["cotahuma2"] == counts(0, 1, 1, 1)
    assert figures["city1"] == counts(1, 1, 2, 1)
    assert figures["city2"] == counts(1, 1, 2, 1)
