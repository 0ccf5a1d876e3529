"""GET /api/v1/evidence: the same measures, in the caller's scope, beside the city's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage.enums import StaffRole
from tests.api.test_api import call, token_for
from tests.conftest import Chat
from tests.factories import onboard

RANGE = "from=2026-11-02&to=2026-11-15"


def signed_up(sessions: sessionmaker[Session]) -> None:
    """Two residents in Sopocachi and one in Miraflores, on 2 November."""
    moment = datetime(2026, 11, 2, 16, tzinfo=UTC)
    for phone, zone in (("+59171000061", "Sopocachi"), ("+59171000062", "Sopocachi"),
                        ("+59171000063", "Miraflores")):  # fmt: skip
        onboard(Chat(sessions, phone=phone, now=moment), zone=zone)


def test_a_leader_sees_their_zona_against_the_city(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    signed_up(sessions)
    token = token_for(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    answer = call(client, "GET", f"/api/v1/evidence?{RANGE}", token)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["place"]["place"] == {"kind": "zone", "name": "Sopocachi"}
    assert body["place"]["residents"]["signed_up_new"] == 2
    assert body["city"]["residents"]["signed_up_new"] == 3
    assert [week["residents"]["signed_up_new"] for week in body["series"]] == [2, 0]
    other = call(client, "GET", f"/api/v1/evidence?zona=Miraflores&{RANGE}", token)
    assert other.status_code == 403
    assert call(client, "GET", f"/api/v1/evidence?macro=Centro&{RANGE}", token).status_code == 403


def test_the_city_can_ask_for_any_place_and_bad_dates_are_refused(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    signed_up(sessions)
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    body = call(client, "GET", f"/api/v1/evidence?macro=Centro&{RANGE}&step=month", token)
    assert body.get_json()["place"]["residents"]["signed_up_new"] == 1
    assert len(body.get_json()["series"]) == 1
    own = call(client, "GET", f"/api/v1/evidence?{RANGE}", token).get_json()
    assert own["place"]["place"]["kind"] == "city"
    assert call(client, "GET", "/api/v1/evidence?from=2026-13-01", token).status_code == 400
    assert call(client, "GET", "/api/v1/evidence?zona=Atlantis", token).status_code == 404
    assert call(client, "GET", f"/api/v1/evidence?{RANGE}", None).status_code == 401
