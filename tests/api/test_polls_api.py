"""/api/v1/polls: create, invite, close, results and the list, with the console's scope,
actions and audit. Residents vote through storage's cast_vote, as the engine does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.enums import StaffRole
from storage.models import AuditEntry, Broadcast, Poll
from tests.admin.test_polls import vote, zone_poll
from tests.api.test_api import call, token_for
from tests.factories import add_residents

POLL = {
    "target": "zona:Sopocachi",
    "question_es": "¿Feria el domingo en la plaza?",
    "question_ay": "Domingo plazan feria?",
    "options": ["Sí|Jisa", {"es": "No", "ay": "Janiwa"}, ["Tal vez", None]],
}


def api_audit(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        return [
            (e.action, e.actor, e.target_id)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.via == "api").order_by(AuditEntry.id)
            )
        ]


def poll_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(list(session.scalars(select(Poll.id))))


def test_the_city_creates_a_poll_and_reads_it_back(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    created = call(
        client, "POST", "/api/v1/polls", token, {**POLL, "closes_at": "2099-03-01T18:30"}
    )
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert [(o["position"], o["es"], o["ay"]) for o in data["options"]] == [
        (1, "Sí", "Jisa"),
        (2, "No", "Janiwa"),
        (3, "Tal vez", "Tal vez"),  # no Aymara given: the Spanish serves both
    ]
    assert (data["target"], data["open"], data["votes"]) == ("zona:Sopocachi", True, 0)
    assert data["closes_at"] == "2099-03-01T22:30:00+00:00"  # 18:30 in La Paz
    assert data["question_segments"] == {"es": 1, "ay": 1}
    assert api_audit(sessions) == [("poll.create", "api@lapaz.bo", str(data["id"]))]

    listed = call(client, "GET", "/api/v1/polls", token).get_json()["polls"]
    assert [p["id"] for p in listed] == [data["id"]]
    got = call(client, "GET", f"/api/v1/polls/{data['id']}", token).get_json()
    assert got["question_es"] == POLL["question_es"] and got["counts"] == {"1": 0, "2": 0, "3": 0}
    with sessions() as session:  # created, nobody told yet
        assert list(session.scalars(select(Broadcast))) == []


def test_bad_input_gets_a_clear_400_and_writes_nothing(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    cases: list[tuple[Any, str]] = [
        ("x", "JSON object"),
        ({**POLL, "question_ay": ""}, "question_ay"),
        ({k: v for k, v in POLL.items() if k != "question_es"}, "question_es"),
        ({**POLL, "options": "Sí, No"}, "options"),
        ({**POLL, "options": ["Sí|Jisa"]}, "between 2 and 9 options"),
        ({**POLL, "options": [f"Opción {n}" for n in range(10)]}, "between 2 and 9 options"),
        ({**POLL, "options": ["Sí", {"ay": "Janiwa"}]}, "options[2]"),
        ({**POLL, "options": ["Sí", "|Janiwa"]}, "options[2]"),
        ({**POLL, "options": ["Sí", "x" * 201]}, "at most 200 characters"),
        ({**POLL, "target": "zona:Atlantis"}, "Atlantis"),
        ({**POLL, "target": ""}, "target"),
        ({**POLL, "closes_at": "el domingo"}, "ISO-8601"),
        ({**POLL, "closes_at": "2020-01-01T10:00"}, "has passed"),
    ]
    for body, says in cases:
        if isinstance(body, str):
            answer = client.post(
                "/api/v1/polls", data=body, headers={"Authorization": f"Bearer {token}"}
            )
        else:
            answer = call(client, "POST", "/api/v1/polls", token, body)
        assert answer.status_code == 400, (body, answer.get_json())
        assert says in answer.get_json()["error"], (body, answer.get_json())
    assert poll_count(sessions) == 0
    assert api_audit(sessions) == []


def test_results_count_votes_turnout_and_zona_by_zona(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    sopocachi = add_residents(sessions, 4, zone="Sopocachi")
    alto = add_residents(sessions, 2, zone="Sopocachi Alto", language="ay")
    token = token_for(sessions, "cotahuma@lapaz.bo", StaffRole.SUBALCALDIA, macro="Cotahuma")
    created = call(
        client,
        "POST",
        "/api/v1/polls",
        token,
        {**POLL, "target": "zona:Sopocachi,zona:Sopocachi Alto"},
    ).get_json()
    vote(sessions, created["id"], sopocachi[:3], 1)
    vote(sessions, created["id"], alto[:1], 2)

    got = call(client, "GET", f"/api/v1/polls/{created['id']}", token).get_json()
    assert got["counts"] == {"1": 3, "2": 1, "3": 0}
    assert (got["votes"], got["eligible"], got["turnout"]) == (4, 6, 0.6667)
    assert {z["zone"]: (z["votes"], z["eligible"], z["counts"]) for z in got["by_zone"]} == {
        "Sopocachi": (3, 4, {"1": 3}),
        "Sopocachi Alto": (1, 2, {"2": 1}),
    }
    listed = call(client, "GET", "/api/v1/polls", token).get_json()["polls"]
    assert [(p["id"], p["votes"]) for p in listed] == [(created["id"], 4)]


def test_invite_once_then_close(client: Any, sessions: sessionmaker[Session]) -> None:
    add_residents(sessions, 3, zone="Sopocachi")
    token = token_for(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")
    poll_id = call(client, "POST", "/api/v1/polls", token, POLL).get_json()["id"]

    invited = call(client, "POST", f"/api/v1/polls/{poll_id}/invite", token)
    assert invited.status_code == 201, invited.get_json()
    invitation = invited.get_json()
    assert (invitation["kind"], invitation["recipients"]) == ("poll", 3)
    again = call(client, "POST", f"/api/v1/polls/{poll_id}/invite", token, {"urgent": True})
    assert again.status_code == 409 and "already sent" in again.get_json()["error"]
    got = call(client, "GET", f"/api/v1/polls/{poll_id}", token).get_json()
    assert got["invitations"] == [invitation["id"]]

    closed = call(client, "POST", f"/api/v1/polls/{poll_id}/close", token)
    assert closed.status_code == 200, closed.get_json()
    assert (closed.get_json()["open"], closed.get_json()["invitations_canceled"]) == (False, 1)
    assert call(client, "POST", f"/api/v1/polls/{poll_id}/close", token).status_code == 409
    late = call(client, "POST", f"/api/v1/polls/{poll_id}/invite", token)
    assert late.status_code == 409 and "closed" in late.get_json()["error"]
    with sessions() as session:
        assert session.scalars(select(Broadcast.status)).one() == "canceled"
    assert [action for action, _, _ in api_audit(sessions)] == [
        "poll.create",
        "broadcast.create",
        "poll.invite",
        "broadcast.cancel",
        "poll.close",
    ]


def test_a_leaders_token_stays_in_their_zona(client: Any, sessions: sessionmaker[Session]) -> None:
    own = zone_poll(sessions, "Sopocachi", "¿Feria en Sopocachi?")
    other = zone_poll(sessions, "Miraflores", "¿Feria en Miraflores?")
    city = zone_poll(sessions, None, "¿Feria en toda la ciudad?")
    token = token_for(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")

    listed = call(client, "GET", "/api/v1/polls", token).get_json()["polls"]
    assert [p["id"] for p in listed] == [own]
    assert call(client, "GET", f"/api/v1/polls/{own}", token).status_code == 200
    for poll_id in (other, city):
        for method, path in (
            ("GET", f"/api/v1/polls/{poll_id}"),
            ("POST", f"/api/v1/polls/{poll_id}/invite"),
            ("POST", f"/api/v1/polls/{poll_id}/close"),
        ):
            answer = call(client, method, path, token)
            assert answer.status_code == 403, (method, path)
            assert "outside your scope" in answer.get_json()["error"]
    for target in ("zona:Miraflores", "all", "macro:Cotahuma"):
        answer = call(client, "POST", "/api/v1/polls", token, {**POLL, "target": target})
        assert answer.status_code == 403, target
    assert call(client, "GET", "/api/v1/polls/9999", token).status_code == 404
    with sessions() as session:
        assert session.scalars(select(Poll.closes_at).where(Poll.id == other)).one() is not None
        assert list(session.scalars(select(Broadcast))) == []
    assert api_audit(sessions) == []


def test_a_subalcaldia_sees_its_macrodistrito_only(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    inside = zone_poll(sessions, "Sopocachi Alto")
    outside = zone_poll(sessions, "Miraflores")
    token = token_for(sessions, "cotahuma@lapaz.bo", StaffRole.SUBALCALDIA, macro="Cotahuma")
    listed = call(client, "GET", "/api/v1/polls", token).get_json()["polls"]
    assert [p["id"] for p in listed] == [inside]
    assert call(client, "GET", f"/api/v1/polls/{outside}", token).status_code == 403
    made = call(client, "POST", "/api/v1/polls", token, {**POLL, "target": "macro:Cotahuma"})
    assert made.status_code == 201
    assert (
        call(client, "POST", "/api/v1/polls", token, {**POLL, "target": "all"}).status_code == 403
    )


def test_a_viewer_reads_results_and_a_translator_gets_nothing(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    poll_id = zone_poll(sessions, "Miraflores")
    viewer = token_for(sessions, "ojo@lapaz.bo", StaffRole.VIEWER)
    assert call(client, "GET", "/api/v1/polls", viewer).status_code == 200
    assert call(client, "GET", f"/api/v1/polls/{poll_id}", viewer).status_code == 200
    translator = token_for(sessions, "aymara@lapaz.bo", StaffRole.TRANSLATOR)
    assert call(client, "GET", "/api/v1/polls", translator).status_code == 403
    for token in (viewer, translator):
        assert call(client, "POST", "/api/v1/polls", token, POLL).status_code == 403
        for action in ("invite", "close"):
            answer = call(client, "POST", f"/api/v1/polls/{poll_id}/{action}", token)
            assert answer.status_code == 403
    with transaction(sessions) as session:
        assert len(list(session.scalars(select(Poll)))) == 1
    assert api_audit(sessions) == []
