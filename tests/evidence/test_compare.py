"""Before/after and between-zona comparisons, and what they say about noise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.compare import (
    NO_CLEAR,
    TOO_FEW,
    before_after,
    count_change,
    share_change,
    terciles,
)
from bot.evidence.measures import CITY, local_midnight, place
from tests.conftest import Chat
from tests.factories import onboard


def noon(day: int) -> datetime:
    return datetime(2026, 11, day, 16, tzinfo=UTC)


def test_a_count_change_says_when_it_is_noise() -> None:
    assert count_change(100, 150)["verdict"] == "up"  # 50 +- 31
    assert count_change(100, 150)["interval"] == [19.0, 81.0]
    assert count_change(100, 110)["verdict"] == NO_CLEAR  # 10 +- 29
    assert count_change(150, 100)["verdict"] == "down"
    assert count_change(2, 5)["verdict"] == TOO_FEW


def test_a_share_change_needs_enough_people_behind_it() -> None:
    assert share_change(0.2, 200, 0.4, 200)["verdict"] == "up"
    assert share_change(0.2, 200, 0.22, 200)["verdict"] == NO_CLEAR
    assert share_change(0.2, 5, 0.8, 5)["verdict"] == TOO_FEW
    assert share_change(None, 0, 0.5, 40)["verdict"] == TOO_FEW


def residents_texting(
    sessions: sessionmaker[Session], zone: str, phones: list[str], texting: int
) -> None:
    """Residents of a zona signed up on 2 November; `texting` of them write on the 10th."""
    for n, phone in enumerate(phones):
        chat = onboard(Chat(sessions, phone=phone, now=noon(2)), zone=zone)
        if n < texting:
            chat.now = noon(10)
            chat.say("menu")


def test_before_and_after_a_date_over_equal_windows(sessions: sessionmaker[Session]) -> None:
    residents_texting(sessions, "Sopocachi", ["+59171000011", "+59171000012"], 1)
    with sessions() as session:
        compared = before_after(session, place(session, zone="Sopocachi"), date(2026, 11, 9), 7)
    assert compared["before"]["from"] == local_midnight(date(2026, 11, 2)).isoformat()
    assert compared["after"]["to"] == local_midnight(date(2026, 11, 16)).isoformat()
    active = compared["changes"]["residents.active"]
    assert (active["before"], active["after"], active["difference"]) == (2, 1, -1)
    assert active["verdict"] == TOO_FEW
    signed = compared["changes"]["residents.signed_up_new"]
    assert (signed["before"], signed["after"]) == (2, 0)
    assert compared["changes"]["residents.participation_rate"]["verdict"] == TOO_FEW


def test_zonas_grouped_by_participation(sessions: sessionmaker[Session]) -> None:
    residents_texting(sessions, "Sopocachi", ["+59171000021", "+59171000022"], 2)
    residents_texting(sessions, "Miraflores", ["+59171000031", "+59171000032"], 1)
    residents_texting(sessions, "Achumani", ["+59171000041", "+59171000042"], 0)
    start = local_midnight(date(2026, 11, 9))
    with sessions() as session:
        grouped = terciles(session, start, start + timedelta(days=7), CITY)
    assert grouped["zonas_ranked"] == 3  # zonas nobody lives in have no rate
    assert [
        ([z["name"] for z in g["zonas"]], g["participation_rate"]) for g in grouped["groups"]
    ] == [(["Achumani"], 0.0), (["Miraflores"], 0.5), (["Sopocachi"], 1.0)]
    assert grouped["highest_vs_lowest"]["poll_turnout"]["verdict"] == TOO_FEW
    assert grouped["highest_vs_lowest"]["hours_to_resolution"]["verdict"] == TOO_FEW
