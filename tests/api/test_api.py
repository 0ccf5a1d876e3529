"""/api/v1 with per-user tokens: the same scope, actions and audit as the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import staff
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import AuditEntry, Broadcast, OutboundMessage, Report
from tests.admin.conftest import add_staff
from tests.conftest import Chat
from tests.factories import CODE, add_residents, onboard
from tests.factories import report as file_report


def token_for(sessions: sessionmaker[Session], email: str, role: StaffRole, **place: str) -> str:
    add_staff(sessions, email, role, **place)
    with transaction(sessions) as session:
        user = staff.find_user(session, email)
        assert user is not None
        return staff.issue_token(session, user)


def call(client: Any, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(path, method=method, json=body, headers=headers)


def reported(chat: Chat, zone: str = "Sopocachi") -> str:
    onboard(chat, zone=zone)
    found = CODE.search(file_report(chat))
    assert found
    return found.group(0)


def test_no_token_or_a_revoked_one_gets_401(client: Any, sessions: sessionmaker[Session]) -> None:
    assert call(client, "GET", "/api/v1/stats", None).status_code == 401
    assert call(client, "GET", "/api/v1/stats", "mb_nope").status_code == 401
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    assert call(client, "GET", "/api/v1/stats", token).status_code == 200
    with transaction(sessions) as session:
        user = staff.find_user(session, "api@lapaz.bo")
        assert user is not None
        staff.revoke_tokens(session, user)
    answer = call(client, "GET", "/api/v1/stats", token)
    assert answer.status_code == 401 and "token" in answer.get_json()["error"]


def test_a_broadcast_is_created_followed_and_canceled(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    add_residents(sessions, 4, zone="Sopocachi")
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    created = call(
        client,
        "POST",
        "/api/v1/broadcasts",
        token,
        {
            "target": "zona:Sopocachi",
            "text_es": "Corte de agua mañana.",
            "send_at": "2099-01-01T08:00",
        },
    )
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert (data["recipients"], data["status"], data["target"]) == (
        4,
        "scheduled",
        "zona:Sopocachi",
    )
    assert data["send_at"].startswith("2099-01-01T12:00")  # 08:00 in La Paz is 12:00 UTC
    got = call(client, "GET", f"/api/v1/broadcasts/{data['id']}", token).get_json()
    assert got["status_counts"]["pending"] == 0 and got["eta"] is not None

    canceled = call(client, "POST", f"/api/v1/broadcasts/{data['id']}/cancel", token)
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    again = call(client, "POST", f"/api/v1/broadcasts/{data['id']}/cancel", token)
    assert again.status_code == 409
    with sessions() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.via == "api")))
    assert actions == ["broadcast.create", "broadcast.cancel"]


def test_refusals_are_clear_and_write_nothing(client: Any, sessions: sessionmaker[Session]) -> None:
    add_residents(sessions, 2, zone="Sopocachi", language="ay")
    token = token_for(sessions, "api@lapaz.bo", StaffRole.MUNICIPALITY)
    missing_ay = call(
        client, "POST", "/api/v1/broadcasts", token, {"target": "zona:Sopocachi", "text_es": "Hola"}
    )
    assert missing_ay.status_code == 422 and "Aymara" in missing_ay.get_json()["error"]
    unknown = call(
        client, "POST", "/api/v1/broadcasts", token, {"target": "zona:Atlantis", "text_es": "Hola"}
    )
    assert unknown.status_code == 400 and "Atlantis" in unknown.get_json()["error"]
    not_json = client.post(
        "/api/v1/broadcasts", data="x", headers={"Authorization": f"Bearer {token}"}
    )
    assert not_json.status_code == 400
    with sessions() as session:
        assert list(session.scalars(select(Broadcast))) == []
        assert list(session.scalars(select(AuditEntry).where(AuditEntry.via == "api"))) == []


def test_a_leaders_token_stays_in_their_zona(
    client: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    own = reported(chat)
    other = reported(Chat(sessions, phone="+59171000555"), zone="Miraflores")
    token = token_for(sessions, "lider@lapaz.bo", StaffRole.LEADER, zone="Sopocachi")

    listed = call(client, "GET", "/api/v1/reports", token).get_json()["reports"]
    assert [r["code"] for r in listed] == [own]
    outside = call(client, "POST", f"/api/v1/reports/{other}/status", token, {"status": "resolved"})
    assert outside.status_code == 403
    citywide = call(
        client, "POST", "/api/v1/broadcasts", token, {"target": "all", "text_es": "Hola a todos"}
    )
    assert citywide.status_code == 403
    with sessions() as session:
        assert set(session.scalars(select(Report.status))) == {"received"}
        assert list(session.scalars(select(Broadcast))) == []


def test_a_status_change_tells_the_resident(
    client: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    token = token_for(sessions, "api@lapaz.bo", StaffRole.SUBALCALDIA, macro="Cotahuma")
    answer = call(
        client,
        "POST",
        f"/api/v1/reports/{code}/status",
        token,
        {"status": "resolved", "note": "Listo"},
    )
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["status"], answer.get_json()["told"]) == ("resolved", 1)
    with sessions() as session:
        (body,) = session.scalars(select(OutboundMessage.body))
    assert code in body and "resuelto" in body
    rejected = call(client, "POST", f"/api/v1/reports/{code}/status", token, {"status": "rejected"})
    assert rejected.status_code == 422 and "note" in rejected.get_json()["error"]


def test_a_viewer_reads_and_cannot_write(
    client: Any, chat: Chat, sessions: sessionmaker[Session]
) -> None:
    code = reported(chat)
    token = token_for(sessions, "ojo@lapaz.bo", StaffRole.VIEWER)
    assert call(client, "GET", "/api/v1/reports", token).status_code == 200
    stats = call(client, "GET", "/api/v1/stats", token).get_json()
    assert stats == {"residents": 1, "residents_by_zone": {"Sopocachi": 1}}
    answer = call(client, "POST", f"/api/v1/reports/{code}/status", token, {"status": "resolved"})
    assert answer.status_code == 403
