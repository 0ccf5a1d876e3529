"""Council leaders from a basic phone: a poll or a notice to their own zona, and their results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from bot.channels import segments
from bot.engine import InboundMessage
from bot.inbound import TurnSettings, receive
from bot.outbound import Content, render_broadcast
from storage import polls as poll_store
from storage.broadcasts import LA_PAZ, QuietHours
from storage.db import transaction
from storage.models import (
    Broadcast,
    BroadcastZone,
    Leader,
    OutboxEntry,
    Poll,
    PollZone,
    Resident,
)
from tests.conftest import Chat
from tests.factories import LEADER, NOON, NOTICE, leader, neighbour, onboard, zone_id


def resident_id(chat: Chat) -> int:
    with chat.sessions() as session:
        return session.scalars(select(Resident.id).where(Resident.phone == chat.phone)).one()


def leader_id(chat: Chat) -> int:
    with chat.sessions() as session:
        return session.scalars(select(Leader.id).where(Leader.phone == chat.phone)).one()


def broadcasts(chat: Chat) -> list[tuple[Broadcast, set[int]]]:
    with chat.sessions() as session:
        rows = list(session.scalars(select(Broadcast).order_by(Broadcast.id)))
        zones = {
            b.id: set(
                session.scalars(
                    select(BroadcastZone.zone_id).where(BroadcastZone.broadcast_id == b.id)
                )
            )
            for b in rows
        }
        session.expunge_all()
    return [(b, zones[b.id]) for b in rows]


def polls(chat: Chat) -> list[Poll]:
    with chat.sessions() as session:
        found = list(session.scalars(select(Poll).order_by(Poll.id)))
        for poll in found:
            _ = poll.options
        session.expunge_all()
    return found


def poll_zones(chat: Chat, poll_id: int) -> set[int]:
    with chat.sessions() as session:
        return set(session.scalars(select(PollZone.zone_id).where(PollZone.poll_id == poll_id)))


def create_poll(
    lead: Chat, question: str = "¿Feria el domingo?", options: str = "Sí, No", days: str = "3"
) -> str:
    lead.say("ENCUESTA")
    lead.say(question)
    lead.say(options)
    lead.say(days)
    return lead.say("1")


# --- ENCUESTA ----------------------------------------------------------------------------


def test_leader_poll_in_spanish_goes_to_their_zona_only(chat: Chat) -> None:
    lead = leader(chat)
    nearby = neighbour(lead, "+59171000901")
    neighbour(lead, "+59171000902", lang="2")
    elsewhere = neighbour(lead, "+59171000903", zone="Achumani")

    assert "Nueva encuesta para la zona Sopocachi. Escriba la pregunta." in lead.say("ENCUESTA")
    assert "de 2 a 9 opciones" in lead.say("¿Feria el domingo en la plaza?")
    assert "¿Cuantos dias estara abierta?" in lead.say("Sí, No / Tal vez")
    preview = lead.say("5")
    assert "¿Feria el domingo en la plaza? 1 Si, 2 No, 3 Tal vez." in preview
    assert "Costara 1 SMS por vecino. 1 Enviar / 2 No enviar" in preview
    sent = lead.say("1")
    assert "Listo: su encuesta va a 3 vecinos de la zona Sopocachi y cierra en 5 dias" in sent
    assert "RESULTADOS" in sent and segments(sent) == 1

    [poll] = polls(chat)
    sopocachi = zone_id(chat, "Sopocachi")
    assert poll.question_es == poll.question_ay == "¿Feria el domingo en la plaza?"
    assert [(o.label_es, o.label_ay) for o in poll.options] == [
        ("Sí", "Sí"),
        ("No", "No"),
        ("Tal vez", "Tal vez"),
    ]
    assert (poll.target, poll.citywide) == ("zona:Sopocachi", False)
    assert poll_zones(chat, poll.id) == {sopocachi}
    assert poll.created_by == resident_id(lead)
    closes = poll.closes_at.replace(tzinfo=poll.closes_at.tzinfo or UTC)  # type: ignore[union-attr]
    assert closes == NOON + timedelta(days=5)

    [(broadcast, zones)] = broadcasts(chat)
    assert zones == {sopocachi}
    assert (broadcast.kind, broadcast.poll_id, broadcast.citywide) == ("poll", poll.id, False)
    assert broadcast.target == "zona:Sopocachi"
    assert broadcast.text_es == broadcast.text_ay == "¿Feria el domingo en la plaza?"
    assert broadcast.created_by == resident_id(lead) and broadcast.recipients == 3

    # Residents of the zona can answer it; the rest of the city never sees it.
    assert "¿Feria el domingo en la plaza? 1 Si, 2 No, 3 Tal vez" in nearby.say("2")
    assert "No hay encuestas abiertas" in elsewhere.say("2")


def test_leader_poll_in_aymara_keeps_the_leaders_words(chat: Chat) -> None:
    lead = leader(chat, lang="2")
    neighbour(lead, "+59171000901")
    assert "Machaq encuesta, zona Sopocachi ukataki" in lead.say("ENCUESTA")
    assert "ajlliñanaka" in lead.say("Domingo feria lurañani?")
    assert "Qawqha urus" in lead.say("Jisa / Janiwa")
    preview = lead.say("kimsa uru")
    assert "Domingo feria lurañani? 1 Jisa, 2 Janiwa" in preview
    assert "Sapa markachirirux 1 SMS chaniniwa. 1 Apayaña / 2 Jan apayaña" in preview
    assert "Walikiw: encuestamax zona Sopocachi ukan 2 markachirinakaruw" in lead.say("jisa")
    [poll] = polls(chat)
    assert poll.question_es == poll.question_ay == "Domingo feria lurañani?"
    assert [o.label_es for o in poll.options] == ["Jisa", "Janiwa"]
    [(broadcast, zones)] = broadcasts(chat)
    assert zones == {zone_id(chat, "Sopocachi")}
    assert broadcast.text_es == broadcast.text_ay == "Domingo feria lurañani?"


def test_a_leader_reaches_the_zona_they_lead_not_the_one_they_live_in(chat: Chat) -> None:
    lead = leader(chat, home="Achumani", leads="Sopocachi")
    assert "zona Sopocachi" in lead.say("ENCUESTA")
    lead.say("¿Feria el domingo?")
    lead.say("Sí, No")
    lead.say("3")
    assert "zona Sopocachi" in lead.say("1")
    [(broadcast, zones)] = broadcasts(chat)
    assert zones == {zone_id(chat, "Sopocachi")}
    assert poll_zones(chat, polls(chat)[0].id) == {zone_id(chat, "Sopocachi")}


@pytest.mark.parametrize("answer", ["2", "no", "No enviar", "janiwa"])
def test_leader_poll_can_be_dropped_at_the_preview(chat: Chat, answer: str) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    lead.say("¿Feria el domingo?")
    lead.say("Sí, No")
    lead.say("3")
    assert "No enviamos nada." in lead.say(answer)
    assert polls(chat) == [] and broadcasts(chat) == []
    assert "1 Reportar" in lead.say("menu")


def test_bad_options_are_asked_again_and_nothing_is_lost(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    lead.say("¿Qué arreglamos primero?")
    assert "Necesito de 2 a 9 opciones distintas" in lead.say("La plaza")
    assert "Necesito de 2 a 9" in lead.say("a, b, c, d, e, f, g, h, i, j")
    assert "¿Cuantos dias" in lead.say("1. La plaza / 2. La cancha")
    assert "Escriba solo el numero de dias" in lead.say("0")
    assert "Escriba solo el numero de dias" in lead.say("15")
    preview = lead.say("7 días")
    assert "¿Qué arreglamos primero? 1 La plaza, 2 La cancha." in preview
    lead.say("1")
    [poll] = polls(chat)
    assert [o.label_es for o in poll.options] == ["La plaza", "La cancha"]


def test_duplicate_options_are_refused(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    lead.say("¿Feria el domingo?")
    assert "Necesito de 2 a 9 opciones distintas" in lead.say("Sí, si")


def test_three_bad_days_go_back_to_the_menu_and_send_nothing(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    lead.say("¿Feria el domingo?")
    lead.say("Sí, No")
    assert "del 1 al 14" in lead.say("mañana")
    assert "del 1 al 14" in lead.say("30")
    back = lead.say("quince")
    assert "Volvamos al menu" in back and "1 Reportar" in back
    assert polls(chat) == [] and broadcasts(chat) == []


def test_an_unclear_confirmation_is_asked_again(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    lead.say("¿Feria el domingo?")
    lead.say("Sí, No")
    lead.say("3")
    assert "Responda 1 para enviar o 2 para no enviar." in lead.say("quizás")
    assert "Listo" in lead.say("enviar")
    assert len(broadcasts(chat)) == 1


# --- AVISO -------------------------------------------------------------------------------


def test_leader_notice_in_spanish(chat: Chat) -> None:
    lead = leader(chat)
    neighbour(lead, "+59171000901")
    neighbour(lead, "+59171000903", zone="Achumani")
    assert "Nuevo aviso para la zona Sopocachi" in lead.say("AVISO")
    preview = lead.say(NOTICE)
    assert "Mañana minga de limpieza en la plaza a las 8. Traigan escobas." in preview
    assert "Costara 1 SMS por vecino. 1 Enviar / 2 No enviar" in preview
    assert "Listo: su aviso va a 2 vecinos de la zona Sopocachi." in lead.say("1")
    [(broadcast, zones)] = broadcasts(chat)
    assert zones == {zone_id(chat, "Sopocachi")}
    assert (broadcast.kind, broadcast.citywide, broadcast.poll_id) == ("notice", False, None)
    assert broadcast.text_es == broadcast.text_ay == NOTICE
    assert broadcast.created_by == resident_id(lead)
    # Residents get the leader's words as written, inside a frame in their own language.
    with chat.sessions() as session:
        content = Content.of(session.get(Broadcast, broadcast.id))  # type: ignore[arg-type]
    for lang in ("es", "ay"):
        assert NOTICE in render_broadcast(content, lang, "whatsapp")


def test_leader_notice_in_aymara(chat: Chat) -> None:
    lead = leader(chat, lang="2")
    assert "Machaq yatiyäwi, zona Sopocachi ukataki" in lead.say("aviso")
    words = "Qharürux plazan pichañaw utji, 8 horas."
    preview = lead.say(words)
    assert words in preview and "Sapa markachirirux 1 SMS chaniniwa" in preview
    assert "Walikiw: yatiyäwimax zona Sopocachi" in lead.say("1")
    [(broadcast, zones)] = broadcasts(chat)
    assert broadcast.text_es == broadcast.text_ay == words
    assert zones == {zone_id(chat, "Sopocachi")}


def test_leader_notice_can_be_dropped(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")
    lead.say(NOTICE)
    assert "No enviamos nada." in lead.say("2")
    assert broadcasts(chat) == []


def test_long_notice_shows_its_cost_and_too_long_is_refused(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")
    too_long = "Corte de agua programado en toda la zona por obras en la red. " * 8
    refused = lead.say(too_long)
    assert "Es muy largo: costaria 4 SMS por vecino." in refused
    long = "Corte de agua el martes de 8:00 a 14:00 por obras en la red principal. " * 2
    assert "Costara 2 SMS por vecino" in lead.say(long)
    lead.say("1")
    [(broadcast, _)] = broadcasts(chat)
    assert broadcast.text_es == long.strip()


def test_a_notice_after_nine_at_night_says_when_it_goes_out(chat: Chat) -> None:
    lead = leader(chat)
    lead.now = NOON + timedelta(hours=11)  # 23:00 in La Paz
    lead.say("AVISO")
    lead.say(NOTICE)
    assert "Es de noche: sale a las 07:00." in lead.say("1")


def test_the_night_notice_follows_the_configured_quiet_hours(chat: Chat) -> None:
    leader(chat)
    late = NOON + timedelta(hours=11)  # 23:00 in La Paz
    hours = QuietHours.parse("22:00-06:00")

    def say(text: str) -> str:
        msg = InboundMessage(phone=LEADER, channel="sms", body=text)
        return "\n".join(
            receive(
                chat.sessions,
                f"SM{uuid.uuid4().hex}",
                msg,
                TurnSettings(quiet_hours=hours),
                now=late,
            )
        )

    say("AVISO")
    say(NOTICE)
    assert "Es de noche: sale a las 06:00." in say("1")
    [(broadcast, _)] = broadcasts(chat)
    with chat.sessions() as session:
        prepare = session.scalars(
            select(OutboxEntry).where(OutboxEntry.job == "prepare_broadcast")
        ).one()
    assert prepare.args == [broadcast.id]
    assert prepare.not_before is not None
    starts = prepare.not_before.replace(tzinfo=prepare.not_before.tzinfo or UTC)
    assert starts.astimezone(LA_PAZ).strftime("%H:%M") == "06:00"


# --- who may, and what always wins -------------------------------------------------------


def test_opt_out_wins_inside_a_leader_flow(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")
    lead.say(NOTICE)
    assert "no le enviaremos mas mensajes" in lead.say("CANCELAR")
    assert broadcasts(chat) == []
    assert "Para volver, escriba ALTA" in lead.say("AVISO")


def test_menu_leaves_a_leader_flow_and_the_resident_menu_works(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("ENCUESTA")
    assert "1 Reportar" in lead.say("MENU")
    assert "No hay encuestas abiertas" in lead.say("2")
    assert "No hay noticias" in lead.say("3")
    assert broadcasts(chat) == []


def test_a_leader_flow_times_out_like_any_other(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")
    lead.later(31)
    assert "Paso un buen rato" in lead.say(NOTICE)
    assert broadcasts(chat) == []


@pytest.mark.parametrize("word", ["ENCUESTA", "aviso", "Resultados"])
def test_the_leader_words_mean_what_they_meant_for_everyone_else(chat: Chat, word: str) -> None:
    chat.now = NOON
    onboard(chat)
    reply = chat.say(word)
    if word == "ENCUESTA":
        assert "No hay encuestas abiertas" in reply and "1 Reportar" in reply
    else:
        assert "No entendi su mensaje" in reply
    assert broadcasts(chat) == []


def test_a_leader_need_not_be_an_onboarded_resident(chat: Chat) -> None:
    lead = leader(chat, lang=None)
    assert "Nuevo aviso para la zona Sopocachi" in lead.say("AVISO")
    assert "Costara 1 SMS" in lead.say(NOTICE)
    assert "Listo: su aviso va a 0 vecinos" in lead.say("1")
    assert len(broadcasts(chat)) == 1
    assert "Aymar aru" in lead.say("hola")  # anything else: onboarding, as for anyone


def test_a_leader_removed_mid_flow_sends_nothing(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")
    with transaction(chat.sessions) as session:
        session.execute(delete(Leader))
    assert "ya no figura como dirigente" in lead.say(NOTICE)
    assert broadcasts(chat) == []
    assert "No entendi" in lead.say("AVISO")


# --- RESULTADOS --------------------------------------------------------------------------


def vote(chat: Chat, phone: str, poll_id: int, position: int) -> None:
    with transaction(chat.sessions) as session:
        poll = session.get(Poll, poll_id)
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        assert poll is not None
        poll_store.cast_vote(session, poll, resident, poll.options[position - 1])


def test_results_latest_first_one_sms_each(chat: Chat) -> None:
    lead = leader(chat)
    for phone in ("+59171000901", "+59171000902", "+59171000904"):
        neighbour(lead, phone)
    assert "Usted no creo encuestas todavia" in lead.say("RESULTADOS")
    create_poll(lead, "¿Feria el domingo?", "Sí, No")
    lead.later(60)
    create_poll(
        lead,
        "¿Qué arreglamos primero en el barrio este año con el presupuesto vecinal?",
        "La plaza, La cancha, Las gradas de la calle Murillo, El alumbrado del pasaje",
    )
    first, second = polls(chat)
    vote(chat, "+59171000901", first.id, 1)
    vote(chat, "+59171000902", second.id, 2)
    vote(chat, "+59171000904", second.id, 2)

    latest = lead.say("RESULTADOS")
    assert latest.startswith("¿Qué arreglamos primer... (abierta): La plaza 0 (0%), La cancha 2")
    assert "Votaron 2 de 4." in latest
    assert "MAS: la anterior encuesta" in latest and segments(latest) == 1
    older = lead.say("MAS")
    assert older.startswith("¿Feria el domingo? (abierta): Si 1 (100%), No 0 (0%). Votaron 1 de 4.")
    assert "MAS" not in older and segments(older) == 1
    assert "No hay mas encuestas suyas" in lead.say("mas")


@pytest.mark.parametrize("lang", ["1", "2"])
def test_results_of_nine_long_options_still_fit_one_sms(chat: Chat, lang: str) -> None:
    lead = leader(chat, lang=lang)
    create_poll(
        lead,
        "¿Dónde hacemos la feria de Alasitas este año en la zona?",
        "En la plaza Avaroa, En la calle Ecuador, En el parque Triangular, En la cancha del "
        "colegio, En la sede vecinal, En la avenida 6 de Agosto, En el mercado, En la calle "
        "Rosendo Gutiérrez, No hacerla",
    )
    (poll,) = polls(chat)
    vote(chat, LEADER, poll.id, 9)
    results = lead.say("RESULTADOS")
    assert segments(results) == 1, results
    assert "No ha... 1" in results or "9: 1" in results  # the vote, on the last option


def test_results_of_a_closed_poll_in_aymara_only_the_leaders_own(chat: Chat) -> None:
    lead = leader(chat, lang="2")
    create_poll(lead, "Domingo feria lurañani?", "Jisa, Janiwa", days="1")
    # A municipal poll for the same zona is not the leader's.
    with transaction(chat.sessions) as session:
        session.add(Poll(question_es="¿Municipal?", target="all", citywide=True))
    lead.later(60 * 25)
    reply = lead.say("RESULTADOS")
    assert reply.startswith("Domingo feria lurañani? (tukuyata): Jisa 0 (0%), Janiwa 0 (0%).")
    assert "Municipal" not in reply and "MAS" not in reply


def test_after_results_a_number_is_a_menu_choice(chat: Chat) -> None:
    lead = leader(chat)
    create_poll(lead)
    lead.say("RESULTADOS")
    assert "1 Agua, 2 Alumbrado" in lead.say("1")


# --- the parsers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sí, No", ["Sí", "No"]),
        ("Sí/No/Tal vez", ["Sí", "No", "Tal vez"]),
        ("1 Sí, 2 No", ["Sí", "No"]),
        ("1) Plaza; 2) Cancha", ["Plaza", "Cancha"]),
        ("1 vez, 3 veces", ["1 vez", "3 veces"]),
        ("10 pesos, 20 pesos", ["10 pesos", "20 pesos"]),
        ("Sí", None),
        ("Sí, sí", None),
        (", , /", None),
        ("a,b,c,d,e,f,g,h,i,j", None),
    ],
)
def test_parse_options(text: str, expected: list[str] | None) -> None:
    from bot.flows.leader import parse_options

    assert parse_options(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("14", 14),
        ("cinco", 5),
        ("3 días", 3),
        ("kimsa uru", 3),
        ("0", None),
        ("15", None),
    ],
)
def test_parse_days(text: str, expected: int | None) -> None:
    from bot.flows.leader import parse_days

    assert parse_days(text) == expected


def test_noon_is_daytime_in_la_paz() -> None:
    from storage.broadcasts import DEFAULT_QUIET_HOURS

    assert not DEFAULT_QUIET_HOURS.contains(NOON)
    assert DEFAULT_QUIET_HOURS.contains(datetime(2026, 1, 1, 3, tzinfo=UTC))


def send_notice(lead: Chat, text: str = NOTICE) -> str:
    lead.say("AVISO")
    lead.say(text)
    return lead.say("1")


def test_a_leader_sends_at_most_three_a_day_in_la_paz(chat: Chat) -> None:
    lead = leader(chat)
    neighbour(lead, "+59171000901")
    for n in range(3):
        assert "Listo: su aviso va a 2 vecinos" in send_notice(lead, f"{NOTICE} ({n})")
    for command in ("AVISO", "ENCUESTA"):
        refused = lead.say(command)
        assert "Hoy ya envio 3 mensajes a su zona, el maximo por dia." in refused
        assert "Podra enviar otro mañana." in refused
    assert len(broadcasts(chat)) == 3
    # Midnight in La Paz (UTC-4) is 04:00 UTC: a new day, a new allowance.
    lead.now = NOON + timedelta(hours=12, minutes=1)
    assert "Listo: su aviso va a 2 vecinos" in send_notice(lead)
    assert len(broadcasts(chat)) == 4


def test_the_daily_limit_holds_for_a_notice_started_before_it_was_reached(chat: Chat) -> None:
    lead = leader(chat, lang="2")
    lead.say("AVISO")
    lead.say(NOTICE)  # waiting for 1 Enviar / 2 No enviar ...
    with transaction(chat.sessions) as session:
        for _ in range(3):  # ... while three others went out (another phone of theirs, say)
            session.add(
                Broadcast(
                    kind="notice",
                    target="zona:Sopocachi",
                    citywide=False,
                    text_es="x",
                    status="done",
                    recipients=0,
                    created_by=resident_id(lead),
                    leader_id=leader_id(lead),
                    created_at=NOON,
                )
            )
    refused = lead.say("1")
    assert "Jichhürux zonamaruw 3 mensajenak apayxtaxa" in refused
    assert len(broadcasts(chat)) == 3


@pytest.mark.parametrize("lang", ["1", None], ids=["resident", "not-a-resident"])
def test_erasing_their_data_does_not_give_a_leader_a_new_daily_allowance(
    chat: Chat, lang: str | None
) -> None:
    lead = leader(chat, lang=lang)
    neighbour(lead, "+59171000902")
    for n in range(3):
        assert "Listo: su aviso va a" in send_notice(lead, f"{NOTICE} ({n})")
    erased = lead.say("BORRAR")
    if "borrados" not in erased:  # a signed-up resident confirms first
        assert "borrados" in lead.say("1")
    refused = lead.say("AVISO")
    assert "el maximo por dia" in refused or "el máximo por día" in refused
    assert len(broadcasts(chat)) == 3


def test_ayuda_tells_a_leader_their_commands_in_their_language(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AVISO")  # in the middle of a notice: help ends it, as it does for residents
    help_text = lead.say("AYUDA")
    assert help_text.startswith("Dirigente de Sopocachi: ENCUESTA crea una encuesta")
    assert "BAJA" in help_text
    assert "Menu:" in lead.say("MENU")  # the notice was left; the menu is the menu


def test_ayuda_for_an_aymara_speaking_leader(chat: Chat) -> None:
    lead = leader(chat, lang="2", leads="Achumani")
    help_text = lead.say("yanapa")
    assert help_text.startswith("Achumani dirigente: ENCUESTA")
    assert "MAS: yaqha arunaka" in help_text
    more = lead.say("juk'ampi")
    assert more.startswith("Achumani dirigente: RESULTADOS")
    assert "INFO EDITAR" in more
    assert segments(help_text) == 1 and segments(more) == 1
    assert "OFERTAS" in more and "MAPEO" in more


def test_mas_after_ayuda_lists_the_other_leader_commands_each_in_one_sms(chat: Chat) -> None:
    lead = leader(chat)
    help_text = lead.say("AYUDA")
    assert "MAS: otras ordenes" in help_text or "MAS: otras órdenes" in help_text
    more = lead.say("MAS")
    assert more.startswith("Dirigente de Sopocachi: RESULTADOS, los votos")
    for command in ("INFO EDITAR", "OFERTAS", "MAPEO"):
        assert command in more
    assert segments(help_text) == 1 and segments(more) == 1


def test_after_ayuda_a_leader_carries_on_as_before(chat: Chat) -> None:
    lead = leader(chat)
    lead.say("AYUDA")
    assert "Nuevo aviso para la zona Sopocachi" in lead.say("AVISO")
    lead.say("AYUDA")
    assert "Menu:" in lead.say("MENU")
    lead.say("AYUDA")
    assert "Dirigente" not in lead.say("1")  # a menu choice, not more help


def test_mas_from_a_leader_who_is_not_a_resident(chat: Chat) -> None:
    lead = leader(chat, lang=None)
    lead.say("AYUDA")
    assert "INFO EDITAR" in lead.say("MAS")


def test_ayuda_from_a_leader_who_is_not_a_resident_lists_the_commands(chat: Chat) -> None:
    lead = leader(chat, lang=None)
    help_text = lead.say("AYUDA")
    assert help_text.startswith("Dirigente de Sopocachi: ENCUESTA")
    assert "Nuevo aviso para la zona Sopocachi" in lead.say("AVISO")


@pytest.mark.parametrize(
    ("lang", "help_word", "more_word", "zone_prompt"),
    [
        ("1", "AYUDA", "MAS", "¿En qué zona vive?"),
        ("2", "yanapa", "juk'ampi", "Kawki zonan jakasta?"),
    ],
)
def test_a_leader_signing_up_who_asks_for_help_goes_on_where_they_were(
    chat: Chat, lang: str, help_word: str, more_word: str, zone_prompt: str
) -> None:
    """AYUDA and MAS in the middle of signing up show the leader's commands; the next text
    brings back the sign-up's question where it stood, not the language question."""
    lead = leader(chat, lang=None)
    lead.say("Hola")
    assert zone_prompt in lead.say(lang)
    assert "dirigente" in lead.say(help_word).lower()
    assert "INFO EDITAR" in lead.say(more_word)
    back = lead.say("Sopocachi")
    assert zone_prompt in back and "Aymar aru" not in back
    assert "Sopocachi" in lead.say("Sopocachi")  # the consent question for that zona
    lead.say("1")
    with lead.sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == LEADER)).one()
        assert (resident.status, resident.language) == ("active", "es" if lang == "1" else "ay")


def test_idioma_while_signing_up_asks_the_language_again(chat: Chat) -> None:
    chat.say("Hola")
    assert "¿En qué zona vive?" in chat.say("1")
    assert "1 Español / 2 Aymar aru" in chat.say("IDIOMA")
    assert "Kawki zonan jakasta?" in chat.say("2")


def test_ayuda_from_a_resident_is_the_residents_help(chat: Chat) -> None:
    onboard(chat)
    assert "Dirigente" not in chat.say("AYUDA")
    assert "BORRAR" in chat.say("AYUDA")


def test_a_leader_who_is_not_a_resident_is_not_shown_the_menu_after_a_pause(chat: Chat) -> None:
    lead = leader(chat, lang=None)
    lead.say("AVISO")
    lead.later(31)
    reply = lead.say(NOTICE)
    assert reply == "Paso un buen rato: volvemos al inicio."
    assert broadcasts(chat) == []
    assert "Nuevo aviso para la zona Sopocachi" in lead.say("AVISO")
